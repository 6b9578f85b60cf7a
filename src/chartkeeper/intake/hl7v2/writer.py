"""The MLLP listener's single writer: group commit, and an answer only after the commit.

Connections hand prepared messages to one thread that owns the database connection. It
takes everything queued (up to ``max_batch``), applies each message in its own savepoint,
commits once, and only then resolves each message's future, so no ACK is ever sent for a
message that is not durably stored. If the commit fails, every message of the batch is
answered with an error (AR) instead: none of them was stored, and the sender may resend.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from chartkeeper.intake.hl7v2.batch import apply_batch
from chartkeeper.intake.hl7v2.errors import APPLICATION_ERROR
from chartkeeper.intake.hl7v2.merging import perform_merge
from chartkeeper.intake.hl7v2.process import Rejection, V2Outcome, V2Prepared
from chartkeeper.store import patient_events
from chartkeeper.store.patient_events import PatientMerger, PatientWriteListener
from chartkeeper.store.repository import Store

log = logging.getLogger("chartkeeper.mllp")


@dataclass(slots=True)
class _Job:
    prepared: V2Prepared
    future: asyncio.Future[V2Outcome]
    loop: asyncio.AbstractEventLoop


class GroupWriter:
    """A thread applying queued messages, one transaction per batch."""

    def __init__(
        self,
        store: Store,
        max_batch: int = 500,
        *,
        listener: PatientWriteListener | None = None,
        merger: PatientMerger | None = None,
    ) -> None:
        self.store = store
        self.max_batch = max_batch
        self.listener = listener  # told the Patients each commit wrote, after the ACKs (MPI)
        self.merger = merger  # performs ADT^A40 merges before their ACK (MPI)
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="hl7v2-writer", daemon=True)
        self.batches = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    async def submit(self, prepared: V2Prepared) -> V2Outcome:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[V2Outcome] = loop.create_future()
        self._queue.put(_Job(prepared, future, loop))
        return await future

    def _run(self) -> None:
        conn: Connection | None = None
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch = [first]
                while len(batch) < self.max_batch:
                    try:
                        job = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if job is None:
                        self._queue.put(None)
                        break
                    batch.append(job)
                conn = self._write(conn, batch)
        finally:
            if conn is not None:
                conn.close()

    def _write(self, conn: Connection | None, batch: list[_Job]) -> Connection | None:
        """Apply and commit ``batch``; the connection to use next (None: open a new one)."""
        try:
            if conn is None:
                conn = self.store.durable_connection()
            patient_events.reset(conn)
            with conn.begin():
                outcomes = apply_batch(conn, [job.prepared for job in batch])
            written = patient_events.take(conn)
        except Exception as exc:  # the database is down or refused the commit: nothing of the batch is stored
            log.error("commit failed for %d messages: %s", len(batch), type(exc).__name__)
            _answer_resend(batch, "the message could not be stored; resend it")
            if conn is not None:
                conn.close()
            return None
        self.batches += 1
        try:
            self._after_commit(batch, outcomes, written)
        except (
            Exception
        ) as exc:  # a bug after the commit: the thread must go on, or every later message waits forever
            log.error("the writer failed after a commit of %d messages: %s", len(batch), type(exc).__name__)
            # answered ones keep their answer; a resend of the others is safe: an applied control
            # id is acknowledged again without being applied twice
            _answer_resend(batch, "the message could not be confirmed; resend it")
        return conn

    def _after_commit(self, batch: list[_Job], outcomes: list[V2Outcome], written: list[str]) -> None:
        outcomes = [  # committed; an A40's ACK waits for its merge
            perform_merge(self.store, self.merger, job.prepared, outcome) if job.prepared.merge else outcome
            for job, outcome in zip(batch, outcomes, strict=True)
        ]
        _answer(batch, outcomes)
        patient_events.tell(self.listener, written, "mllp")  # after the ACKs: never delays or fails one
        # also after the ACKs: a listener on a new PostgreSQL database otherwise keeps costing its
        # look-ups as if the tables were empty (store.statistics). The count is of the resources
        # the batch carried (some may have been unchanged): an ANALYZE a little early costs little.
        self.store.statistics.wrote(sum(len(job.prepared.writes) for job in batch))


def _answer_resend(batch: list[_Job], reason: str) -> None:
    """Answer every message of ``batch`` not answered yet with AR: the sender should resend it."""
    failure = Rejection("AR", APPLICATION_ERROR, "MSH", None, reason, [])
    _answer(batch, [V2Outcome("AR", "rejected", failure)] * len(batch))


def _answer(batch: list[_Job], outcomes: list[V2Outcome]) -> None:
    """Resolve the batch's futures: one wake-up per event loop, not one per message."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[V2Outcome], V2Outcome]]] = {}
    for job, outcome in zip(batch, outcomes, strict=True):
        by_loop.setdefault(job.loop, []).append((job.future, outcome))
    for loop, answers in by_loop.items():
        try:
            loop.call_soon_threadsafe(_resolve, answers)
        except RuntimeError:  # that loop is closed: nobody is waiting for these answers any more
            continue


def _resolve(answers: list[tuple[asyncio.Future[V2Outcome], V2Outcome]]) -> None:
    for future, outcome in answers:
        if not future.done():
            future.set_result(outcome)
