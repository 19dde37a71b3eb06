"""The status API in the template: its own HTTP API, IAM-authorized, served by a read-only function."""

from __future__ import annotations

import pytest

from tests.support.template import template

pytestmark = pytest.mark.unit

READ_ONLY = {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"}


def test_the_status_api_is_its_own_http_api_with_iam_authorization() -> None:
    # Given the template's status API and function
    resources = template()["Resources"]
    api = resources["StatusApi"]
    function = resources["StatusFunction"]["Properties"]
    # Then every request must be IAM-signed, and every route of the function is on that API only
    assert api["Type"] == "AWS::Serverless::HttpApi"
    assert api["Properties"]["Auth"] == {"EnableIamAuthorizer": True, "DefaultAuthorizer": "AWS_IAM"}
    routes = {(e["Properties"]["Method"], e["Properties"]["Path"]) for e in function["Events"].values()}
    assert routes == {
        ("GET", "/messages/{id}"),
        ("GET", "/recipients/{number}/messages"),
        ("GET", "/accounts/{name}"),
    }
    assert {e["Properties"]["ApiId"]["Ref"] for e in function["Events"].values()} == {"StatusApi"}


def test_the_status_function_may_only_read_the_table_and_its_indexes() -> None:
    # Given the status function's policies
    policies = template()["Resources"]["StatusFunction"]["Properties"]["Policies"]
    statements = [s for p in policies if isinstance(p, dict) and "Statement" in p for s in p["Statement"]]
    # Then it reads the table and its indexes, and writes nothing
    actions = {a for s in statements for a in s["Action"]}
    assert actions == READ_ONLY
    (statement,) = statements
    assert statement["Resource"] == [{"GetAtt": "Table.Arn"}, {"Sub": "${Table.Arn}/index/*"}]
