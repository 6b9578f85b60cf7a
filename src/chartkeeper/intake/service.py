"""``ingest``: files and folders of FHIR JSON/NDJSON into the store, as an import.

Each unit (a Bundle, a lone resource, or a run of NDJSON lines) is prepared in a worker
process, then written in one transaction by this process, the single writer. Anything
rejected goes to the quarantine with its original bytes and the reason, and the run goes on.
Re-running the same input changes nothing, so an interrupted run is finished by running it
again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, OperationalError

from chartkeeper.errors import ChartkeeperError, InvalidInput
from chartkeeper.fhir.conditional import Criteria
from chartkeeper.fhir.instant import now_us
from chartkeeper.fhir.outcome import Issue, operation_outcome
from chartkeeper.intake import sources, streamed
from chartkeeper.intake.ccda.patients import store_reader
from chartkeeper.intake.ccda.prepare import prepare_ccda
from chartkeeper.intake.hl7v2.merging import perform_merge
from chartkeeper.intake.hl7v2.parse import decode, split_messages
from chartkeeper.intake.hl7v2.process import V2Outcome, V2Prepared, apply_v2, prepare_v2
from chartkeeper.intake.integrity import missing_references
from chartkeeper.intake.models import (
    AnyUnit,
    CcdaUnit,
    DocumentUnit,
    IngestReport,
    LinesUnit,
    Prepared,
    Reject,
    StreamedBundleUnit,
    UnreadableFile,
    V2MessageUnit,
)
from chartkeeper.intake.prepare import prepare
from chartkeeper.intake.streamed import StreamedBundleError
from chartkeeper.intake.workers import default_workers, ordered_map, relaxed_gc
from chartkeeper.store import patient_events, writer
from chartkeeper.store.models import WriteSummary
from chartkeeper.store.patient_events import PatientMerger, PatientWriteListener
from chartkeeper.store.repository import Store

NDJSON_BATCH_LINES = 2000
NDJSON_BATCH_BYTES = 4 << 20

#: progress(bytes_done_delta) — the CLI draws a bar with it
Progress = Callable[[int], None]


class RejectedInStore(Exception):
    """The writer found a problem only the store can see (e.g. a reference to nothing)."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(issues[0].one_line() if issues else "rejected")
        self.issues = issues


def units_for(paths: list[Path], report: IngestReport) -> Iterator[AnyUnit]:
    """Cut files into units; unreadable or unsupported files become immediate rejects."""
    for path in paths:
        report.files += 1
        source = str(path)
        try:
            kind = sources.sniff(path)
        except InvalidInput as exc:
            yield UnreadableFile(source, _safe_read(path), Issue("fatal", "structure", str(exc), None))
            continue
        if kind == "ndjson":
            yield from _line_units(path)
        elif kind == "json" and path.stat().st_size > streamed.LARGE_DOCUMENT_BYTES:
            yield StreamedBundleUnit(source, path)
        elif kind == "json":
            yield DocumentUnit(source, sources.read_all(path))
        elif kind == "xml":
            yield CcdaUnit(source, sources.read_all(path))
        elif kind == "hl7":
            yield from _v2_units(path)
        else:
            code = "required" if kind == "empty" else "structure"
            fmt = "fhir-json" if kind == "empty" else kind
            fmt = "hl7v2" if path.suffix.lower() == ".hl7" else fmt
            yield UnreadableFile(
                source, _safe_read(path), Issue("fatal", code, _UNSUPPORTED[kind], None), fmt
            )


def _safe_read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def _v2_units(path: Path) -> Iterator[AnyUnit]:
    """Each HL7 v2 message of a file is its own unit (a file may hold one or many, batched or not)."""
    raw = sources.read_all(path)
    texts = list(split_messages(decode(raw)))
    if not texts:
        issue = Issue("fatal", "structure", "no HL7 v2 message (MSH segment) in the file", None)
        yield UnreadableFile(str(path), raw, issue, "hl7v2")
        return
    if len(texts) == 1:
        yield V2MessageUnit(str(path), raw)  # the file's own bytes are the message's record
        return
    for number, text in enumerate(texts, start=1):
        yield V2MessageUnit(f"{path}#{number}", text.encode("utf-8"))


def _line_units(path: Path) -> Iterator[LinesUnit]:
    batch: list[bytes] = []
    size = 0
    first = 1
    for number, line in sources.iter_lines(path):
        if not batch:
            first = number
        batch.append(line)
        size += len(line)
        if len(batch) >= NDJSON_BATCH_LINES or size >= NDJSON_BATCH_BYTES:
            yield LinesUnit(str(path), first, batch)
            batch, size = [], 0
    if batch:
        yield LinesUnit(str(path), first, batch)


_UNSUPPORTED = {
    "empty": "the file is empty",
}


