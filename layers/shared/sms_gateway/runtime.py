"""The composition root: builds the services once per process, from the settings and accounts.

Handlers call these; tests build the services directly with their own store and registry.

Every import is inside the function that needs it: each handler imports this module, and pays at
cold start only for what its own path builds (publish needs neither accounts nor vendors).
"""

# ruff: noqa: PLC0415 - the imports are placed in the functions on purpose (see above)

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

from sms_gateway.settings import get_settings

if TYPE_CHECKING:
    from sms_gateway.accounts import Account, AccountRegistry, AccountsDocument
    from sms_gateway.http import VendorHttp
    from sms_gateway.sending.route import Router
    from sms_gateway.store import Store
    from sms_gateway.vendors.base import VendorAdapter


@cache
def store() -> Store:
    from sms_gateway.store import Store

    settings = get_settings()
    return Store(
        settings.table_name, settings.record_retention_days, write_threads=settings.store_write_threads
    )


@cache
def vendor_http() -> VendorHttp:
    from sms_gateway.http import VendorHttp

    settings = get_settings()
    return VendorHttp(settings.http_connect_timeout_seconds, settings.http_read_timeout_seconds)


def adapter_factory(db: Store, http: VendorHttp):  # type: ignore[no-untyped-def]
    """Adapters are cheap; they share the process's HTTP session and the table's token cache."""
    from sms_gateway.tokens import TokenCache
    from sms_gateway.vendors import adapter_class

    def adapter_for(account: Account) -> VendorAdapter:
        return adapter_class(account.vendor)(account, http, TokenCache(db, account.name))

    return adapter_for


def registry() -> AccountRegistry:
    from sms_gateway.accounts import load_registry

    return load_registry()


def send_service():  # type: ignore[no-untyped-def]
    from sms_gateway.sending import SendService, requeue_with_delay

    settings = get_settings()
    if not settings.send_queue_url:
        from sms_gateway.errors import ConfigurationError

        raise ConfigurationError("SEND_QUEUE_URL is not set")
    return SendService(
        store(),
        registry(),
        adapter_factory(store(), vendor_http()),
        requeue_with_delay(settings.send_queue_url),
        settings.send_time_reserve_seconds,
        router=router(registry().document, settings.table_name),
    )


def delivery_window() -> Callable[[str, bool], None] | None:
    """Counts final reports per account, only when ROUTING_DELIVERY_RATE_THRESHOLD is set."""
    from sms_gateway.routing.health import HealthReader
    from sms_gateway.routing.settings import get_routing_settings

    routing = get_routing_settings()
    if routing.delivery_rate_threshold <= 0:
        return None
    return HealthReader(get_settings().table_name, routing).record_final


def router(document: AccountsDocument, table: str) -> Router:
    """Routes and health (issue 13); the breaker only watches accounts of a document with routes:
    a request to its one account has nowhere else to go."""
    from sms_gateway.routing.health import Breaker, HealthReader
    from sms_gateway.routing.settings import get_routing_settings
    from sms_gateway.sending.route import Router

    if not document.routes:
        return Router(document)
    routing = get_routing_settings()
    return Router(
        document,
        breaker=Breaker(table, routing),
        health=HealthReader(table, routing),
        count_unknown=routing.breaker_count_unknown,
    )


def push_service():  # type: ignore[no-untyped-def]
    from sms_gateway.ingest import PushService

    return PushService(
        store(), registry(), adapter_factory(store(), vendor_http()), on_final=delivery_window()
    )


def poll_service():  # type: ignore[no-untyped-def]
    from sms_gateway.polling import PollService

    return PollService(
        store(), registry(), adapter_factory(store(), vendor_http()), on_final=delivery_window()
    )


@cache
def publisher():  # type: ignore[no-untyped-def]
    from sms_gateway.aws import client
    from sms_gateway.errors import ConfigurationError
    from sms_gateway.publishing import Publisher

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
