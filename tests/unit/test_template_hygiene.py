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


def alarms() -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in resources("AWS::CloudWatch::Alarm").items()}


def watched(alarm: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(namespace, metric, dimensions) of every metric an alarm reads, plain or in metric math."""
    if "MetricName" in alarm:
        plain = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
        return [(alarm["Namespace"], alarm["MetricName"], plain)]
    found = []
    for query in alarm["Metrics"]:
        if "MetricStat" in query:
            metric = query["MetricStat"]["Metric"]
            dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
            found.append((metric["Namespace"], metric["MetricName"], dims))
    return found


def test_every_alarm_pages_through_the_alarm_topic_with_a_threshold_parameter() -> None:
    for name, alarm in alarms().items():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert alarm["TreatMissingData"] == "notBreaching", name
    # The thresholds an operator tunes are parameters (the zero of "any dead letter" is not)
    parameterised = {n for n, a in alarms().items() if isinstance(a["Threshold"], dict)}
    assert parameterised >= {
        n for n in alarms() if n.startswith(("SubmitFailureRate", "DeliveryRate", "Callback"))
    }
    for alarm in alarms().values():
        if isinstance(alarm["Threshold"], dict):
            assert alarm["Threshold"]["Ref"] in template()["Parameters"]


def test_the_alarms_of_issue_12_watch_the_metrics_the_code_emits() -> None:
    # Given what each alarm watches
    seen = {name: watched(alarm) for name, alarm in alarms().items()}
    metrics = {(ns, m) for found in seen.values() for ns, m, _ in found}
    vendors = {"action_v1", "paasw_v1", "paasw_v2", "intl_v1", "pwd_v1"}

    def vendors_of(prefix: str, metric: str) -> set[str]:
        return {
            dims["vendor"]
            for name, found in seen.items()
            if name.startswith(prefix)
            for _, m, dims in found
            if m == metric
        }

    # Then every item of the list has its alarm
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible") in metrics  # dead letters
    assert ("AWS/SQS", "ApproximateAgeOfOldestMessage") in metrics  # send-queue age
    assert vendors_of("SubmitFailureRate", "RecipientsSubmitFailed") == vendors
    assert vendors_of("DeliveryRate", "RecipientsDelivered") == vendors
    assert {"Callback4XXRateAlarm", "Callback5XXRateAlarm"} <= set(seen)
    assert ("SmsGateway", "CallbackAnswers") in metrics and ("SmsGateway", "PollErrors") in metrics
    assert ("AWS/Lambda", "IteratorAge") in metrics and ("SmsGateway", "BalanceLow") in metrics
    functions = set(resources("AWS::Serverless::Function"))
    for metric in ("Errors", "Throttles"):
        refs = {
            d["FunctionName"]["Ref"]
            for f in seen.values()
            for ns, m, d in f
            if (ns, m) == ("AWS/Lambda", metric)
        }
        assert refs == functions, metric
    # and the gateway's own metrics are read with the namespace and service the functions use
    env = template()["Globals"]["Function"]["Environment"]["Variables"]
    for found in seen.values():
        for ns, _, dims in found:
            if ns not in {"AWS/SQS", "AWS/Lambda"}:
                assert ns == env["POWERTOOLS_METRICS_NAMESPACE"]
                assert dims["service"] == env["POWERTOOLS_SERVICE_NAME"]


def test_one_dashboard_the_archive_and_the_optional_sample_consumer() -> None:
    (dashboard,) = resources("AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]["Sub"]
    assert all(f"{v}: recipients" in body for v in ("action_v1", "paasw_v1", "paasw_v2", "intl_v1", "pwd_v1"))
    (archive,) = resources("AWS::Events::Archive").values()
    assert archive["Properties"]["RetentionDays"] == {"Ref": "EventArchiveRetentionDays"}
    assert archive["Properties"]["SourceArn"] == {"GetAtt": "EventBus.Arn"}
    consumer = {k: v for k, v in template()["Resources"].items() if k.startswith("SampleConsumer")}
    assert {v["Type"] for v in consumer.values()} == {
        "AWS::SQS::Queue",
        "AWS::SQS::QueuePolicy",
        "AWS::Events::Rule",
    }
    assert all(v["Condition"] == "HasSampleConsumer" for v in consumer.values())
