"""The composition root: builds the services once per process, from the settings and accounts.

Handlers call these; tests build the services directly with their own store and registry.
"""

from __future__ import annotations

from functools import cache

from sms_gateway.accounts import Account, AccountRegistry, load_registry
from sms_gateway.http import VendorHttp
from sms_gateway.settings import get_settings
from sms_gateway.store import Store
from sms_gateway.tokens import TokenCache
from sms_gateway.vendors import adapter_class
from sms_gateway.vendors.base import VendorAdapter


@cache
def store() -> Store:
    settings = get_settings()
    return Store(
        settings.table_name, settings.record_retention_days, write_threads=settings.store_write_threads
    )


@cache
def vendor_http() -> VendorHttp:
    settings = get_settings()
    return VendorHttp(settings.http_connect_timeout_seconds, settings.http_read_timeout_seconds)


def adapter_factory(db: Store, http: VendorHttp):  # type: ignore[no-untyped-def]
    """Adapters are cheap; they share the process's HTTP session and the table's token cache."""

    def adapter_for(account: Account) -> VendorAdapter:
        return adapter_class(account.vendor)(account, http, TokenCache(db, account.name))

    return adapter_for


def registry() -> AccountRegistry:
    return load_registry()


def send_service():  # type: ignore[no-untyped-def]
    from sms_gateway.sending import SendService, requeue_with_delay  # noqa: PLC0415

    settings = get_settings()
    if not settings.send_queue_url:
        from sms_gateway.errors import ConfigurationError  # noqa: PLC0415

        raise ConfigurationError("SEND_QUEUE_URL is not set")
    return SendService(
        store(),
        registry(),
        adapter_factory(store(), vendor_http()),
        requeue_with_delay(settings.send_queue_url),
        settings.send_time_reserve_seconds,
    )


def push_service():  # type: ignore[no-untyped-def]
    from sms_gateway.ingest import PushService  # noqa: PLC0415

    return PushService(store(), registry(), adapter_factory(store(), vendor_http()))


def poll_service():  # type: ignore[no-untyped-def]
    from sms_gateway.polling import PollService  # noqa: PLC0415

    return PollService(store(), registry(), adapter_factory(store(), vendor_http()))


@cache
def publisher():  # type: ignore[no-untyped-def]
    from sms_gateway.aws import client  # noqa: PLC0415
    from sms_gateway.errors import ConfigurationError  # noqa: PLC0415
    from sms_gateway.publishing import Publisher  # noqa: PLC0415

    settings = get_settings()
    if not settings.event_bus_name:
        raise ConfigurationError("EVENT_BUS_NAME is not set")
    return Publisher(
        settings.event_bus_name,
        settings.event_source,
        client("events"),
        failure_queue_url=settings.publish_failure_queue_url,
        sqs_client=client("sqs") if settings.publish_failure_queue_url else None,
        park_after_seconds=settings.publish_park_after_seconds,
    )
