"""The master patient index as the write paths see it: a PatientWriteListener and a PatientMerger.

The composition roots (``production_app``, ``chartkeeper ingest``, ``chartkeeper mllp``) build
one :class:`LiveMatching` and hand it to the record service, the ingest and the MLLP writer as
the ports of ``store.patient_events`` (ADR 0015). After each commit that wrote Patients it
matches them at once (:meth:`MpiService.match_patients`): possible duplicates are queued,
certain ones merged when the policy says ``merge``.

A failure here never touches the write: it is already committed and its answer (201, ACK AA,
an ingest count) stands. The Patients are marked in ``mpi_pending`` (``chartkeeper mpi match
--pending`` retries them; ``mpi scan`` covers everyone) and one line is logged that names the
path, the count and the exception class — never a name, an id or a message's content.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from chartkeeper.fhir.instant import now_us
from chartkeeper.mpi.service import MpiService
from chartkeeper.security.caller import Caller
from chartkeeper.security.scopes import ScopeSet
from chartkeeper.store import mpi_index

log = logging.getLogger("chartkeeper.mpi")

#: Hand-overs taken together by the background thread (each a commit's Patients).
MAX_QUEUED_BATCH = 500

#: Who makes the automatic merges the policy allows (recorded as merged_by and decided_by).
MPI_SUBJECT = "system/mpi"


def mpi_caller() -> Caller:
    """The index itself, acting under its configured policy (not the writer's scopes: a feed
    that may only create Patients still gets its certain duplicates merged when policy says so)."""
    return Caller(
        subject=MPI_SUBJECT,
        kind="local",
        display="master patient index (real-time, by policy)",
        scopes=ScopeSet.parse("system/*.cruds"),
    )


@dataclass
class LiveStats:
    """What real-time matching did in this process (for the ingest summary and the benchmark)."""

    patients: int = 0
    flagged: int = 0  # pairs at or above the review threshold
    merged: int = 0
    failed: int = 0  # Patients marked pending
    seconds: float = 0.0
    merges: list[int] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "patients": self.patients,
            "flagged": self.flagged,
            "merged": self.merged,
            "pending": self.failed,
            "seconds": round(self.seconds, 3),
        }


class LiveMatching:
    """Implements ``PatientWriteListener`` and ``PatientMerger`` over one MpiService.

    caller: who makes automatic merges (default :func:`mpi_caller`); merge_caller: who asks
    for ADT^A40 merges (the feed; default the same). ``progress(n)`` is told after each batch.
    Matching is serialized: the scorer's DuckDB connection serves one thread at a time.

    background: match in a thread of its own instead of the writer's (the servers: an API
    response or an MLLP writer never waits for Splink; Patients written meanwhile are matched
    together, one Splink call per :data:`realtime.BATCH`). :meth:`drain` waits until everything
    handed over is matched; :meth:`close` drains and stops the thread. A process killed between
    a commit and its match leaves that Patient to ``mpi scan``.
    """

    def __init__(
        self,
        service: MpiService,
        *,
        caller: Caller | None = None,
        merge_caller: Caller | None = None,
        progress: Callable[[int], None] | None = None,
        background: bool = False,
    ) -> None:
        self.service = service
        self.caller = caller or mpi_caller()
        self.merge_caller = merge_caller or self.caller
        self.progress = progress
        self.stats = LiveStats()
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[list[str], str] | None] | None = None
        self._thread: threading.Thread | None = None
        if background:
            self._queue = queue.Queue()
            self._thread = threading.Thread(target=self._run, name="mpi-live", daemon=True)
            self._thread.start()

    # -- PatientWriteListener ------------------------------------------------------------------
    def patients_written(self, patient_ids: Sequence[str], *, source: str) -> None:
        ids = list(dict.fromkeys(patient_ids))
        if not ids:
            return
        if self._queue is not None:
            self._queue.put((ids, source))
            return
        self._match(ids, source)

    def drain(self) -> None:
        """Return once every Patient handed over so far has been matched (background mode)."""
        if self._queue is not None:
            self._queue.join()

    def close(self) -> None:
        """Match what is still queued, then stop the background thread."""
        if self._queue is not None and self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=300)
            self._queue = None

    def _run(self) -> None:
        assert self._queue is not None
        work = self._queue
        while True:
            first = work.get()
            items = [first]
            while first is not None and len(items) < MAX_QUEUED_BATCH:
                try:
                    items.append(work.get_nowait())
                except queue.Empty:
                    break
            by_source: dict[str, list[str]] = {}
            for item in items:
                if item is not None:
                    by_source.setdefault(item[1], []).extend(item[0])
            for source, ids in by_source.items():
                self._match(list(dict.fromkeys(ids)), source)
            for _ in items:
                work.task_done()
            if None in items:
                return

    def _match(self, ids: list[str], source: str) -> None:
        started = time.perf_counter()
        try:
            with self._lock:
                pairs, merged = self.service.match_patients(self.caller, ids)
        except Exception as exc:  # the write stands; never let this reach the writer's answer
            self.stats.failed += len(ids)
            log.warning(
                "real-time matching failed for %d Patient(s) written by %s (%s); marked pending "
                "for `chartkeeper mpi match --pending`",
                len(ids),
                source,
                type(exc).__name__,
            )
            self._mark_pending(ids, source, exc)
            return
        finally:
            self.stats.seconds += time.perf_counter() - started
        self.stats.patients += len(ids)
        self.stats.flagged += sum(p.decision != "nonmatch" for p in pairs)
        self.stats.merged += merged
        if self.progress is not None:
            self.progress(len(ids))

    def _mark_pending(self, ids: list[str], source: str, exc: Exception) -> None:
        try:
            with self.service.store.transaction() as conn:
                mpi_index.add_pending(conn, ids, now=now_us(), source=source, error=type(exc).__name__)
        except Exception as second:  # the database itself is failing: the scan is the way back
            log.error(
                "could not mark %d Patient(s) pending (%s); run `chartkeeper mpi scan` when the "
                "database is back",
                len(ids),
                type(second).__name__,
            )

    # -- PatientMerger (HL7 ADT^A40) ---------------------------------------------------------------
    def merge_patients(self, prior: str, surviving: str, *, reason: str) -> int:
        with self._lock:  # the merge re-indexes both Patients through the same scorer state
            result = self.service.merge(self.merge_caller, prior, surviving, reason)
        self.stats.merges.append(result.merge_id)
        return result.merge_id
