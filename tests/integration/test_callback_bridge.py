"""The action_v1 simulator pushes through the real CallbackFunction and sees our real ack."""

import json

import pytest

from simulators import simulator_for
from tests.support.aws import AwsEnv, FakeContext, action_v1_account, load_event, load_handler
from tests.support.callback_bridge import CallbackBridge

pytestmark = pytest.mark.integration


def test_the_simulator_push_is_stored_and_acked_ok(aws: AwsEnv, callbacks: CallbackBridge) -> None:
    # Given the action_v1 simulator pushing reports to our callback route
    sim = simulator_for(action_v1_account("http://127.0.0.1:0"), start=False)
    sim.start()
    try:
        aws.put_accounts(action_v1_account(sim.url))
        sim.configure(push_report_url=callbacks.url("cn-main", "report"), delivery="push", report_delay=0.5)
        # When a message is sent and the simulator pushes its report
        record = load_event("send/sqs-batch.json")["Records"][1]
        answer = load_handler("send")({"Records": [record]}, FakeContext())
        assert answer["batchItemFailures"] == []
        assert sim.wait_idle(timeout=10)
    finally:
        sim.stop()
    # Then the simulator saw our OK, and the record is delivered
    assert [p["accepted"] for p in sim.pushes] == [True]
    assert callbacks.answers[0][1:] == (200, "OK")
    assert aws.record("order-1002", "+8613700137000")["status"] == "delivered"  # type: ignore[index]
    (report,) = aws.events("SMS Delivery Report")
    assert json.dumps(report["detail"]["tags"]) == '{"order": "1002"}'
