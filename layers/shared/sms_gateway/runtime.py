"""The composition root: one `Runtime` per process holds the settings and builds the store, the
HTTP client, the accounts registry, the adapters and the services, each at its first use.

Handlers call `current()`, which builds the process's runtime on the first invocation, as Lambda
keeps module state warm between invocations. Tests build their own runtime and install it with
`use()`, so each test starts cold without reaching into module caches.

Every import of a part is inside the member that builds it: each handler imports this module and
pays at cold start only for what its own path builds (publish needs neither accounts nor vendors,
and callback and publish never import requests).
"""

# ruff: noqa: PLC0415 - the imports are placed in the members on purpose (see above)

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sms_gateway.settings import Settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    from sms_gateway.accounts import Account, AccountRegistry, AccountsDocument
    from sms_gateway.http import VendorHttp
    from sms_gateway.ingest import PushService
    from sms_gateway.polling import PollService
    from sms_gateway.protection.screen import Screen
    from sms_gateway.publishing import Publisher
    from sms_gateway.routing.settings import RoutingSettings
    from sms_gateway.sending import SendService
    from sms_gateway.sending.route import Router
    from sms_gateway.status.counters import OutcomeCounters
    from sms_gateway.status.reader import StatusReader
    from sms_gateway.store.facade import Store
    from sms_gateway.vendors.base import VendorAdapter


