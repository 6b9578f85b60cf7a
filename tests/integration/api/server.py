"""A real uvicorn server on a free port, started and stopped by a test."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from fastapi import FastAPI

from chartkeeper.api import create_app
from chartkeeper.config import Settings
from chartkeeper.security.ports import AuditSink
from chartkeeper.store.repository import Store

from .conftest import TokenAuthenticator


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(store: Store, audit: AuditSink) -> Iterator[str]:
    """Serve the API app on 127.0.0.1:<free port> in a thread; yield the FHIR base URL."""
    app = create_app(
        Settings(database_url="unused"), store=store, authenticator=TokenAuthenticator(), audit=audit
    )
    with serving(app) as base:
        yield f"{base}/fhir"


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1:<free port> in a thread; yield its base URL."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(500):  # wait until it answers (started, not timed)
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                threading.Event().wait(0.01)
        yield base
    finally:
        server.should_exit = True
        thread.join()
