"""Reads served on the event loop (a database on this host) or in the thread pool, with the
production audit trail's group commit: every read's AuditEvent is committed before its
response, concurrent reads share transactions, and a read whose audit cannot be written is
not served."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from chartkeeper.api import create_app
from chartkeeper.config import Settings
from chartkeeper.security.audit import AuditTrail
from chartkeeper.security.audit_batch import QUIET_AFTER_S, GroupCommitAuditTrail
from chartkeeper.store.engine import database_is_local
from chartkeeper.store.repository import Store

from .conftest import TokenAuthenticator, auth
from .helpers import patient


class _FailingTrail(AuditTrail):
    """Commits nothing once ``broken`` is set, as a full disk would."""

    broken = False

    def append_locked(self, conn: Any, head: Any, prepared: Any) -> None:
        super().append_locked(conn, head, prepared)
        if self.broken:
            raise RuntimeError("disk full")


def _app(store: Store, trail: AuditTrail, inline_reads: str = "auto") -> tuple[Any, GroupCommitAuditTrail]:
    group = GroupCommitAuditTrail(trail)
    settings = Settings(database_url="unused", inline_reads=inline_reads)
    return create_app(settings, store=store, authenticator=TokenAuthenticator(), audit=group), group


def _audited_reads(store: Store) -> list[dict[str, Any]]:
    events = [v.content for v in store.iter_current("AuditEvent")]
    return [e for e in events if e and e["subtype"][0]["code"] in ("read", "vread")]


async def _get_all(app: Any, paths: list[str]) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=auth()) as client:
        return list(await asyncio.gather(*(client.get(path) for path in paths)))


def _put(app: Any, *resources: dict[str, Any]) -> None:
    async def put_all() -> None:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=auth()) as client:
            for body in resources:
                response = await client.put(f"/fhir/Patient/{body['id']}", json=body)
                assert response.status_code == 201, response.text

    asyncio.run(put_all())


def test_the_inline_choice_follows_the_setting_and_where_the_database_is(store: Store) -> None:
    app, group = _app(store, AuditTrail(store))
    assert app.state.inline_calls is True  # SQLite, and the tests' PostgreSQL on 127.0.0.1
    assert app.state.deferring_audit is group
    assert _app(store, AuditTrail(store), "off")[0].state.inline_calls is False
    assert _app(store, AuditTrail(store), "on")[0].state.inline_calls is True


def test_a_database_is_local_on_loopback_or_a_socket_only() -> None:
    from sqlalchemy import create_engine

    def local(url: str) -> bool:
        return database_is_local(create_engine(url))

    assert local("sqlite:///x.db")
    assert local("postgresql+psycopg://u@127.0.0.1:5432/db") and local("postgresql+psycopg://u@localhost/db")
    assert local("postgresql+psycopg:///db") and local("postgresql+psycopg:///db?host=/var/run/postgresql")
    assert local("postgresql+psycopg://u@[::1]/db")
    assert not local("postgresql+psycopg://u@db.hospital.example/db")
    assert not local("postgresql+psycopg://u@10.0.0.7:5432/db")


def test_lone_reads_on_postgresql_are_audited_by_the_event_loop_itself(store: Store) -> None:
    """With inline reads on PostgreSQL, a read the process serves alone has its AuditEvent
    committed on the event loop (no thread hand-off); not on SQLite (a commit there may run
    a WAL checkpoint), nor with inline reads off."""
    app, group = _app(store, AuditTrail(store))
    _put(app, patient(id="lone"))
    time.sleep(QUIET_AFTER_S * 2)  # the writer thread's last batch (if any) is behind us
    on_loop = group.written_on_loop
    for _ in range(3):  # one at a time
        (response,) = asyncio.run(_get_all(app, ["/fhir/Patient/lone"]))
        assert response.status_code == 200
    if store.dialect == "postgresql":
        assert group.quiet is not None and group.written_on_loop - on_loop == 3
    else:
        assert group.quiet is None and group.written_on_loop == 0
    off_app, off_group = _app(store, AuditTrail(store), "off")
    (response,) = asyncio.run(_get_all(off_app, ["/fhir/Patient/lone"]))
    assert response.status_code == 200 and off_group.quiet is None and off_group.written_on_loop == 0
    group.close()
    off_group.close()
    assert len(_audited_reads(store)) == 4 and group.verify_chain().ok


@pytest.mark.parametrize("inline_reads", ["auto", "off"])
def test_concurrent_reads_are_each_audited_before_their_response(store: Store, inline_reads: str) -> None:
    app, group = _app(store, AuditTrail(store), inline_reads)
    _put(app, *(patient(id=f"r{n}") for n in range(6)))
    before = group.batches
    paths = [f"/fhir/Patient/r{n % 6}" for n in range(30)] + ["/fhir/Patient/nobody"]
    paths += ["/fhir/Patient/r1/_history/1"]
    responses = asyncio.run(_get_all(app, paths))
    group.close()
    assert [r.status_code for r in responses] == [200] * 30 + [404, 200]
    assert [r.json()["id"] for r in responses[:30]] == [f"r{n % 6}" for n in range(30)]
    reads = _audited_reads(store)
    assert len(reads) == 32
    assert sum(e["outcome"] == "0" for e in reads) == 31  # the 404 is audited as a failure
    report = group.verify_chain()
    assert report.ok and report.records == 32 + 6, report.problems  # and the six updates
    assert 1 <= group.batches - before <= 32


@pytest.mark.parametrize("inline_reads", ["auto", "off"])
def test_a_read_whose_audit_cannot_be_committed_is_not_served(store: Store, inline_reads: str) -> None:
    trail = _FailingTrail(store)
    app, group = _app(store, trail, inline_reads)
    _put(app, patient(id="secret", name=[{"family": "Hidden"}]))
    trail.broken = True
    responses = asyncio.run(_get_all(app, ["/fhir/Patient/secret", "/fhir/Patient/secret/_history/1"]))
    for response in responses:
        assert response.status_code == 500
        assert response.json()["resourceType"] == "OperationOutcome"
        assert "Hidden" not in response.text and "disk full" not in response.text
    assert _audited_reads(store) == []
    trail.broken = False  # the trail recovers: the next read is served and audited
    (response,) = asyncio.run(_get_all(app, ["/fhir/Patient/secret"]))
    group.close()
    assert response.status_code == 200 and len(_audited_reads(store)) == 1
