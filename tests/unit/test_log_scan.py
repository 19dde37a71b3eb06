"""The suite's log scan (tests/support/log_scan.py) fails a test that leaks, and only that test."""

import pytest

from tests.support.log_scan import Scanner, secrets_in_json, secrets_in_python

pytestmark = pytest.mark.unit

pytest_plugins = ["pytester"]

LEAKY_SUITE = """
import logging
import sys

from local_runner import testing


def test_clean():
    print("sent to 138****8000 at 2026-11-23 12:00:03, id 4C2CA88382720003")
    logging.getLogger("sms_gateway.x").warning("masked +86*******8000")


def test_prints_a_number():
    print({"mobile": "13800138000"})


def test_logs_an_e164_number_through_a_library_logger():
    logging.getLogger("botocore.x").warning("retrying for %s", "+447911123456")


def test_writes_a_secret_to_stderr():
    print("password=pw-Scan-Me-7", file=sys.stderr)


def test_a_runner_subprocess_logs_a_foreign_number_without_plus():
    for tap in testing.OUTPUT_TAPS:
        tap("PollReportsFunction {\\"mobile\\": \\"447911123456\\"}")


def test_the_simulators_are_the_vendor_side():
    logging.getLogger("simulators.action_v1").warning("push to 13800138000")
"""


@pytest.mark.leaks_on_purpose
def test_each_leaking_test_fails_with_the_leak_masked(pytester: pytest.Pytester) -> None:
    # Given a suite with the scan registered, knowing one secret and one foreign number
    pytester.makeconftest(
        """
from tests.support.log_scan import LogScan, Scanner

def pytest_configure(config):
    config.pluginmanager.register(LogScan(Scanner({"pw-Scan-Me-7"}, {"447911123456"})), "log-scan")
"""
    )
    pytester.makepyfile(test_leaky=LEAKY_SUITE)
    # When it runs
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    # Then exactly the four leaking tests fail, each naming what leaked, masked
    result.assert_outcomes(passed=2, failed=4)
    output = result.stdout.str()
    for name in (
        "test_prints_a_number",
        "test_logs_an_e164_number_through_a_library_logger",
        "test_writes_a_secret_to_stderr",
        "test_a_runner_subprocess_logs_a_foreign_number_without_plus",
    ):
        assert f"FAILED test_leaky.py::{name}" in output
    assert "number 138****8000" in output and "number +44******3456" in output
    assert "secret pw-*****Me-7" in output and "number 447*****3456" in output
    reasons = [line for line in output.splitlines() if line.startswith("log scan:")]
    assert len(reasons) == 4 and not any("13800138000" in line or "pw-Scan-Me-7" in line for line in reasons)


def test_a_masked_number_ids_and_timestamps_are_not_leaks() -> None:
    scanner = Scanner({"s3cret-pass"})
    assert scanner.leaks("138****8000 +86*******8000 20261123120003 4C2CA88382720003 1764633600123") == []
    assert scanner.leaks("app_s3cret-password") == []  # part of a longer word
    assert scanner.leaks("password=s3cret-pass&x") == ["secret s3c****pass"]


def test_the_secrets_are_read_from_the_account_documents_of_the_tests() -> None:
    source = """
SECRET = "top-secret-1"
APP_ID = "id-1234567"
def account():
    return {"credentials": {"app_id": APP_ID, "secret": SECRET}, "callback_token": "cb-0123456789abcdef"}
Account(name="x", credentials={"account": "acct-42", "password": "p"})
"""
    assert secrets_in_python(source) == {"top-secret-1", "id-1234567", "cb-0123456789abcdef", "acct-42"}
    document = {"accounts": [{"credentials": {"app_key": "k-123456", "app_secret": "s"}, "name": "a"}]}
    assert secrets_in_json(document) == {"k-123456"}
