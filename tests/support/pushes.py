"""Vendor pushes through the real CallbackFunction, for every vendor at once: one account per
vendor, named as in events/callback/*.json, and recipient records as the send function writes
them (so pushed reports have something to update without a vendor call)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from tests.support.aws import CALLBACK_TOKEN, AwsEnv, FakeContext, load_event, load_handler

# vendor -> (account name, the sample push event of each kind it pushes)
VENDORS: dict[str, tuple[str, dict[str, str]]] = {
    "action_v1": ("cn-main", {"report": "action_v1-push.json", "mo": "action_v1-push.json"}),
    "paasw_v1": ("cn-paasw", {"report": "paasw_v1-push-report.json", "mo": "paasw_v1-push-mo.json"}),
    "paasw_v2": ("cn-paasw-v2", {"report": "paasw_v2-push-report.json", "mo": "paasw_v2-push-mo.json"}),
    "intl_v1": ("intl-main", {"report": "intl_v1-push-report.json"}),
    "pwd_v1": ("cn-pwd", {"report": "pwd_v1-push-report.json", "mo": "pwd_v1-push-mo.json"}),
}
CREDENTIALS: dict[str, dict[str, str]] = {
    "action_v1": {"account": "922011", "password": "s3cret-pass"},
    "paasw_v1": {"app_id": "0189457543", "secret": "23f757bad208226ec301e117e40006ed"},
    "paasw_v2": {"app_id": "0189457544", "secret": "gw7ewiz4eJ5646grg"},
    "intl_v1": {"app_key": "10002", "app_secret": "abc123"},  # the sample event's MD5 header
    "pwd_v1": {"account": "pwduser", "password": "pwd-secret"},
}


def account(vendor: str, base_url: str = "http://127.0.0.1:9", **overrides: Any) -> dict[str, Any]:
    name, _ = VENDORS[vendor]
    document = {
        "name": name,
        "vendor": vendor,
        "base_url": base_url,
        "credentials": CREDENTIALS[vendor],
        "options": {"extno": "106900"} if vendor == "action_v1" else {},
        "sign": "圆通快递",
        "callback_token": CALLBACK_TOKEN,
        "timezone": "Asia/Shanghai",
        "default": vendor == "action_v1",
    }
    document.update(overrides)
    return document


def every_account(aws: AwsEnv) -> None:
    aws.put_accounts(*(account(vendor) for vendor in VENDORS))


def sample_body(vendor: str, kind: str) -> str:
    return str(load_event(f"callback/{VENDORS[vendor][1][kind]}")["body"])


class Pusher:
    """Posts bodies to a vendor's callback route as API Gateway would (payload v2.0)."""

    def __init__(self) -> None:
        self._handler: Callable[[dict[str, Any], Any], Any] = load_handler("callback")

    def __call__(
        self,
        vendor: str,
        kind: str,
        body: Any,
        *,
        content_type: str | None = None,
        token: str = CALLBACK_TOKEN,
    ) -> dict[str, Any]:
        name, events = VENDORS[vendor]
        event = load_event(f"callback/{events.get(kind, next(iter(events.values())))}")
        path = f"/callbacks/{name}/{kind}"
        event["rawPath"] = event["requestContext"]["http"]["path"] = path
        event["pathParameters"] = {"account": name, "kind": kind}
        event["queryStringParameters"] = {"token": token}
        event["rawQueryString"] = f"token={token}"
        if content_type is not None:
            event["headers"]["content-type"] = content_type
        if isinstance(body, bytes):
            event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
        else:
            event["body"] = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
            event["isBase64Encoded"] = False
        return self._handler(event, FakeContext())  # type: ignore[no-any-return]


def submitted(vendor: str, message_id: str, recipient: str, vendor_message_id: str) -> None:
    """A recipient recorded `submitted` under a vendor id, as the send function records it."""
    from sms_gateway.models import RecipientRecord
    from sms_gateway.store.facade import Store
    from tests.support.aws import TABLE

    name, _ = VENDORS[vendor]
    record = RecipientRecord.submitted(
        message_id=message_id,
        recipient=recipient,
        account=name,
        vendor=vendor,
        vendor_message_id=vendor_message_id,
        vendor_status="0",
        description="OK",
        tags={},
    )
    assert Store(TABLE).record_submissions([record]) == [True]
