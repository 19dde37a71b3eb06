"""The embedded AWS: moto's server mode on 127.0.0.1, inside the runner's process.

Why it exists: the functions reach AWS through boto3, and boto3 honours AWS_ENDPOINT_URL, so one
moto server answers every service the template uses (CloudFormation, Lambda, SQS, DynamoDB and
its streams, EventBridge, SSM, S3, IAM) without Docker or an account. Running it in-process
also lets the stack step reach moto's backends where its API is not enough (see stack.py).

Two adjustments to moto's ``ThreadedMotoServer``: a port that cannot be bound is an error
here, not a server thread that dies while ``start()`` waits forever; and its app is wrapped
in moto_dynamodb.py's middleware (DynamoDB served one request at a time, cheap transaction
rollback, bounded stream iterators).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import boto3
from botocore.config import Config
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

from local_runner.moto_dynamodb import OneDynamoDBRequestAtATime

# What every client of the embedded AWS signs with. moto accepts anything; these are the
# values moto's own documentation uses, and they can never reach a real account.
DYNAMODB_SERVICES = ("dynamodb", "dynamodbstreams")
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


class _MotoServer(ThreadedMotoServer):
    def __init__(self, ip_address: str, port: int) -> None:
        super().__init__(ip_address=ip_address, port=port, verbose=False)
        self.startup_error: BaseException | None = None

    def _server_entry(self) -> None:
        try:
            app = OneDynamoDBRequestAtATime(DomainDispatcherApplication(create_backend_app))
            self._server = make_server(
                self._ip_address, self._port, app, threaded=True, request_handler=MotoRequestHandler
            )
        except BaseException as exc:  # the port is taken, most likely
            self.startup_error = exc
            self._server_ready_event.set()
            return
        self._server_ready_event.set()
        self._server.serve_forever()


class EmbeddedAws:
    """moto on 127.0.0.1:port (0 picks a free port), with clients already pointed at it."""

    def __init__(self, port: int = 0, region: str = "us-east-1") -> None:
        self.region = region
        self._requested_port = port
        self._server: _MotoServer | None = None
        self.endpoint = ""
        self.port = 0
        self._session = boto3.Session(
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
            region_name=region,
        )
        self._config = Config(retries={"mode": "standard", "max_attempts": 3}, read_timeout=70)
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        # DynamoDB Local's endpoint when it serves the tables and streams instead of moto.
        self.dynamodb_endpoint: str | None = None

    def use_dynamodb(self, endpoint: str) -> None:
        """Serve DynamoDB and its streams from ``endpoint`` (DynamoDB Local) from now on."""
        with self._clients_lock:
            self.dynamodb_endpoint = endpoint
            for service in DYNAMODB_SERVICES:
                self._clients.pop(service, None)

    def moto_client(self, service: str) -> Any:
        """A client of moto itself, whatever serves that service to the functions."""
        return self._session.client(service, endpoint_url=self.endpoint, config=self._config)  # type: ignore[call-overload]

    def endpoint_of(self, service: str) -> str:
        if self.dynamodb_endpoint and service in DYNAMODB_SERVICES:
            return self.dynamodb_endpoint
        return self.endpoint

    def start(self) -> EmbeddedAws:
        # Every request would be logged by werkzeug; the runner logs what matters itself.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        server = _MotoServer("127.0.0.1", self._requested_port)
        server.start()
        if server.startup_error is not None:
            raise RuntimeError(
                f"cannot start the embedded AWS on 127.0.0.1:{self._requested_port}: {server.startup_error}"
            ) from server.startup_error
        self._server = server
        _, self.port = server.get_host_and_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        return self

    def client(self, service: str) -> Any:
        """A shared boto3 client for the runner's own calls (botocore clients are thread-safe)."""
        with self._clients_lock:
            if service not in self._clients:
                self._clients[service] = self._session.client(  # type: ignore[call-overload]
                    service, endpoint_url=self.endpoint_of(service), config=self._config
                )
            return self._clients[service]

    def new_client(self, service: str, **config: Any) -> Any:
        """A client of its own, e.g. for a thread that long-polls with its own read timeout."""
        return self._session.client(  # type: ignore[call-overload]
            service, endpoint_url=self.endpoint_of(service), config=self._config.merge(Config(**config))
        )

    @property
    def session(self) -> boto3.Session:
        return self._session

    @property
    def account_id(self) -> str:
        return str(self.client("sts").get_caller_identity()["Account"])

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
