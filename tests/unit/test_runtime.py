"""The composition root: one runtime per process, each part built once, handlers served by the
installed one."""

from __future__ import annotations

import pytest

from sms_gateway import runtime
from sms_gateway.accounts import Account
from sms_gateway.errors import ConfigurationError
from sms_gateway.runtime import Runtime
from sms_gateway.settings import Settings

pytestmark = pytest.mark.unit

ACCOUNT = Account(
    name="cn-paasw",
    vendor="paasw_v1",
    base_url="http://127.0.0.1:9",
    credentials={"app_id": "app-1", "secret": "runtime-test-secret"},
)


def test_parts_are_built_once_and_shared() -> None:
    # Given a runtime
    rt = Runtime(Settings(table_name="t", http_read_timeout_seconds=4.0))
    # When its parts are asked for twice, and two adapters are built
    first, second = rt.adapter_for(ACCOUNT), rt.adapter_for(ACCOUNT)
    # Then each part is one object, built from the settings, which the adapters share
    assert rt.store is rt.store and rt.http is rt.http
    assert rt.store.table.name == "t"
    assert first is not second
    assert first.http is second.http is rt.http


def test_services_refuse_a_missing_setting_with_its_name() -> None:
    # Given a runtime without a queue or a bus
    rt = Runtime(Settings(table_name="t"))
    # When the send service or the publisher is asked for
    # Then each is a configuration error naming the variable
    with pytest.raises(ConfigurationError, match="SEND_QUEUE_URL"):
        rt.send_service()
    with pytest.raises(ConfigurationError, match="EVENT_BUS_NAME"):
        _ = rt.publisher


def test_current_is_built_once_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the environment of a function, and no runtime yet
    monkeypatch.setenv("TABLE_NAME", "from-env")
    monkeypatch.setattr(runtime, "_current", None)
    # When handlers ask for the runtime twice
    # Then it is one runtime, with the environment's settings
    assert runtime.current() is runtime.current()
    assert runtime.current().settings.table_name == "from-env"


def test_an_invalid_environment_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TABLE_NAME", raising=False)
    monkeypatch.setattr(runtime, "_current", None)
    with pytest.raises(ConfigurationError, match="invalid environment"):
        runtime.current()


def test_use_installs_a_runtime_for_the_block_only() -> None:
    # Given the process's runtime
    outer = Runtime(Settings(table_name="outer"))
    with runtime.use(outer):
        # When a test installs its own inside
        inner = Runtime(Settings(table_name="inner"))
        with runtime.use(inner):
            # Then handlers get it there, and the previous one after the block
            assert runtime.current() is inner
        assert runtime.current() is outer
