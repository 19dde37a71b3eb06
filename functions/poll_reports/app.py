"""PollReportsFunction: scheduled; polls every account whose vendor has this (reports). Wiring only."""

from typing import Any

# Loaded at init, not in the first request: every poll calls a vendor and parses numbers
# (the shared package imports both lazily, for the functions that never do).
import phonenumbers  # noqa: F401
import requests  # noqa: F401
from aws_lambda_powertools.utilities.typing import LambdaContext

import sms_gateway.polling  # the poll path, loaded at init as requests is
import sms_gateway.store.facade  # noqa: F401 - loaded at init: the table's parts, which Runtime.store builds
from sms_gateway import runtime
from sms_gateway.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    summary = runtime.current().poll_service().poll_reports()
    logger.info("poll done", extra={"summary": summary})
    return summary