class Runtime:
    """Everything a process builds once. Each part is created at first use and then shared."""

    def __init__(self, settings: Settings, clients: Callable[[str], Any] | None = None) -> None:
        """``clients`` makes a boto3 client for a service name (sms_gateway.aws.new_client)."""
        self.settings = settings
        self._new_client = clients
        self._clients: dict[str, Any] = {}
        # Vendor access tokens of this process, shared by every adapter of every account.
        self._tokens: dict[str, tuple[str, int]] = {}
        # The accounts document as Powertools last returned it, and its parse: a document is
        # validated once per fetch, not once per invocation.
        self._accounts: tuple[Any, AccountRegistry] | None = None

    @classmethod
    def from_environment(cls, clients: Callable[[str], Any] | None = None) -> Runtime:
        return cls(Settings.from_environment(), clients)

    def client(self, service: str) -> Any:
        """This runtime's boto3 client for ``service`` (boto3's clients are typed per service only
        through stubs the Lambda layer does not ship, hence Any)."""
        if service not in self._clients:
            from sms_gateway.aws import new_client

            self._clients[service] = (self._new_client or new_client)(service)
        return self._clients[service]

    # ------------------------------------------------------------------ shared parts
    @cached_property
    def store(self) -> Store:
        from sms_gateway.store.facade import Store

        s = self.settings
        return Store(
            s.table_name,
            s.record_retention_days,
            self.client("dynamodb"),
            write_threads=s.store_write_threads,
        )

    @cached_property
    def http(self) -> VendorHttp:
        from sms_gateway.http import VendorHttp

        return VendorHttp(self.settings.http_connect_timeout_seconds, self.settings.http_read_timeout_seconds)

    @cached_property
    def _parameters(self) -> SSMProvider:
        from aws_lambda_powertools.utilities.parameters import SSMProvider

        return SSMProvider(boto3_client=self.client("ssm"))

    def registry(self) -> AccountRegistry:
        """The accounts from SSM, cached for ACCOUNTS_CACHE_SECONDS (Powertools Parameters): a
        changed document is picked up without a cold start."""
        from aws_lambda_powertools.utilities.parameters.exceptions import (
            GetParameterError,
            TransformParameterError,
        )

        from sms_gateway.accounts import AccountRegistry
        from sms_gateway.errors import ConfigurationError

        name = self.settings.accounts_parameter_name
        try:
            raw = self._parameters.get(
                name, decrypt=True, transform="json", max_age=self.settings.accounts_cache_seconds
            )
        except TransformParameterError as exc:
            raise ConfigurationError("accounts document is not valid JSON") from exc
        except GetParameterError as exc:
            raise ConfigurationError(f"cannot read {name}: {exc}") from exc
        if self._accounts is None or self._accounts[0] is not raw:
            self._accounts = (raw, AccountRegistry.parse(raw))
        return self._accounts[1]

    def adapter_for(self, account: Account) -> VendorAdapter:
        """Adapters are cheap; they share the process's HTTP session and token cache."""
        from sms_gateway.tokens import TokenCache
        from sms_gateway.vendors.base import adapter_class

        tokens = TokenCache(self.store, account.name, account.vendor, memory=self._tokens)
        return adapter_class(account.vendor)(account, self.http, tokens)

    # ------------------------------------------------------------------ services
    # Built per invocation: each reads the accounts registry as it is now.
    def send_service(self) -> SendService:
        from sms_gateway.errors import ConfigurationError
        from sms_gateway.sending import SendService, requeue_with_delay

        s = self.settings
        if not s.send_queue_url:
            raise ConfigurationError("SEND_QUEUE_URL is not set")
        return SendService(
            self.store,
            self.registry(),
            self.adapter_for,
            requeue_with_delay(s.send_queue_url),
            s.send_time_reserve_seconds,
            guard=self.protection_guard(),
            router=self.router(self.registry().document),
        )

    @cached_property
    def routing_settings(self) -> RoutingSettings:
        from sms_gateway.routing.settings import RoutingSettings

        return RoutingSettings.from_environment()

    def router(self, document: AccountsDocument) -> Router:
        """Routes and health (issue 13); the breaker only watches accounts of a document with
        routes: a request to its one account has nowhere else to go."""
        from sms_gateway.routing.health import Breaker, HealthReader
        from sms_gateway.sending.route import Router

        if not document.routes:
            return Router(document)
        routing, table, db = self.routing_settings, self.settings.table_name, self.client("dynamodb")
        return Router(
            document,
            breaker=Breaker(table, routing, db),
            health=HealthReader(table, routing, db),
            count_unknown=routing.breaker_count_unknown,
        )

    def delivery_window(self) -> Callable[[str, bool], None] | None:
        """Counts final reports per account, only when ROUTING_DELIVERY_RATE_THRESHOLD is set."""
        from sms_gateway.routing.health import HealthReader

        routing = self.routing_settings
        if routing.delivery_rate_threshold <= 0:
            return None
        return HealthReader(self.settings.table_name, routing, self.client("dynamodb")).record_final

    def protection_guard(self) -> Screen:
        """The send path's screening step (issue 14), over the accounts document as it is now."""
        from sms_gateway.protection.screen import Screen, route_settings

        return Screen(self.store.table, route_settings(self.registry()))

    def push_service(self) -> PushService:
        from sms_gateway.ingest import PushService

        return PushService(self.store, self.registry(), self.adapter_for, on_final=self.delivery_window())

    def poll_service(self) -> PollService:
        from sms_gateway.polling import PollService

        return PollService(self.store, self.registry(), self.adapter_for, on_final=self.delivery_window())

    def status_reader(self) -> StatusReader:
        """The status API's reader; it reads the accounts registry as it is now."""
        from sms_gateway.status.reader import StatusReader

        return StatusReader(self.settings.table_name, self.client("dynamodb"), self.registry)

    @cached_property
    def outcome_counters(self) -> OutcomeCounters:
        from sms_gateway.status.counters import OutcomeCounters

        return OutcomeCounters(self.settings.table_name, self.client("dynamodb"))

    @cached_property
    def publisher(self) -> Publisher:
        from sms_gateway.errors import ConfigurationError
        from sms_gateway.publishing import Publisher

        s = self.settings
        if not s.event_bus_name:
            raise ConfigurationError("EVENT_BUS_NAME is not set")
        return Publisher(
            s.event_bus_name,
            s.event_source,
            self.client("events"),
            failure_queue_url=s.publish_failure_queue_url,
            sqs_client=self.client("sqs") if s.publish_failure_queue_url else None,
            park_after_seconds=s.publish_park_after_seconds,
        )


_current: Runtime | None = None
_lock = threading.Lock()


def current() -> Runtime:
    """The process's runtime, built from the environment at the first call."""
    global _current  # noqa: PLW0603 - the one per-process cache of the package
    with _lock:
        if _current is None:
            _current = Runtime.from_environment()
        return _current


@contextmanager
def use(runtime: Runtime) -> Iterator[Runtime]:
    """Handlers see ``runtime`` inside the block (a test's own composition root)."""
    global _current  # noqa: PLW0603
    with _lock:
        previous, _current = _current, runtime
    try:
        yield runtime
    finally:
        with _lock:
            _current = previous
