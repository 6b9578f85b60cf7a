"""Short service calls on the event loop, when the database is on this machine.

A plain ``def`` route costs two thread hand-offs per request (FastAPI's thread pool there and
back) and, with the audit trail's group commit, a third thread woken per AuditEvent. A read by
id and the token check are a few hundred microseconds of work: on SQLite they never wait for a
lock (WAL readers do not), and on a PostgreSQL server of the same host each of their one or
two statements is a loopback round trip of tens of microseconds, less than a thread hand-off
costs. So they run where the request already is. Their AuditEvent is deferred to the trail's
writer thread and awaited before the response goes out: still no response before the access
is committed, and none if the commit fails.

The price is that a statement the database is slow to answer holds the process's event loop
(its other requests wait meanwhile, as they would for the CPU): fine on the same host, not
across a network. So ``inline_reads = auto`` (``CHARTKEEPER_INLINE_READS``) runs them inline
for SQLite and for a PostgreSQL server reached over loopback or a Unix socket, and in the
thread pool for a remote one; ``on`` and ``off`` decide for any database. Measured on the
10,000-patient PostgreSQL benchmark, two server processes, same run: 472-499 reads/s in the
thread pool, 772-791 inline (ADR 0025, docs/PERFORMANCE.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from chartkeeper.security.audit_batch import GroupCommitAuditTrail
from chartkeeper.security.ports import AuditSink
from chartkeeper.store.engine import database_is_local
from chartkeeper.store.repository import Store

T = TypeVar("T")


def configure(app: FastAPI, store: Store, audit: AuditSink, setting: str = "auto") -> None:
    """Decide once per app whether short calls run inline (``setting``: auto, on or off).

    With inline calls on PostgreSQL, a lone AuditEvent is also committed on the event loop
    when the process is serving no other request (``RequestTally``; the trail's
    ``_lead_on_loop``, which takes the chain only if no other process holds it): a lone read
    then waits for no thread hand-off (ADR 0026: lone read p50 about 0.5 ms lower, sustained
    reads unchanged). Not on SQLite, whose commit may run a WAL checkpoint (tens of
    milliseconds) that would hold the loop."""
    app.state.inline_calls = setting == "on" or (setting == "auto" and database_is_local(store.engine))
    app.state.deferring_audit = audit if isinstance(audit, GroupCommitAuditTrail) else None
    if app.state.inline_calls and isinstance(audit, GroupCommitAuditTrail) and store.dialect == "postgresql":
        tally = RequestTally()
        app.add_middleware(CountRequests, tally=tally)
        audit.quiet = tally.alone


class RequestTally:
    """How many HTTP requests the process is serving now (event loop thread only)."""

    def __init__(self) -> None:
        self.serving = 0

    def alone(self) -> bool:
        """True while the request asking is the only one: no other has entered the app, and no
        other has been read off its connection and is waiting for the loop to start it.

        The second half matters under load on one process: a request served inline holds the
        loop until it answers, so the requests that arrived meanwhile are tasks the server has
        created but not yet started, which the middleware's count cannot see. Counting only
        the first half, every read of a busy single process committed its AuditEvent alone on
        the loop (658 to 999 reads/s at 16 connections, with 0.6 of a core busy)."""
        return self.serving <= 1 and not _requests_waiting()


def _requests_waiting() -> bool:
    """Another HTTP request task of this loop (uvicorn's ``run_asgi``, one per request) besides
    the current one: started or not yet."""
    current = asyncio.current_task()
    for task in asyncio.all_tasks():
        if task is not current and getattr(task.get_coro(), "__name__", "") == "run_asgi":
            return True
    return False


class CountRequests:
    """ASGI middleware keeping a ``RequestTally``."""

    def __init__(self, app: ASGIApp, tally: RequestTally) -> None:
        self.app = app
        self.tally = tally

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.tally.serving += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.tally.serving -= 1


def runs_inline(request: Request) -> bool:
    return bool(getattr(request.app.state, "inline_calls", False))


async def run_short(request: Request, call: Callable[[], T]) -> T:
    """Run ``call`` (a short service call that audits through the app's sink) inline when the
    app says so (``configure``), in the thread pool otherwise; either way its AuditEvents are
    committed by the trail's writer thread and awaited here, before this returns or raises (a
    pool thread does not sit waiting for the commit)."""
    audit: GroupCommitAuditTrail | None = request.app.state.deferring_audit
    inline = runs_inline(request)
    if audit is None:
        return call() if inline else await run_in_threadpool(call)
    with audit.deferring() as pending:
        try:
            return call() if inline else await run_in_threadpool(call)
        finally:  # a failed access too is on disk before its error goes out
            await audit.settle(pending)
