"""PublishFunction: the table stream -> EventBridge (the outbox). Wiring only; see sms_gateway.publishing."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

import sms_gateway.publishing  # noqa: F401 - the publish path, loaded at init, not in the first batch
from sms_gateway import runtime
from sms_gateway.observability import logger, metrics, tracer

processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


class PublishLater(Exception):
    """Marks a record as a batch item failure: the stream delivers it (and what follows) again."""


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    # PutEvents takes ten events a call whatever record they come from, so the batch is published
    # first and the per-record handler only reports each record's outcome to Powertools.
    records = event.get("Records", [])
    rt = runtime.current()
    not_published = rt.publisher.publish_records(records)
    metrics.add_metric(name="StreamRecords", unit="Count", value=len(records))
    rt.outcome_counters.count([r for r in records if r.get("eventID") not in not_published])

    def record_handler(record: DynamoDBRecord) -> None:
        if record.event_id in not_published:
            raise PublishLater(record.event_id)

    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
