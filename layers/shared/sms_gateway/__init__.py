"""sms_gateway: the shared package of the SMS integration layer.

Where things live:
- vendors/<vendor>.py   one module per vendor: its HTTP calls, parsers and code tables
- models.py             the canonical model (statuses, send requests, reports, inbound, balance)
- status.py             how a status moves (the forward-only rule)
- store/                every DynamoDB read and write, one module per item kind (keys.py: the layout)
- matching.py           which recipient a delivery report is about
- sending/              SQS batch -> parse, plan (grouped, chunked), dispatch, record
- ingest.py             pushed or pulled reports and MO -> records
- polling.py            the scheduled pull jobs
- publishing.py         table stream -> EventBridge events (the outbox)
"""
