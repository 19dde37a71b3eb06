"""Routing and failover across vendor accounts (issue 13): which account serves a request, which
recipients move to the next account when a call sent nothing, and each account's health.

- ``config``: the ``routes`` and ``templates`` of the accounts document, validated;
- ``choose``: the ordered candidate accounts of a request (pure);
- ``failover``: which recipients move where after a call (pure);
- ``health``: the circuit breaker and delivery window shared by every instance (DynamoDB);
- ``events``: the ``SMS Route Health`` detail and metric names.

The send path takes a request through its candidates (sms_gateway.sending.follow).
"""