def _prepare_unit(unit: AnyUnit) -> Prepared:
    if isinstance(unit, StreamedBundleUnit):
        return Prepared(deferred=True, bytes_in=unit.path.stat().st_size)  # applied by the writer
    if isinstance(unit, V2MessageUnit):
        return Prepared(v2=prepare_v2(unit.raw, unit.source), bytes_in=len(unit.raw))
    if isinstance(unit, UnreadableFile):
        return Prepared(
            rejects=[Reject(unit.source, unit.fmt, unit.raw, [unit.issue])], bytes_in=len(unit.raw)
        )
    if isinstance(unit, CcdaUnit):
        return prepare_ccda(unit)
    return prepare(unit)


def _warm_up() -> None:
    from chartkeeper.fhir.search.extract import extract_index_values
    from chartkeeper.fhir.validation import validate_resource

    validate_resource({"resourceType": "Patient", "id": "warm-up"})
    extract_index_values({"resourceType": "Patient", "id": "warm-up"})


def ingest(
    store: Store,
    paths: Iterable[str | Path],
    *,
    workers: int = 0,
    progress: Progress | None = None,
    patients_written: PatientWriteListener | None = None,
    merger: PatientMerger | None = None,
) -> IngestReport:
    """Import every file under ``paths``; return what was created, updated, unchanged, rejected.

    ``patients_written`` is told the Patients of each commit once it is durable; ``merger``
    performs HL7 ADT^A40 merges (both the master patient index's, injected by the CLI)."""
    report = IngestReport()
    files = sources.discover(paths)
    return ingest_units(
        store,
        units_for(files, report),
        report,
        workers=workers,
        progress=progress,
        patients_written=patients_written,
        merger=merger,
    )


def ingest_units(
    store: Store,
    units: Iterable[AnyUnit],
    report: IngestReport | None = None,
    *,
    workers: int = 0,
    progress: Progress | None = None,
    patients_written: PatientWriteListener | None = None,
    merger: PatientMerger | None = None,
) -> IngestReport:
    """Prepare ``units`` in worker processes and write them, in order, each atomically."""
    started = time.perf_counter()
    report = report if report is not None else IngestReport()
    count = workers if workers > 0 else default_workers()
    # closing(): if the writer fails, the worker pool is torn down at once, not at interpreter
    # exit (where a pool with queued tasks could wait forever).
    results = closing(ordered_map(_prepare_unit, units, count, _warm_up))
    group = GroupCommit(store, listener=patients_written, merger=merger, report=report)
    with relaxed_gc(), group, results as prepared_units:
        for unit, prepared in prepared_units:
            _commit(store, group, unit, prepared, report)
            if progress is not None:
                progress(prepared.bytes_in)
    report.seconds = time.perf_counter() - started
    return report


def ingest_in_process(
    store: Store,
    units: Iterable[AnyUnit],
    *,
    patients_written: PatientWriteListener | None = None,
    merger: PatientMerger | None = None,
) -> IngestReport:
    """Prepare and write ``units`` in this process (no worker pool): for a handful of units
    from inside a server, such as retrying a quarantined item."""
    report = IngestReport()
    with GroupCommit(store, listener=patients_written, merger=merger, report=report) as group:
        for unit, prepared in ordered_map(_prepare_unit, units, 0):
            _commit(store, group, unit, prepared, report)
    return report


class GroupCommit:
    """Several units per database transaction, each inside its own savepoint.

    A unit is still all or nothing (its savepoint is rolled back on any error), but the
    commit — a third of SQLite's write time for a Synthea bundle — is paid once per
    ``max_resources`` resources or ``max_seconds``. A crash loses at most the open group,
    never part of a unit; re-running the input completes it.
    """

    def __init__(
        self,
        store: Store,
        max_resources: int = 5000,
        max_seconds: float = 1.0,
        *,
        listener: PatientWriteListener | None = None,
        merger: PatientMerger | None = None,
        report: IngestReport | None = None,
    ) -> None:
        self.store = store
        self.max_resources = max_resources
        self.max_seconds = max_seconds
        self.conn: Connection | None = None
        self.pending = 0
        self.opened = 0.0
        self.listener = listener
        self.merger = merger
        self.report = report
        self.merges: list[tuple[V2Prepared, V2Outcome]] = []  # A40s of the open group

    def __enter__(self) -> GroupCommit:
        return self

    def connection(self) -> Connection:
        if self.conn is None:
            self.conn = self.store.engine.connect()
            self.conn.begin()
            patient_events.reset(self.conn)
            self.opened = time.monotonic()
        return self.conn

    def wrote(self, resources: int) -> None:
        self.pending += resources
        if self.pending >= self.max_resources or time.monotonic() - self.opened >= self.max_seconds:
            self.flush()

    def flush(self) -> None:
        """Commit the open group; then, its writes durable, the master patient index's turn:
        the group's A40 merges, then matching of the Patients it wrote (in batches)."""
        if self.conn is not None:
            written = patient_events.take(self.conn)
            self.conn.commit()
            self.conn.close()
            self.conn = None
            self.store.statistics.wrote(self.pending)
            self.pending = 0
            self._merge()
            patient_events.tell(self.listener, written, "ingest")

    def _merge(self) -> None:
        merges, self.merges = self.merges, []
        for prepared, outcome in merges:
            after = perform_merge(self.store, self.merger, prepared, outcome)
            if after.rejection is not None and self.report is not None:
                self.report.rejected += 1
                self.report.messages.append(f"{prepared.source}: {after.rejection.reason}")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.flush()
        elif self.conn is not None:
            self.conn.rollback()
            self.conn.close()
            self.conn = None
            self.merges = []


