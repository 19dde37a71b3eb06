"""The local IAM evaluator and the map from a boto3 call to the action and ARN(s) it needs."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from local_runner.iam import Enforcer, Principal, decide, required

pytestmark = pytest.mark.unit

TABLE = "arn:aws:dynamodb:us-east-1:111122223333:table/t"


def policy(*statements: dict[str, object]) -> dict[str, object]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_an_allow_with_wildcards_grants_and_anything_else_is_implicitly_denied() -> None:
    # Given a role allowing dynamodb:Get* on the table only
    documents = [policy({"Effect": "Allow", "Action": "dynamodb:Get*", "Resource": TABLE})]
    # Then GetItem on the table is allowed (actions case-insensitively), not on its index, not PutItem
    assert decide(documents, "DynamoDB:getitem", TABLE) == "allow"
    assert decide(documents, "dynamodb:GetItem", f"{TABLE}/index/pending") == "implicit"
    assert decide(documents, "dynamodb:PutItem", TABLE) == "implicit"


def test_an_explicit_deny_wins_and_not_action_not_resource_invert_the_match() -> None:
    documents = [
        policy({"Effect": "Allow", "NotAction": "sqs:DeleteQueue", "Resource": "*"}),
        policy({"Effect": "Deny", "Action": "sqs:SendMessage", "NotResource": "arn:aws:sqs:*:*:ok"}),
    ]
    assert decide(documents, "sqs:ReceiveMessage", "arn:aws:sqs:us-east-1:1:any") == "allow"
    assert decide(documents, "sqs:DeleteQueue", "arn:aws:sqs:us-east-1:1:any") == "implicit"
    assert decide(documents, "sqs:SendMessage", "arn:aws:sqs:us-east-1:1:ok") == "allow"
    assert decide(documents, "sqs:SendMessage", "arn:aws:sqs:us-east-1:1:other") == "deny"


def test_a_condition_is_read_strictly_an_allow_with_one_grants_nothing() -> None:
    documents = [
        policy({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bool": {"x": "true"}}})
    ]
    assert decide(documents, "dynamodb:GetItem", TABLE) == "implicit"


@pytest.mark.parametrize(
    ("service", "operation", "params", "expected"),
    [
        (
            "dynamodb",
            "Query",
            {"TableName": "t", "IndexName": "pending"},
            [("dynamodb:Query", f"{TABLE}/index/pending")],
        ),
        ("dynamodb", "BatchWriteItem", {"RequestItems": {"t": []}}, [("dynamodb:BatchWriteItem", TABLE)]),
        (
            "dynamodb",
            "TransactWriteItems",
            {"TransactItems": [{"Put": {"TableName": "t"}}, {"ConditionCheck": {"TableName": "t"}}]},
            [("dynamodb:PutItem", TABLE), ("dynamodb:ConditionCheckItem", TABLE)],
        ),
        (
            "ssm",
            "GetParameter",
            {"Name": "/a/b"},
            [("ssm:GetParameter", "arn:aws:ssm:us-east-1:111122223333:parameter/a/b")],
        ),
        (
            "sqs",
            "SendMessage",
            {"QueueUrl": "http://127.0.0.1:5000/123456789012/send"},
            [("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:send")],
        ),
        (
            "events",
            "PutEvents",
            {"Entries": [{"EventBusName": "bus"}, {}]},
            [
                ("events:PutEvents", "arn:aws:events:us-east-1:111122223333:event-bus/bus"),
                ("events:PutEvents", "arn:aws:events:us-east-1:111122223333:event-bus/default"),
            ],
        ),
        ("sts", "GetCallerIdentity", {}, []),
    ],
)
def test_each_call_needs_the_action_and_resource_aws_checks(
    service: str, operation: str, params: dict[str, object], expected: list[tuple[str, str]]
) -> None:
    prefix = "dynamodb" if service == "dynamodbstreams" else service
    assert (
        required(service, prefix, operation, params, region="us-east-1", account="111122223333") == expected
    )


@pytest.mark.parametrize(
    ("service", "operation", "code"),
    [("dynamodb", "get_item", "AccessDeniedException"), ("sns", "publish", "AccessDenied")],
)
def test_a_denied_call_raises_the_error_code_of_its_protocol(service: str, operation: str, code: str) -> None:
    # Given an enforcer whose principal may do nothing
    principal = Principal("fn", "arn:aws:iam::111122223333:role/r", "111122223333", (policy(),))
    lines: list[str] = []
    enforcer = Enforcer(lambda: principal, lines.append)
    client = boto3.client(service, region_name="us-east-1")  # type: ignore[call-overload]
    client.meta.events.register("before-parameter-build", lambda **kw: enforcer.check("us-east-1", **kw))
    # When the client calls (it never reaches the network: the check refuses first)
    params = (
        {"TableName": "t", "Key": {"pk": {"S": "a"}}}
        if service == "dynamodb"
        else {"TopicArn": "arn:aws:sns:us-east-1:111122223333:x", "Message": "m"}
    )
    with pytest.raises(ClientError) as raised:
        getattr(client, operation)(**params)
    # Then the error is AWS's for that protocol, and one line names what was denied
    assert raised.value.response["Error"]["Code"] == code
    assert "assumed-role/r/fn is not authorized to perform" in raised.value.response["Error"]["Message"]
    assert len(lines) == 1 and lines[0].startswith("[IAM] denied ")
