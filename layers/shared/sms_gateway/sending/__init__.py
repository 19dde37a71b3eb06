"""The send path in steps: parse -> plan -> dispatch -> record, orchestrated by SendService."""

from sms_gateway.sending.service import Outcome, SendService, requeue_with_delay

__all__ = ["Outcome", "SendService", "requeue_with_delay"]
