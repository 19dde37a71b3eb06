"""PublishFunction: the table stream -> EventBridge (the outbox). Wiring only; see sms_gateway.publishing."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from sms_gateway import runtime
from sms_gateway.observability import logger, metrics, tracer
from sms_gateway.publishing import events_for

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def record_handler(record: DynamoDBRecord) -> None:
    events = events_for(record.raw_event)
    if events:
        runtime.publisher().publish(events)
        metrics.add_metric(name="EventsPublished", unit="Count", value=len(events))


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
