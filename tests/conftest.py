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

from collections.abc import Iterator

import pytest
from moto import mock_aws

from tests.support.aws import AwsEnv, reset_process_caches
from tests.support.callback_bridge import CallbackBridge
from tests.support.iam import use_roles
from tests.support.vendor_server import VendorServer


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsEnv]:
    with mock_aws():
        reset_process_caches()
        env = AwsEnv(monkeypatch)
        yield env
        use_roles(None)
        reset_process_caches()


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
