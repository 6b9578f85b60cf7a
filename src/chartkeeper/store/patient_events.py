"""Which Patients a transaction changed, and the two ports through which write paths tell the MPI.

Issue 6 wants every new or changed Patient matched at once, whichever path wrote it (FHIR API,
``ingest`` of FHIR/C-CDA/HL7 files, the MLLP listener), and ADT^A40 merged by the master
patient index. Those paths (``records``, ``intake``) and the index (``mpi``) are siblings that
may not import each other (ADR 0015), so they meet here, one layer down:

* ``writer.apply_writes`` notes the ids of the Patients it created, changed or deleted on the
  connection (:func:`note`), so no path has to thread write summaries through its layers;
  the path takes them (:func:`take`) in its transaction and, **after the commit**, hands
  them to a :class:`PatientWriteListener` (the composition root injects the MPI's).
* ADT^A40 asks a :class:`PatientMerger` (the MPI's merge, the one ``Patient/$merge`` and
  ``chartkeeper mpi merge`` use) once the message is stored.

Notes live in ``Connection.info``, which follows the DBAPI connection back into the pool, so
every write path starts its transaction with :func:`reset` (``Store.transaction`` does).
A savepoint that is rolled back leaves its notes: a Patient named that was not written costs
one harmless re-index, a Patient written and not named would be a missed match.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Protocol

from sqlalchemy.engine import Connection

_KEY = "chartkeeper.patients_written"
log = logging.getLogger("chartkeeper.mpi")


def note(conn: Connection, patient_ids: Iterable[str]) -> None:
    """Remember these Patient ids as written in ``conn``'s current transaction."""
    written: dict[str, None] = conn.info.setdefault(_KEY, {})
    for pid in patient_ids:
        written[pid] = None


def take(conn: Connection) -> list[str]:
    """The Patient ids noted since the last reset/take, in first-written order; forgets them."""
    return list(conn.info.pop(_KEY, None) or ())


def reset(conn: Connection) -> None:
    """Forget notes left on this (pooled) connection by an earlier transaction."""
    conn.info.pop(_KEY, None)


class PatientWriteListener(Protocol):
    """Told after a commit which Patients it created, changed or deleted (the MPI implements it)."""

    def patients_written(self, patient_ids: Sequence[str], *, source: str) -> None:
        """Called only after the commit. ``source`` names the path (``fhir-api``, ``ingest``,
        ``mllp``) for logs. Must not raise: the write it reports has succeeded whatever happens."""
        ...


class PatientMerger(Protocol):
    """Merges ``prior`` into ``surviving`` (HL7 ADT^A40) through the master patient index."""

    def merge_patients(self, prior: str, surviving: str, *, reason: str) -> int:
        """The merge id. Raises NotFound (a Patient does not exist), Conflict (already merged
        elsewhere) or InvalidInput (the same Patient); any other error means "not now"."""
        ...


def tell(listener: PatientWriteListener | None, patient_ids: Sequence[str], source: str) -> None:
    """Hand committed Patients to ``listener``, if any; a listener that breaks its promise and
    raises is logged (class only: no PHI) and ignored, so the committed write's answer stands."""
    if listener is None or not patient_ids:
        return
    try:
        listener.patients_written(patient_ids, source=source)
    except Exception as exc:
        log.error("the Patient write listener failed after a %s commit (%s)", source, type(exc).__name__)
