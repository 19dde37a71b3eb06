"""The names of the events contract: its version and every detail-type, without its models.

A leaf: the send path, the pushes and the pollers name events (routing and protection build
their details) without paying for the contract's pydantic models, which only the publisher and
the schema generator need (contract.py).
"""

from typing import Final

VERSION: Final = 1

SUBMITTED: Final = "SMS Submitted"
SUBMIT_FAILED: Final = "SMS Submit Failed"
DELIVERY_REPORT: Final = "SMS Delivery Report"
INBOUND_EVENT: Final = "SMS Inbound"
BALANCE_EVENT: Final = "SMS Balance"
BALANCE_LOW: Final = "SMS Balance Low"
# Issue 14 (protection): opt-out replies, cancelled messages and the answer to a cancel request.
OPT_OUT: Final = "SMS Opt Out"
OPT_IN: Final = "SMS Opt In"
CANCELLED: Final = "SMS Cancelled"
CANCEL_ACCEPTED: Final = "SMS Cancel Accepted"
CANCEL_REFUSED: Final = "SMS Cancel Refused"
# Issue 13 (routing): an account's circuit changed state.
ROUTE_HEALTH: Final = "SMS Route Health"
