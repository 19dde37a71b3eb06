"""sms_gateway: the shared package of the SMS integration layer.

Where things live:
- vendors/<vendor>/     one package per vendor: codes.py (its code tables), client.py (its HTTP
                        calls, Credentials and Options), readings.py (its record parsers);
                        action_v1 is one module
- accounts.py           the accounts document, validated against each vendor's models at load
- models.py             the canonical model (statuses, send requests, reports, inbound, balance)
- store/                every DynamoDB read and write, one module per item kind (keys.py: the layout)
- matching.py           which recipient a delivery report is about
- sending/              SQS batch -> parse, plan (grouped, chunked), dispatch, record
- ingest.py             pushed or pulled reports and MO -> records
- polling.py            the scheduled pull jobs
- publishing.py         table stream -> EventBridge events (the outbox)
"""
