"""What template.yaml promises an operator: kept records, bounded logs, retried schedules, encryption."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.template import template

pytestmark = pytest.mark.unit


def resources(kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template()["Resources"].items() if v["Type"] == kind}


def test_the_table_survives_a_stack_deletion_or_replacement() -> None:
    (table,) = resources("AWS::DynamoDB::Table").values()
    assert table["DeletionPolicy"] == "Retain" and table["UpdateReplacePolicy"] == "Retain"


def test_every_function_has_its_log_group_with_the_retention_parameter() -> None:
    groups = resources("AWS::Logs::LogGroup").values()
    named = {g["Properties"].get("LogGroupName", {}).get("Sub") for g in groups}
    for function in resources("AWS::Serverless::Function"):
        assert f"/aws/lambda/${{{function}}}" in named, function
    assert all(g["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"} for g in groups)


def test_every_schedule_has_a_stack_unique_name_a_retry_policy_and_a_dead_letter_queue() -> None:
    schedules = [
        event["Properties"]
        for function in resources("AWS::Serverless::Function").values()
        for event in (function["Properties"].get("Events") or {}).values()
        if event["Type"] == "ScheduleV2"
    ]
    assert len(schedules) == 3
    for schedule in schedules:
        assert schedule["Name"]["Sub"].startswith("${AWS::StackName}-")
        assert schedule["RetryPolicy"]["MaximumRetryAttempts"] >= 1
        assert schedule["DeadLetterConfig"]["Arn"] == {"GetAtt": "ScheduleDeadLetterQueue.Arn"}


def test_alarms_go_to_an_encrypted_topic_with_an_optional_email_and_the_api_logs_and_throttles() -> None:
    (topic,) = resources("AWS::SNS::Topic").values()
    assert topic["Properties"]["KmsMasterKeyId"] == {"Ref": "AlarmTopicKey"}
    (subscription,) = resources("AWS::SNS::Subscription").values()
    assert subscription["Condition"] == "HasAlarmEmail"
    api = resources("AWS::Serverless::HttpApi")["CallbackApi"]  # the status API is the other one
    assert api["Properties"]["AccessLogSettings"]["DestinationArn"] == {"GetAtt": "CallbackApiAccessLogs.Arn"}
    assert "$context.requestId" in api["Properties"]["AccessLogSettings"]["Format"]
    assert api["Properties"]["DefaultRouteSettings"] == {
        "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"},
        "ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
    }
    assert {"AlarmEmail", "AccountsKmsKeyArn", "LogRetentionDays"} <= set(template()["Parameters"])


def test_the_poisoned_items_alarm_watches_the_metric_the_functions_emit() -> None:
    # Given the metric namespace and service the functions emit with (Powertools, from Globals)
    env = template()["Globals"]["Function"]["Environment"]["Variables"]
    alarm = template()["Resources"]["PoisonedItemsAlarm"]["Properties"]
    # Then the alarm reads exactly that metric, and pages through the alarm topic
    assert alarm["Namespace"] == env["POWERTOOLS_METRICS_NAMESPACE"]
    assert alarm["Dimensions"] == [{"Name": "service", "Value": env["POWERTOOLS_SERVICE_NAME"]}]
    assert alarm["MetricName"] == "PoisonedItems" and alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
