"""The events contract: the detail of every event the gateway publishes, versioned.

One pydantic model per detail shape; ``DETAILS`` maps each detail-type to its model. The JSON
Schemas under ``schemas/`` (and the template's schema registry) are generated from these models
(``make schemas``); a unit test fails when the shipped ones are stale.

Versioning: every detail carries ``version``. A field added, removed or retyped is a new
version (the schemas forbid unknown fields, so a consumer validating against version 1 sees the
change as one); consumers dispatch on ``version``.

The publisher checks every detail against its model before putting it: a detail that breaks
the contract is parked with the change (publishing.py), never published malformed.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sms_gateway.detail_types import (
    BALANCE_EVENT,
    BALANCE_LOW,
    CANCEL_ACCEPTED,
    CANCEL_REFUSED,
    CANCELLED,
    DELIVERY_REPORT,
    INBOUND_EVENT,
    OPT_IN,
    OPT_OUT,
    ROUTE_HEALTH,
    SUBMIT_FAILED,
    SUBMITTED,
    VERSION,
)

StatusName = Literal[
    "submitted", "failed", "delivered", "undelivered", "expired", "rejected", "unknown", "cancelled"
]


class _Detail(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = Field(description="Contract version of this detail.")


class Attempt(BaseModel):
    """One account tried for a recipient (routing and failover, issue 13)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account: str
    vendor: str
    delivery: str = Field(description="sent, refused, may_have_been_sent or not_sent.")
    reason: str
    chosen: str = Field(description="Why the route chose this account.")
    at: str = Field(description="UTC ISO 8601.")


class MessageDetail(_Detail):
    """SMS Submitted, SMS Submit Failed, SMS Delivery Report: one recipient of one message."""

    message_id: str = Field(description="The send request's id (the idempotency key).")
    recipient: str | None = Field(description="E.164; null when the request was too broken to name one.")
    account: str | None
    vendor: str | None
    vendor_message_id: str | None = Field(description="The vendor's id of the call or recipient.")
    status: StatusName
    final: bool
    vendor_status: str | None = Field(
        description="The vendor's raw code, or one of the gateway's own reasons (README: failure catalogue)."
    )
    description: str | None
    occurred_at: str | None = Field(description="UTC ISO 8601: when the status was reached.")
    submitted_at: str | None = Field(description="UTC ISO 8601: when the recipient was first recorded.")
    vendor_time: str | None = Field(description="The vendor's raw local timestamp of the report.")
    kind: str | None = Field(description="verification, notification or marketing.")
    tags: dict[str, str] = Field(description="The send request's tags, echoed.")
    encoding: Literal["GSM-7", "UCS-2"] | None = Field(
        default=None, description="SMS Submitted: how carriers encode the text (absent for vendor templates)."
    )
    segments: int | None = Field(
        default=None, description="SMS Submitted: parts carriers count, the sign included."
    )
    cost: float | None = Field(
        default=None, description="SMS Submitted: segments x the account's price_per_segment, when set."
    )
    attempts: list[Attempt] | None = Field(
        default=None, description="Routed requests: every account tried, in order, the serving one last."
    )


class InboundDetail(_Detail):
    """SMS Inbound: one reply (MO)."""

    account: str
    vendor: str | None
    sender: str | None = Field(description="E.164; null when the vendor masks it (then sender_mask).")
    sender_mask: str | None
    content: str | None
    ext_no: str | None = Field(description="The access or extension number the reply came to.")
    received_at: str | None
    vendor_time: str | None
    vendor_message_id: str | None


class BalanceDetail(_Detail):
    """SMS Balance (every poll) and SMS Balance Low (below the account's threshold)."""

    account: str
    vendor: str | None
    amount: float = Field(description="Currency units (yuan for CNY); negative when post-paid.")
    currency: str | None
    low: bool
    threshold: float | None
    polled_at: str | None
    raw: dict[str, Any] = Field(description="The vendor's balance fields as it gave them.")


class SuppressionDetail(_Detail):
    """SMS Opt Out and SMS Opt In: a number put on or taken off a suppression list by a reply."""

    account: str | None
    sign: str | None = Field(description="The sign whose list changed, when the account keeps one per sign.")
    recipient: str | None = Field(description="E.164 of the number that replied.")
    keyword: str | None = Field(description="The opt-out or opt-in keyword it sent.")
    source: str | None = Field(description="What changed the list: a reply, or an operator (CLI).")
    occurred_at: str | None


