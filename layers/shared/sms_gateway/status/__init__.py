"""The status API's reads ("what happened to this SMS?") and the per-account outcome counters.

Read-only: the status function's role allows GetItem, BatchGetItem and Query on the table and its
indexes, nothing else. Answers never carry a full phone number (masked as in logs) nor a secret.
Both parts are built by the composition root (runtime.Runtime.status_reader / outcome_counters).
"""
