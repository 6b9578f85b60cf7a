"""Group commit for the audit trail: concurrent requests share one transaction.

Every read of patient data writes an AuditEvent, and on SQLite one audited record costs far
more in its commit (a dozen index pages rewritten) than in building it. So the first
request to arrive becomes the leader and writes every AuditEvent queued meanwhile in one
transaction; the others wait for that commit. Each ``record`` still returns only after its
own AuditEvent is committed (never respond before the access is on disk), and if the commit
fails every request of the batch gets the error, so nothing is served unaudited.

A shell that runs a short service call on its asyncio event loop (the API's reads on SQLite)
cannot wait in ``record``: that would block every other request of the process. Inside
``deferring()`` a ``record`` on the event loop's thread only queues its AuditEvent and a
writer thread of the trail commits it with whatever else is queued; the shell then awaits
``settle`` before it responds, so the rule is the same (no response before the commit, no
response if the commit fails) with one thread hand-off per batch instead of two per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from chartkeeper.security.audit import AuditTrail, ChainReport
from chartkeeper.security.ports import AccessEvent
from chartkeeper.store.models import ResourceWrite

#: At most this many AuditEvents per transaction, so one batch never holds the lock long.
MAX_BATCH = 256


@dataclass
class _Pending:
    audit: dict[str, Any]
    write: ResourceWrite
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    #: set for a deferred record: resolved on its event loop when the batch has committed
    future: asyncio.Future[None] | None = None


#: The records of the current deferring() block (None outside one).
_DEFERRED: ContextVar[list[_Pending] | None] = ContextVar("chartkeeper_deferred_audit", default=None)


class GroupCommitAuditTrail:
    """An AuditSink over AuditTrail that commits concurrent records together."""

    def __init__(self, trail: AuditTrail, max_batch: int = MAX_BATCH) -> None:
        self.trail = trail
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Pending] = []
        self._leader_active = False
        self._writer: ThreadPoolExecutor | None = None
        self.batches = 0  # transactions written (for benchmarks and tests)

    def record(self, event: AccessEvent) -> None:
        audit, write = self.trail.prepare(event)  # build, validate, index: outside the lock
        deferred = _DEFERRED.get()
        loop = _running_loop() if deferred is not None else None
        if deferred is not None and loop is not None:
            pending = _Pending(audit, write, future=loop.create_future())
            deferred.append(pending)
            if self._enqueue(pending):
                self._writer_thread().submit(self._lead)
            return
        pending = _Pending(audit, write)
        if self._enqueue(pending):
            self._lead()
        pending.done.wait()
        if pending.error is not None:
            raise pending.error

    @contextmanager
    def deferring(self) -> Iterator[list[_Pending]]:
        """Within the block, records made on the event loop's thread are queued, not awaited:
        pass what this yields to ``settle`` and await it before responding."""
        pending: list[_Pending] = []
        token = _DEFERRED.set(pending)
        try:
            yield pending
        finally:
            _DEFERRED.reset(token)

    async def settle(self, pending: list[_Pending]) -> None:
        """Wait until every deferred record is committed; the first failure is raised."""
        futures = [item.future for item in pending if item.future is not None]
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    def record_in(self, conn: Connection, event: AccessEvent) -> None:
        self.trail.record_in(conn, event)

    def verify_chain(self) -> ChainReport:
        return self.trail.verify_chain()

    def close(self) -> None:
        """Stop the writer thread after it has written what is queued (server shutdown)."""
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None

    def _enqueue(self, pending: _Pending) -> bool:
        """Queue ``pending``; True if no leader is writing, so the caller must start one."""
        with self._lock:
            self._queue.append(pending)
            lead = not self._leader_active
            self._leader_active = True
        return lead

    def _writer_thread(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._writer is None:
                self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-writer")
            return self._writer

    def _lead(self) -> None:
        """Write batches until the queue is empty, then hand leadership back."""
        while True:
            with self._lock:
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
                if not batch:
                    self._leader_active = False
                    return
            self._write(batch)

    def _write(self, batch: list[_Pending]) -> None:
        try:
            with self.trail.store.transaction() as conn:
                self.trail.append_many(conn, [(pending.audit, pending.write) for pending in batch])
            self.batches += 1
        except BaseException as exc:  # every waiter must learn the batch failed
            for pending in batch:
                pending.error = exc
        finally:
            _wake(batch)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # a worker thread: no loop of its own, so it waits in ``record``
        return None


def _wake(batch: list[_Pending]) -> None:
    """Release every waiter of a written batch: threads directly, each event loop once."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Pending]] = {}
    for pending in batch:
        if pending.future is None:
            pending.done.set()
        else:
            by_loop.setdefault(pending.future.get_loop(), []).append(pending)
    for loop, waiting in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop (shutdown): nobody waits any more
            loop.call_soon_threadsafe(_resolve, waiting)


def _resolve(waiting: list[_Pending]) -> None:
    for pending in waiting:
        future = pending.future
        if future is None or future.done():
            continue
        if pending.error is None:
            future.set_result(None)
        else:
            future.set_exception(pending.error)
