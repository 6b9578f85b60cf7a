"""Short service calls on the event loop, when the database is the embedded SQLite file.

A plain ``def`` route costs two thread hand-offs per request (FastAPI's thread pool there and
back) and, with the audit trail's group commit, a third thread woken per AuditEvent. On
SQLite a read by id is a few hundred microseconds of work that never waits for a lock (WAL
readers do not), so it is cheaper to run it where the request already is. Its AuditEvent is
deferred to the trail's writer thread and awaited before the response goes out: still no
response before the access is committed, and none if the commit fails. On PostgreSQL every
statement is a network round trip, so the same calls keep running in the thread pool, their
AuditEvents deferred the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool

from chartkeeper.security.audit_batch import GroupCommitAuditTrail
from chartkeeper.security.ports import AuditSink
from chartkeeper.store.repository import Store

T = TypeVar("T")


def configure(app: FastAPI, store: Store, audit: AuditSink) -> None:
    """Decide once per app whether short calls run inline (embedded SQLite only)."""
    app.state.inline_calls = store.dialect == "sqlite"
    app.state.deferring_audit = audit if isinstance(audit, GroupCommitAuditTrail) else None


def runs_inline(request: Request) -> bool:
    return bool(getattr(request.app.state, "inline_calls", False))


async def run_short(request: Request, call: Callable[[], T]) -> T:
    """Run ``call`` (a short service call that audits through the app's sink) inline on
    SQLite, in the thread pool otherwise; either way its AuditEvents are committed by the
    trail's writer thread and awaited here, before this returns or raises (a pool thread does
    not sit waiting for the commit)."""
    audit: GroupCommitAuditTrail | None = request.app.state.deferring_audit
    inline = runs_inline(request)
    if audit is None:
        return call() if inline else await run_in_threadpool(call)
    with audit.deferring() as pending:
        try:
            return call() if inline else await run_in_threadpool(call)
        finally:  # a failed access too is on disk before its error goes out
            await audit.settle(pending)