class CancelDetail(_Detail):
    """SMS Cancel Accepted and SMS Cancel Refused: the answer to a {"cancel": id} request."""

    message_id: str | None
    outcome: str | None = Field(description="cancelled, or why not (e.g. already left).")
    reason: str | None
    occurred_at: str | None


class RouteHealthDetail(_Detail):
    """SMS Route Health: an account's circuit breaker changed state."""

    account: str
    vendor: str | None
    state: Literal["closed", "open", "half_open"]
    previous_state: Literal["closed", "open", "half_open"]
    consecutive_failures: int
    reason: str
    changed_at: str = Field(description="UTC ISO 8601.")
    retry_at: str | None = Field(description="When an open circuit lets its probe through.")


DETAILS: dict[str, type[_Detail]] = {
    SUBMITTED: MessageDetail,
    SUBMIT_FAILED: MessageDetail,
    DELIVERY_REPORT: MessageDetail,
    INBOUND_EVENT: InboundDetail,
    BALANCE_EVENT: BalanceDetail,
    BALANCE_LOW: BalanceDetail,
    OPT_OUT: SuppressionDetail,
    OPT_IN: SuppressionDetail,
    CANCELLED: MessageDetail,
    CANCEL_ACCEPTED: CancelDetail,
    CANCEL_REFUSED: CancelDetail,
    ROUTE_HEALTH: RouteHealthDetail,
}


class ContractViolation(ValueError):
    """A detail that does not fit its model; the message names fields, never values."""


def check(detail_type: str, detail_json: str) -> None:
    """Raises ContractViolation unless the detail fits the model of its detail-type."""
    model = DETAILS.get(detail_type)
    if model is None:
        raise ContractViolation(f"no contract for detail-type {detail_type!r}")
    try:
        model.model_validate_json(detail_json)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) or "(detail)" for e in exc.errors()})
        raise ContractViolation(f"{detail_type}: {', '.join(fields)}") from None


def schema_name(detail_type: str) -> str:
    """``SMS Delivery Report`` -> ``sms-delivery-report.v1.json``."""
    return f"{detail_type.lower().replace(' ', '-')}.v{VERSION}.json"


def _draft4(node: Any) -> Any:
    # EventBridge's registry reads JSON Schema draft 4, which has no ``const`` and keeps shared
    # parts under ``definitions`` (pydantic writes ``$defs``).
    if isinstance(node, dict):
        out = {k: _draft4(v) for k, v in node.items() if k != "const"}
        if "const" in node:
            out["enum"] = [node["const"]]
        if isinstance(out.get("$ref"), str):
            out["$ref"] = out["$ref"].replace("#/$defs/", "#/definitions/")
        return out
    if isinstance(node, list):
        return [_draft4(v) for v in node]
    return node


def event_schema(detail_type: str) -> dict[str, Any]:
    """The JSON Schema (draft 4) of a whole EventBridge event of ``detail_type``."""
    detail = DETAILS[detail_type].model_json_schema()
    # Shared parts of the detail (e.g. an attempt) live at the root, where their refs point.
    definitions = detail.pop("$defs", {})
    schema: dict[str, Any] = _draft4(
        {
            "$schema": "http://json-schema.org/draft-04/schema#",
            "title": detail_type,
            "description": f"{detail_type}, contract version {VERSION}.",
            "type": "object",
            "required": ["detail-type", "source", "detail"],
            "properties": {
                "detail-type": {"const": detail_type},
                "source": {"type": "string"},
                "account": {"type": "string"},
                "id": {"type": "string"},
                "region": {"type": "string"},
                "time": {"type": "string"},
                "version": {"type": "string"},
                "resources": {"type": "array", "items": {"type": "string"}},
                "detail": detail,
            },
            **({"definitions": definitions} if definitions else {}),
        }
    )
    return schema


def all_schemas() -> dict[str, dict[str, Any]]:
    """File name -> schema, for every detail-type."""
    return {schema_name(t): event_schema(t) for t in DETAILS}
