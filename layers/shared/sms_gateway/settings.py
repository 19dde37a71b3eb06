"""Environment variables parsed once into a typed model."""

import os
from collections.abc import Mapping
from typing import Self, TypeVar

from pydantic import BaseModel, Field, ValidationError

from sms_gateway.errors import ConfigurationError


class Settings(BaseModel):
    table_name: str = Field(min_length=1)
    accounts_parameter_name: str = "/sms-gateway/accounts"
    accounts_cache_seconds: int = Field(default=60, ge=0)
    record_retention_days: int = Field(default=90, ge=1)
    send_queue_url: str | None = None
    event_bus_name: str | None = None
    event_source: str = "sms.gateway"
    # Where the publisher parks changes it cannot publish (keys + new image), and after how long
    # a change that keeps failing is parked instead of handed back to the stream once more.
    publish_failure_queue_url: str | None = None
    publish_park_after_seconds: float = Field(default=900.0, gt=0)
    # Vendor calls: connect quickly, give the vendor a bounded time to answer.
    http_connect_timeout_seconds: float = 3.05
    http_read_timeout_seconds: float = 10.0
    # Stop starting vendor calls when the invocation has less than this left.
    send_time_reserve_seconds: float = 15.0
    # Recipient records written in parallel by one invocation (a 10,000-number request).
    store_write_threads: int = Field(default=8, ge=1, le=64)

    @classmethod
    def from_environment(cls) -> Self:
        """Parsed once per process, by the composition root (sms_gateway.runtime)."""
        return from_environment(cls, _ENV, "environment")


Model = TypeVar("Model", bound=BaseModel)


def from_environment(model: type[Model], names: Mapping[str, str], what: str) -> Model:
    """``model`` from the environment variables ``names`` (field -> variable); unset or empty
    variables keep the field's default. An invalid value names its variable, never the value."""
    values = {field: os.environ[env] for field, env in names.items() if os.environ.get(env)}
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{names[str(e['loc'][0])]}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False)
        )
        raise ConfigurationError(f"invalid {what}: {problems}") from exc


_ENV = {
    "table_name": "TABLE_NAME",
    "accounts_parameter_name": "ACCOUNTS_PARAMETER_NAME",
    "accounts_cache_seconds": "ACCOUNTS_CACHE_SECONDS",
    "record_retention_days": "RECORD_RETENTION_DAYS",
    "send_queue_url": "SEND_QUEUE_URL",
    "event_bus_name": "EVENT_BUS_NAME",
    "event_source": "EVENT_SOURCE",
    "publish_failure_queue_url": "PUBLISH_FAILURE_QUEUE_URL",
    "publish_park_after_seconds": "PUBLISH_PARK_AFTER_SECONDS",
    "http_connect_timeout_seconds": "HTTP_CONNECT_TIMEOUT_SECONDS",
    "http_read_timeout_seconds": "HTTP_READ_TIMEOUT_SECONDS",
    "send_time_reserve_seconds": "SEND_TIME_RESERVE_SECONDS",
    "store_write_threads": "STORE_WRITE_THREADS",
}
