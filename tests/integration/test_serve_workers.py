"""Several server processes on one database: the hash-chained audit trail stays one unbroken
chain (each process group-commits, the database serializes the appenders), on SQLite and
PostgreSQL; and ``chartkeeper serve --workers 2`` serves, audits and verifies."""

from __future__ import annotations

import multiprocessing
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from chartkeeper.security.audit import AuditTrail
from chartkeeper.security.audit_batch import GroupCommitAuditTrail
from chartkeeper.security.caller import Caller
from chartkeeper.security.ports import AccessEvent
from chartkeeper.security.scopes import ScopeSet
from chartkeeper.security.service import SecurityService
from chartkeeper.store.repository import Store

PER_THREAD = 15
THREADS = 4


def _appender(url: str, name: str) -> None:
    """One server process: several request threads recording through group commit."""
    store = Store.open(url)
    trail = GroupCommitAuditTrail(AuditTrail(store))
    who = Caller(f"client/{name}", "client", name, ScopeSet(), source_address="127.0.0.1")

    def requests(k: int) -> None:
        for i in range(PER_THREAD):
            trail.record(AccessEvent(who, "read", "success", (f"Observation/{name}-{k}-{i}",), ("p1",)))

    threads = [threading.Thread(target=requests, args=(k,)) for k in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.close()


def test_processes_appending_at_once_keep_one_chain(store: Store, database_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=_appender, args=(database_url, f"w{n}")) for n in range(3)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=300)
        assert proc.exitcode == 0
    report = AuditTrail(store).verify_chain()
    assert report.ok, report.problems
    assert report.records == 3 * THREADS * PER_THREAD


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_serving(base: str) -> None:
    for _ in range(600):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"no server answered at {base}")


def _client_headers(base: str, client: str, secret: str) -> dict[str, str]:
    """A bearer token from the running server's token endpoint (client credentials)."""
    form = {"grant_type": "client_credentials", "client_id": client, "client_secret": secret}
    token = httpx.post(f"{base}/auth/token", data=form).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_serve_with_two_workers(sqlite_database_url: str, tmp_path: Path) -> None:
    store = Store.open(sqlite_database_url)
    store.init()
    security = SecurityService(store)
    security.initialize()
    secret = security.accounts.add_client("feed", "system/Patient.rs")
    port = _free_port()
    exe = Path(sys.executable).with_name("chartkeeper")
    env = {**os.environ, "CHARTKEEPER_EXPORT_DIR": str(tmp_path / "exports")}
    cmd = [
        str(exe),
        "--db",
        sqlite_database_url,
        "serve",
        "--port",
        str(port),
        "--workers",
        "2",
        "--access-log",
    ]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(base)
        headers = _client_headers(base, "feed", secret)
        statuses: list[int] = []

        def hammer() -> None:
            with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
                for _ in range(25):
                    statuses.append(client.get("/fhir/Patient/nobody").status_code)
            for _ in range(10):  # a new connection each time: the kernel spreads them over both
                statuses.append(httpx.get(f"{base}/fhir/Patient?name=x", headers=headers).status_code)

        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [200] * 40 + [404] * 100
        assert httpx.get(f"{base}/fhir/Patient", headers={"Authorization": "Bearer bad"}).status_code == 401
    finally:
        server.terminate()
        output = server.communicate(timeout=60)[0].decode()
    assert "2 worker(s)" in output, output
    assert output.count("Started server process") >= 2, output
    # --access-log: the workers log each request by its route; uvicorn's own access log, which
    # prints the request line with ids and query (patient data), stays off
    assert output.count("GET /fhir/{res_type}/{res_id} 404") == 100, output
    assert output.count("GET /fhir/{res_type} 200") == 40, output
    assert "nobody" not in output and "name=x" not in output, output
    report = AuditTrail(store).verify_chain()
    assert report.ok, report.problems
    assert report.records >= 100 + 40 + 2  # reads, searches, the token and the refused token
    store.close()


@pytest.mark.postgres
def test_the_cli_disables_a_client_of_two_running_server_processes(
    pg_database_url: str, tmp_path: Path
) -> None:
    """`chartkeeper clients disable` in a shell: both workers of `serve --workers 2` refuse the
    client's still-valid token from the next request on, on every new connection (the kernel
    spreads them over the two processes); on PostgreSQL each worker keeps a copy of the
    account that only a change notice drops (ADR 0027)."""
    store = Store.open(pg_database_url)
    store.init()
    security = SecurityService(store)
    security.initialize()
    secret = security.accounts.add_client("feed", "system/Patient.rs")
    store.close()
    exe = Path(sys.executable).with_name("chartkeeper")
    env = {**os.environ, "CHARTKEEPER_EXPORT_DIR": str(tmp_path / "exports")}
    port = _free_port()
    serve = [str(exe), "--db", pg_database_url, "serve", "--port", str(port), "--workers", "2"]
    server = subprocess.Popen(serve, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(base)
        headers = _client_headers(base, "feed", secret)

        def statuses(n: int) -> set[int]:  # a new connection each time
            return {httpx.get(f"{base}/fhir/Patient", headers=headers).status_code for _ in range(n)}

        assert statuses(20) == {200}
        disable = [str(exe), "--db", pg_database_url, "clients", "disable", "feed"]
        subprocess.run(disable, check=True, capture_output=True, env=env)
        deadline = time.monotonic() + 5
        while statuses(1) != {401}:
            assert time.monotonic() < deadline, "a worker still accepts the disabled client's token"
        assert statuses(20) == {401}
    finally:
        server.terminate()
        server.wait(timeout=60)


def test_the_shared_listener_gives_sockets_asyncio_sets_nodelay_on() -> None:
    """uvicorn's own shared socket has proto 0, so accepted keep-alive connections kept Nagle
    on and every request after the first waited ~40 ms for a delayed ACK."""
    import socket as sockets

    from chartkeeper.cli.main import _tcp_listener

    listener = _tcp_listener("127.0.0.1", 0, shared=True)
    try:
        listener.listen()
        client = sockets.create_connection(listener.getsockname())
        accepted, _ = listener.accept()
        assert accepted.proto == sockets.IPPROTO_TCP
        accepted.close()
        client.close()
    finally:
        listener.close()
