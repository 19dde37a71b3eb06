"""boto3 clients, created once per process.

AWS_ENDPOINT_URL, honoured by boto3 itself, points them at a local stack.
"""

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=3, read_timeout=10)


def new_client(service: str) -> Any:
    """A client of its own (the composition root keeps one per service)."""
    return boto3.client(service, config=_CONFIG)  # type: ignore[call-overload]


@cache
def client(service: str) -> Any:
    return new_client(service)
