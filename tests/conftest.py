import os

# Before any boto3 client exists: never reach a real AWS account from tests.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "sms-gateway",
        "POWERTOOLS_METRICS_NAMESPACE": "SmsGatewayTest",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)

import contextlib
from collections.abc import Iterator

import pytest
from moto import mock_aws

from local_runner import dynamodb_local
from tests.support.aws import AwsEnv
from tests.support.callback_bridge import CallbackBridge
from tests.support.iam import use_roles
from tests.support.vendor_server import VendorServer


def pytest_configure(config: pytest.Config) -> None:
    # Every test fails when its logs show a full phone number or a credential (issue 9.4).
    from tests.support.log_scan import plugin

    config.pluginmanager.register(plugin(), "log-scan")


@pytest.fixture(scope="session")
def dynamodb_endpoint() -> str | None:
    """DynamoDB Local, one JVM per test process (xdist worker), or None: moto's DynamoDB."""
    return dynamodb_local.shared()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, dynamodb_endpoint: str | None) -> Iterator[AwsEnv]:
    if dynamodb_endpoint:
        # boto3 sends DynamoDB and its streams there; moto passes requests it does not serve.
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_endpoint)
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", dynamodb_endpoint)
    # Each test is a cold start: AwsEnv installs a composition root of the test's own.
    with mock_aws(), contextlib.ExitStack() as stack:
        env = AwsEnv(monkeypatch, stack)
        try:
            yield env
        finally:
            use_roles(None)
            env.close()


@pytest.fixture
def vendor() -> Iterator[VendorServer]:
    server = VendorServer().start()
    yield server
    server.stop()


@pytest.fixture
def callbacks(aws: AwsEnv) -> Iterator[CallbackBridge]:
    bridge = CallbackBridge().start()
    yield bridge
    bridge.stop()
