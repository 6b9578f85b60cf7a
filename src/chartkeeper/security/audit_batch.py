"""Group commit for the audit trail: concurrent requests share one transaction.

Every read of patient data writes an AuditEvent, and on SQLite one audited record costs far
more in its commit (a dozen index pages rewritten) than in building it. So the first
request to arrive becomes the leader and writes every AuditEvent queued meanwhile in one
transaction; the others wait for that commit. Each ``record`` still returns only after its
own AuditEvent is committed (never respond before the access is on disk), and if the commit
fails every request of the batch gets the error, so nothing is served unaudited.
"""

from __future__ import annotations

import threading
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


class GroupCommitAuditTrail:
    """An AuditSink over AuditTrail that commits concurrent records together."""

    def __init__(self, trail: AuditTrail, max_batch: int = MAX_BATCH) -> None:
        self.trail = trail
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Pending] = []
        self._leader_active = False
        self.batches = 0  # transactions written (for benchmarks and tests)

    def record(self, event: AccessEvent) -> None:
        audit, write = self.trail.prepare(event)  # build, validate, index: outside the lock
        pending = _Pending(audit, write)
        with self._lock:
            self._queue.append(pending)
            lead = not self._leader_active
            self._leader_active = self._leader_active or lead
        if lead:
            self._lead()
        pending.done.wait()
        if pending.error is not None:
            raise pending.error

    def record_in(self, conn: Connection, event: AccessEvent) -> None:
        self.trail.record_in(conn, event)

    def verify_chain(self) -> ChainReport:
        return self.trail.verify_chain()

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
            for pending in batch:
                pending.done.set()
