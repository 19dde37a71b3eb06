"""A table of the template's shape on DynamoDB Local (moto's when it cannot run) for the routing
tests, a client per simulated instance, a clock the tests move instead of sleeping, and the
two-account route they send through."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from moto import mock_aws

from sms_gateway.routing.health import Breaker
from sms_gateway.routing.settings import RoutingSettings
from tests.support.template import table_definition

PRIMARY, BACKUP = "cn-a", "cn-b"
SETTINGS = RoutingSettings(breaker_failures=3, breaker_cooldown_seconds=60, breaker_probe_lease_seconds=30)
T0 = 1_800_000_000.0


@dataclass
class Clock:
    now: float = T0

    def __call__(self) -> float:
        return self.now


@dataclass
class Table:
    name: str
    endpoint: str | None

    def client(self) -> Any:
        """A client of its own, as another Lambda instance would have."""
        return boto3.client("dynamodb", endpoint_url=self.endpoint, config=Config(max_pool_connections=20))

    def breaker(self, clock: Clock, settings: RoutingSettings = SETTINGS) -> Breaker:
        return Breaker(self.name, settings, self.client(), clock)


def routing_table(dynamodb_endpoint: str | None) -> Iterator[Table]:
    """A fresh table for one test (a fixture's body: ``yield from routing_table(endpoint)``)."""
    with contextlib.ExitStack() as stack:
        if dynamodb_endpoint is None:
            stack.enter_context(mock_aws())
        found = Table(f"routing-{uuid.uuid4().hex[:10]}", dynamodb_endpoint)
        db = found.client()
        db.create_table(**table_definition(found.name))
        try:
            yield found
        finally:
            db.delete_table(TableName=found.name)


def failover_document(primary: dict[str, Any], backup: dict[str, Any]) -> dict[str, Any]:
    """An accounts document with one route over these two accounts: the backup has weight 0, so
    every message tries the primary first and the test knows the order."""
    route = [{"account": primary["name"]}, {"account": backup["name"], "weight": 0}]
    return {"accounts": [primary, backup], "routes": [{"name": "main", "accounts": route}]}
