"""sms_gateway: the shared package of the SMS integration layer.

Where things live:
- vendors/<vendor>.py   one module per vendor: its HTTP calls, parsers and code tables
- models.py             the canonical model (statuses, send requests, reports, inbound, balance)
- store.py              every DynamoDB read and write
- sending.py            SQS batch -> grouped, chunked vendor calls
- ingest.py             pushed or pulled reports and MO -> records
- polling.py            the scheduled pull jobs
- publishing.py         table stream -> EventBridge events (the outbox)
"""