def total_bytes(paths: Iterable[str | Path]) -> int:
    return sum(p.stat().st_size for p in sources.discover(paths))


def _commit(
    store: Store, group: GroupCommit, unit: AnyUnit, prepared: Prepared, report: IngestReport
) -> None:
    conn = group.connection()
    if prepared.v2 is not None:
        _commit_v2(conn, group, prepared.v2, report)
        return
    for reject in prepared.rejects:
        _quarantine(store, conn, reject, report)
    if prepared.skipped:
        report.skipped.append(f"{unit.source}: {prepared.skipped}")
    if not prepared.deferred and not prepared.writes:
        group.wrote(1)
        return
    for attempt in (1, 2):
        try:
            with conn.begin_nested():
                summary = _apply_unit(store, conn, unit, prepared)
        except RejectedInStore as exc:
            _quarantine(store, conn, Reject(unit.source, unit.fmt, _raw(unit), exc.issues), report)
        except IntegrityError as exc:
            if attempt == 1:
                continue  # another writer created one of these resources meanwhile: look again
            _refused(store, conn, unit, exc, report)
        except (OperationalError, ChartkeeperError) as exc:
            _refused(store, conn, unit, exc, report)
        else:
            report.summary.add(summary)
            group.wrote(sum(summary.created.values()) + sum(summary.updated.values()) + 1)
            return
        group.wrote(1)
        return


def _commit_v2(conn: Connection, group: GroupCommit, prepared: V2Prepared, report: IngestReport) -> None:
    outcome = apply_v2(conn, prepared)
    if prepared.merge is not None and outcome.status == "applied":
        group.merges.append((prepared, outcome))  # merged once the group has committed
    report.summary.add(outcome.summary)
    if outcome.rejection is not None:
        report.rejected += 1
        report.messages.append(f"{prepared.source}: {outcome.rejection.reason}")
    if outcome.quarantine_pk is not None:
        report.quarantined.append(outcome.quarantine_pk)
    group.wrote(len(prepared.writes) + 1)


def _apply_unit(store: Store, conn: Connection, unit: AnyUnit, prepared: Prepared) -> WriteSummary:
    """Write one unit in the caller's savepoint; RejectedInStore when the store shows it is wrong."""
    if isinstance(unit, StreamedBundleUnit):
        try:
            return streamed.apply_streamed_bundle(conn, unit, _resolver(store, conn))
        except StreamedBundleError as exc:
            raise RejectedInStore(exc.issues) from exc
    if prepared.deferred and isinstance(unit, CcdaUnit):
        prepared = prepare_ccda(unit, _resolver(store, conn), earlier=prepared, read=store_reader(conn))
        if prepared.rejects:
            raise RejectedInStore(prepared.rejects[0].issues)
    elif prepared.deferred:
        assert isinstance(unit, DocumentUnit)
        prepared = prepare(unit, resolver=_resolver(store, conn))
        if prepared.rejects:
            raise RejectedInStore(prepared.rejects[0].issues)
    _check_references(conn, prepared)
    return writer.apply_writes(conn, prepared.writes, now_us())


def _refused(store: Store, conn: Connection, unit: AnyUnit, exc: Exception, report: IngestReport) -> None:
    issue = Issue("error", "processing", f"the store refused the write: {_first_line(exc)}", None)
    _quarantine(store, conn, Reject(unit.source, unit.fmt, _raw(unit), [issue]), report)


def _resolver(store: Store, conn: Connection) -> Callable[[Criteria], list[str]]:
    def resolve(criteria: Criteria) -> list[str]:
        try:
            return store.find_ids(criteria, conn)
        except InvalidInput as exc:
            raise RejectedInStore([Issue("error", "invalid", str(exc), None)]) from exc

    return resolve


def _check_references(conn: Connection, prepared: Prepared) -> None:
    """Every ``Type/id`` a bundle points to outside itself must be in the store."""
    missing = missing_references(conn, prepared.ref_checks)
    if missing:
        raise RejectedInStore(missing)


def _raw(unit: AnyUnit) -> bytes:
    if isinstance(unit, StreamedBundleUnit):
        return sources.read_all(unit.path)
    return b"".join(unit.lines) if isinstance(unit, LinesUnit) else unit.raw


def _first_line(exc: BaseException) -> str:
    return str(getattr(exc, "orig", exc)).strip().splitlines()[0][:300]


def _quarantine(store: Store, conn: Connection, reject: Reject, report: IngestReport) -> None:
    report.rejected += 1
    report.messages.append(f"{reject.source}: {reject.reason}")
    pk = store.quarantine_add(
        source=reject.source,
        fmt=reject.fmt,
        reason=reject.reason,
        content=reject.raw,
        issues=operation_outcome(reject.issues),
        conn=conn,
    )
    report.quarantined.append(pk)
