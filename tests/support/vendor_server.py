"""A stand-in vendor: the shared HTTP stub, which records every request and answers as a test
scripts it (``VendorServer(responder=...)``). Kept under this name for the tests that use it."""

from __future__ import annotations

from tests.support.http_stub import HttpStub, Received, Reply, Responder

VendorServer = HttpStub

__all__ = ["Received", "Reply", "Responder", "VendorServer"]
