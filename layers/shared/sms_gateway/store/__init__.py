"""Every DynamoDB read and write of the project, one module per item kind over one table wrapper:

- table.py: (de)serialisation, paging, conditional and batch writes (the only boto3 calls);
- keys.py: the key layout (pk/sk formats, the pending index, item types), defined once;
- items.py: typed views of the items the publisher and the replay read;
- requests.py (claims), recipients.py (records, lookups), orphans.py (kept reports and the
  orphan signal), pending.py (the pending index),
  inbox.py (kept pushes and pulls), inbound.py, balances.py, tokens.py.

Business rules live with the logic that owns them: report matching in matching.py, the pending
back-off and the low-balance rule in polling.py. Events are not published here: the table stream
is the outbox (publishing.py), so an event exists exactly when a change was committed.

``Store`` (facade.py) composes the parts and keeps the calls the services make; each service
depends on a narrow Protocol of its own (ingest.IngestStore, polling.PollStore,
tokens.TokenBackend, ...). This file imports nothing, so that a function that reads only the key
layout or the item views (the publisher, the status API) does not load every part and the
canonical model behind them.
"""
