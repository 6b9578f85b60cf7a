"""Group commit for the audit trail: concurrent requests share one transaction.

Every read of patient data writes an AuditEvent, and on SQLite one audited record costs far
more in its commit (a dozen index pages rewritten) than in building it. So the first
request to arrive becomes the leader and writes every AuditEvent queued meanwhile in one
transaction; the others wait for that commit. Each ``record`` still returns only after its
own AuditEvent is committed (never respond before the access is on disk), and if the commit
fails every request of the batch gets the error, so nothing is served unaudited.

A shell that runs a short service call for an asyncio event loop (the API's reads: on the
loop itself when the database is on this host, in the thread pool otherwise, ``api.inline``)
need not wait in ``record``: on
the loop that would block every other request of the process, and in a pool thread it holds
the thread and costs a wake-up per request. Inside ``deferring()`` a ``record`` only queues its
AuditEvent and the trail's writer thread commits it with whatever else is queued; the shell
then awaits ``settle`` on the loop before it responds, so the rule is the same (no response
before the commit, no response if the commit fails) with one hand-off to the loop per batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from chartkeeper.security.audit import AuditTrail, ChainReport
from chartkeeper.security.ports import AccessEvent
from chartkeeper.store.dialect import pipelined_transaction
from chartkeeper.store.models import ResourceWrite

#: At most this many AuditEvents per transaction, so one batch never holds the lock long.
MAX_BATCH = 256
#: After the writer thread has written a batch (the process is busy), or another process was
#: found holding the chain, records go to the writer thread for this long before the event
#: loop commits a lone one again (``_lead_on_loop``): a process under load keeps its batches.
QUIET_AFTER_S = 0.05
#: Keys drawn with the chain's lock beyond what is queued before it, for what queues during
#: the wait for it (PostgreSQL; a larger batch draws the rest in one more round trip).
SPARE_KEYS = 4


@dataclass
class _Pending:
    audit: dict[str, Any]
    write: ResourceWrite
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    #: set for a deferred record: the event loop that learns of the commit
    loop: asyncio.AbstractEventLoop | None = None
    #: deferred only, touched on ``loop`` alone: the batch has committed (or failed) ...
    settled: bool = False
    #: ... and the future ``settle`` awaits if it came first
    future: asyncio.Future[None] | None = None


@dataclass
class _Deferral:
    """What one deferring() block records, and the loop that settles it."""

    loop: asyncio.AbstractEventLoop
    pending: list[_Pending] = field(default_factory=list)


#: The current deferring() block (None outside one). A context variable, so the service call
#: sees it in the thread pool too (starlette's run_in_threadpool copies the context).
_DEFERRED: ContextVar[_Deferral | None] = ContextVar("chartkeeper_deferred_audit", default=None)


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
        self.written_on_loop = 0  # of which by an event loop's own thread
        #: Set by the API when a lone record may be committed on the event loop itself (it says
        #: whether the process is serving no other request); None: always the writer thread.
        self.quiet: Callable[[], bool] | None = None
        self._busy_until = 0.0  # time.monotonic(): no commit on the loop before this

    def record(self, event: AccessEvent) -> None:
        audit, write = self.trail.prepare(event)  # build, validate, index: outside the lock
        deferral = _DEFERRED.get()
        if deferral is not None:
            pending = _Pending(audit, write, loop=deferral.loop)
            deferral.pending.append(pending)
            if self._enqueue(pending) and not self._lead_on_loop(deferral):
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
        """Enter on the event loop. Within the block, records made on the loop's thread or in a
        thread the block's context was copied to are queued, not awaited: pass what this
        yields to ``settle`` and await it before responding."""
        deferral = _Deferral(asyncio.get_running_loop())
        token = _DEFERRED.set(deferral)
        try:
            yield deferral.pending
        finally:
            _DEFERRED.reset(token)

    async def settle(self, pending: list[_Pending]) -> None:
        """Wait until every deferred record is committed; the first failure is raised."""
        for item in pending:
            if not item.settled:  # still being written: _resolve sets what is awaited here
                item.future = asyncio.get_running_loop().create_future()
                await item.future
        for item in pending:
            if item.error is not None:
                raise item.error

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
                if not self._queue:
                    self._leader_active = False
                    return
            self._write_next()
            self._busy_until = time.monotonic() + QUIET_AFTER_S

    def _lead_on_loop(self, deferral: _Deferral) -> bool:
        """Commit a lone record here, on its event loop, when the process serves no other
        request (``quiet``), its writer thread has been idle for ``QUIET_AFTER_S`` and no
        other process holds the chain (nor did at the last try): the two thread hand-offs of
        the writer thread (there and back) cost a lone read more than the commit blocks a loop
        that has nothing else to do. True if the queue was written and leadership handed back;
        False if the caller must hand leadership to the writer thread (not quiet, the chain is
        taken, or more was queued meanwhile)."""
        if self.quiet is None or asyncio._get_running_loop() is not deferral.loop or not self.quiet():
            return False
        if time.monotonic() < self._busy_until:
            return False
        if not self._write_next(wait=False):
            self._busy_until = time.monotonic() + QUIET_AFTER_S
            return False
        self.written_on_loop += 1
        with self._lock:
            if self._queue:  # queued from pool threads meanwhile: the writer thread goes on
                return False
            self._leader_active = False
        return True

    def _write_next(self, wait: bool = True) -> bool:
        """One transaction: wait to be the chain's appender first (the writer gate and write
        lock on SQLite, the chain's lock on PostgreSQL; another process may hold them), then
        take what is queued, so that what arrived during the wait joins this batch. Without
        ``wait``, if another process holds the chain: nothing is taken and False returned.

        On PostgreSQL the transaction is one pipeline (``pipelined_transaction``): BEGIN, the
        lock, the head and keys for what is queued now (and a few more) cost one round trip,
        the inserts and the COMMIT another."""
        batch: list[_Pending] = []
        try:
            with self.trail.store.transaction() as conn, pipelined_transaction(conn):
                expected = min(self.max_batch, len(self._queue) + SPARE_KEYS)
                head = self.trail.lock(conn, expected) if wait else self.trail.try_lock(conn, expected)
                if head is None:
                    raise _ChainTaken
                batch = self._take()
                self.trail.append_locked(conn, head, [(pending.audit, pending.write) for pending in batch])
            self.batches += 1
        except _ChainTaken:  # rolled back, nothing taken: the caller hands the queue on
            return False
        except BaseException as exc:  # every waiter must learn the batch failed
            if not batch:  # it failed before taking any: fail what waits, or it would wait on
                batch = self._take()
            for pending in batch:
                pending.error = exc
        finally:
            _wake(batch)
        return True

    def _take(self) -> list[_Pending]:
        with self._lock:
            batch = self._queue[: self.max_batch]
            del self._queue[: self.max_batch]
        return batch


class _ChainTaken(Exception):
    """Another process holds the audit chain (a ``_write_next`` that must not wait)."""


def _wake(batch: list[_Pending]) -> None:
    """Release every waiter of a written batch: threads directly, each event loop once (its
    own thread directly too)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Pending]] = {}
    for pending in batch:
        if pending.loop is None:
            pending.done.set()
        else:
            by_loop.setdefault(pending.loop, []).append(pending)
    running = asyncio._get_running_loop()
    for loop, waiting in by_loop.items():
        if loop is running:
            _resolve(waiting)
            continue
        with contextlib.suppress(RuntimeError):  # a closed loop (shutdown): nobody waits any more
            loop.call_soon_threadsafe(_resolve, waiting)


def _resolve(waiting: list[_Pending]) -> None:
    """On the records' loop: mark them settled and wake a ``settle`` already waiting (its
    outcome is read from ``error``, so a cancelled wait loses nothing)."""
    for pending in waiting:
        pending.settled = True
        future = pending.future
        if future is not None and not future.done():
            future.set_result(None)
