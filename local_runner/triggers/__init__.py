"""The event sources SAM cannot emulate locally, each read from the template and played here:
SQS and DynamoDB-stream event source mappings (sqs.py, streams.py), HttpApi routes
(http_api.py), Schedule/ScheduleV2 (schedules.py), with FilterCriteria matching (filters.py)."""
