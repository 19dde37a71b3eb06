"""The versioned events contract (issue 12 item 5): the shipped schemas are the models', the
template's registry carries them, and no detail that breaks them is ever published."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from sms_gateway import contract
from sms_gateway.publishing import Publisher, events_for
from tests.support.aws import load_event
from tests.support.events_contract import SCHEMAS, violations
from tests.support.faulty_events import MemoryBus
from tests.support.template import ROOT, template

pytestmark = pytest.mark.unit


def sample_record() -> dict[str, Any]:
    return copy.deepcopy(load_event("publish/dynamodb-stream.json")["Records"][0])


def envelope(detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    """An event as EventBridge delivers it to a target."""
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": detail_type,
        "source": "sms.gateway",
        "account": "123456789012",
        "time": "2026-11-23T04:00:04Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


def test_the_shipped_schemas_are_the_ones_make_schemas_generates_from_the_models() -> None:
    # Given the schemas generated from the models now
    expected = contract.all_schemas()
    # Then schemas/ holds exactly those files with exactly that content (else: run make schemas)
    assert sorted(p.name for p in SCHEMAS.glob("*.json")) == sorted(expected), "run `make schemas`"
    for name, schema in expected.items():
        assert json.loads((SCHEMAS / name).read_text()) == schema, f"{name} is stale: run `make schemas`"


def test_the_template_registry_holds_every_shipped_schema_as_json_schema_draft_4() -> None:
    resources = template()["Resources"]
    (registry,) = [k for k, v in resources.items() if v["Type"] == "AWS::EventSchemas::Registry"]
    schemas = [v["Properties"] for v in resources.values() if v["Type"] == "AWS::EventSchemas::Schema"]
    by_name = {s["SchemaName"]: s for s in schemas}
    for detail_type in contract.DETAILS:
        name = contract.schema_name(detail_type)
        shipped = by_name[name.removesuffix(".json")]
        assert shipped["RegistryName"] == {"GetAtt": f"{registry}.RegistryName"}
        assert shipped["Type"] == "JSONSchemaDraft4"
        assert json.loads(shipped["Content"]) == json.loads((SCHEMAS / name).read_text()), "make schemas"
    assert len(schemas) == len(contract.DETAILS)


def test_every_detail_type_carries_version_1_and_validates_against_its_schema() -> None:
    # Given one change of each kind the publisher turns into events
    delivered = sample_record()
    submitted = sample_record()
    submitted["eventName"] = "INSERT"
    submitted["dynamodb"].pop("OldImage")
    submitted["dynamodb"]["NewImage"]["status"] = {"S": "submitted"}
    failed = copy.deepcopy(submitted)
    failed["dynamodb"]["NewImage"]["status"] = {"S": "failed"}
    inbound = sample_record()
    inbound["eventName"] = "INSERT"
    inbound["dynamodb"]["NewImage"] = {
        "type": {"S": "inbound"},
        "account": {"S": "cn-main"},
        "vendor": {"S": "action_v1"},
        "sender": {"S": "+8613800138000"},
        "content": {"S": "TD"},
        "received_at": {"S": "2026-11-23T04:00:00.000Z"},
    }
    balance = sample_record()
    balance["dynamodb"]["NewImage"] = {
        "type": {"S": "balance"},
        "account": {"S": "cn-main"},
        "vendor": {"S": "action_v1"},
        "amount": {"N": "95.5"},
        "currency": {"S": "CNY"},
        "low": {"BOOL": True},
        "threshold": {"N": "100"},
        "polled_at": {"S": "2026-11-23T04:00:00.000Z"},
        "raw": {"M": {"overage": {"N": "95500"}}},
    }
    # And the protection items' changes (issue 14): an opt-out, then an opt-in; a cancelled
    # recipient; a cancel accepted and one refused
    opted_out = sample_record()
    opted_out["eventName"] = "INSERT"
    opted_out["dynamodb"].pop("OldImage")
    opted_out["dynamodb"]["NewImage"] = {
        "type": {"S": "suppression"},
        "account": {"S": "cn-main"},
        "number": {"S": "+8613800138000"},
        "opted_out": {"BOOL": True},
        "keyword": {"S": "退订"},
        "source": {"S": "reply"},
        "changed_at": {"S": "2026-11-23T04:00:00.000Z"},
    }
    opted_in = copy.deepcopy(opted_out)
    opted_in["eventName"] = "MODIFY"
    opted_in["dynamodb"]["OldImage"] = copy.deepcopy(opted_out["dynamodb"]["NewImage"])
    opted_in["dynamodb"]["NewImage"]["opted_out"] = {"BOOL": False}
    cancelled = copy.deepcopy(submitted)
    cancelled["dynamodb"]["NewImage"]["status"] = {"S": "cancelled"}
    accepted = copy.deepcopy(opted_out)
    accepted["dynamodb"]["NewImage"] = {
        "type": {"S": "cancel"},
        "message_id": {"S": "promo-1"},
        "outcome": {"S": "cancelled"},
        "requested_at": {"S": "2026-11-23T04:00:00.000Z"},
    }
    refused = copy.deepcopy(accepted)
    refused["dynamodb"]["NewImage"]["outcome"] = {"S": "refused"}
    refused["dynamodb"]["NewImage"]["reason"] = {"S": "already left"}
    # And an account's circuit opening (issue 13)
    circuit = copy.deepcopy(opted_in)
    circuit["dynamodb"]["OldImage"] = {"type": {"S": "route_health"}, "account": {"S": "cn-main"}}
    circuit["dynamodb"]["NewImage"] = {
        "type": {"S": "route_health"},
        "account": {"S": "cn-main"},
        "vendor": {"S": "action_v1"},
        "state": {"S": "open"},
        "failures": {"N": "3"},
        "reason": {"S": "connection refused"},
        "changed_at": {"S": "2026-11-23T04:00:00.000Z"},
        "retry_at": {"S": "2026-11-23T04:01:00.000Z"},
    }
    bus = MemoryBus()
    # When they are published
    records = [
        *(delivered, submitted, failed, inbound, balance),
        *(opted_out, opted_in, cancelled, accepted, refused, circuit),
    ]
    assert Publisher("bus", "sms.gateway", bus).publish_records(records) == set()
    # Then every detail-type was put, each with version 1, each valid against its shipped schema
    assert {e["DetailType"] for e in bus.put} == set(contract.DETAILS)
    for entry in bus.put:
        event = envelope(entry["DetailType"], json.loads(entry["Detail"]))
        assert event["detail"]["version"] == 1
        assert violations(event) == []


def test_the_schema_check_fails_an_event_that_breaks_the_contract() -> None:
    # Given a valid delivery report
    ((detail_type, detail),) = events_for(sample_record())
    assert violations(envelope(detail_type, json.loads(json.dumps(detail)))) == []
    # Then without its version, with an unknown status, or with a field not in the contract, it fails
    assert violations(envelope(detail_type, {k: v for k, v in detail.items() if k != "version"}))
    assert violations(envelope(detail_type, {**detail, "status": "sent"}))
    assert violations(envelope(detail_type, {**detail, "surprise": 1}))


def test_a_detail_that_breaks_the_contract_is_parked_with_its_change_never_published() -> None:
    from tests.unit.test_publish_retries import Queue

    # Given a recipient change whose status the contract does not know
    record = sample_record()
    record["dynamodb"]["NewImage"]["status"] = {"S": "sent"}
    bus, queue = MemoryBus(), Queue()
    publisher = Publisher("bus", "sms.gateway", bus, failure_queue_url="https://sqs/f", sqs_client=queue)
    # When it is published
    assert publisher.publish_records([record]) == set()
    # Then nothing reached the bus, and the change is parked with its keys and new image
    assert bus.put == []
    (parked,) = queue.bodies
    assert parked["reason"] == "ContractViolation"
    assert parked["keys"] == record["dynamodb"]["Keys"]
    assert parked["new_image"] == record["dynamodb"]["NewImage"]


def test_the_readme_shows_one_valid_example_per_detail_type() -> None:
    # Given the README's example events (```json blocks holding a "detail-type")
    readme = (ROOT / "README.md").read_text()
    examples = [
        json.loads(b) for b in re.findall(r"```json\n(.*?)```", readme, re.DOTALL) if '"detail-type"' in b
    ]
    # Then there is one per detail-type, and each validates against its shipped schema
    assert sorted(e["detail-type"] for e in examples) == sorted(contract.DETAILS)
    for example in examples:
        assert violations(example) == [], example["detail-type"]
