"""SendFunction: SQS send requests -> vendor calls. Wiring only; the logic is sms_gateway.sending."""

from typing import Any

# Loaded at init, not in the first request: every send calls a vendor and parses numbers
# (the shared package imports both lazily, for the functions that never do).
import phonenumbers  # noqa: F401
import requests  # noqa: F401
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

import sms_gateway.store.facade  # noqa: F401 - loaded at init: the table's parts, which Runtime.store builds
from sms_gateway import runtime
from sms_gateway.observability import logger, metrics, tracer
from sms_gateway.sending import Outcome

# A batch that fails whole is returned whole, as batch item failures, not as an invocation error.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class SendLater(Exception):
    """Marks a record as a batch item failure: SQS delivers it again after the visibility timeout."""


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    # Grouping needs the whole batch at once, so the batch is decided first and the per-record
    # handler only reports each record's outcome to Powertools.
    service = runtime.current().send_service()
    outcomes = service.process(event.get("Records", []), context.get_remaining_time_in_millis)

    def record_handler(record: SQSRecord) -> None:
        if outcomes.get(record.message_id, Outcome.RETRY) is Outcome.RETRY:
            raise SendLater(record.message_id)

    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
