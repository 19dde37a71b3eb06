"""PollBalanceFunction: scheduled; polls every account whose vendor has this (balance). Wiring only."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sms_gateway import runtime
from sms_gateway.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    summary = runtime.poll_service().poll_balance()
    logger.info("poll done", extra={"summary": summary})
    return summary
