"""The access audit trail: every access becomes a FHIR AuditEvent, hash-chained.

Each AuditEvent is indexed like any resource (so ``AuditEvent?patient=``, ``?agent=`` and
``?date=`` work; it is valid by construction, see ``audit_event``) and written in its own small
transaction, committed before
``record`` returns: the caller responds only after the access is on disk. Each record's hash
is ``sha256(previous hash + canonical JSON of the AuditEvent)``, kept in ``audit_chain``;
``verify_chain`` recomputes it and names every edited, removed, reordered or unchained record.
A chain cannot prove its own tail was not cut off: keep ``ChainReport.head`` somewhere else
(a ticket, a printed report) and compare it later.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.engine import Connection

from chartkeeper.errors import InvalidInput
from chartkeeper.fhir.instant import now_us
from chartkeeper.fhir.new_ids import time_ordered_id
from chartkeeper.fhir.resource import fingerprint
from chartkeeper.fhir.search.extract import extract_index_values
from chartkeeper.fhir.search.model import IndexValues
from chartkeeper.fhir.validation import validate_resource
from chartkeeper.security.audit_event import build_audit_event
from chartkeeper.security.ports import AccessEvent
from chartkeeper.store import audit_chain
from chartkeeper.store.audit_chain import ChainHead
from chartkeeper.store.dialect import allocate_keys, pipelined_transaction
from chartkeeper.store.models import ResourceWrite
from chartkeeper.store.repository import Store
from chartkeeper.store.resources import resource_write
from chartkeeper.store.schema import resource
from chartkeeper.store.writer import index_rows

_MAX_PROBLEMS = 100
#: The parts of an AuditEvent that change with every access; the rest (type, subtype, action,
#: outcome, agent, source) repeats for every read of one caller, so its index rows are cached.
_PER_ACCESS = frozenset({"id", "recorded", "entity", "outcomeDesc"})
_HEADS_KEPT = 1024
_head_index: dict[bytes, IndexValues] = {}


def canonical(audit: dict[str, Any]) -> bytes:
    """The bytes that are hashed: sorted keys, no whitespace (stable across SQLite and JSONB)."""
    return orjson.dumps(audit, option=orjson.OPT_SORT_KEYS)


def chain_hash(prev_hash: str, audit: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(audit)).hexdigest()


@dataclass
class ChainReport:
    """What ``verify_chain`` found. ``head`` is the last hash: keep it outside the database."""

    records: int = 0
    head: str = audit_chain.GENESIS
    problems: list[str] = field(default_factory=list)
    unchained: int = 0  # AuditEvents in the store that the chain does not know

    @property
    def ok(self) -> bool:
        return not self.problems and self.unchained == 0


def audit_write(audit: dict[str, Any], *, validate: bool = True) -> ResourceWrite:
    """Index an AuditEvent as any resource is; with ``validate`` (for AuditEvents that did not
    come from ``build_audit_event``) InvalidInput if it is not valid."""
    if validate:
        errors = [i for i in validate_resource(audit) if i.is_error]
        if errors:
            raise InvalidInput(f"internal AuditEvent is invalid: {errors[0].message}", errors)
    return resource_write("AuditEvent", str(audit["id"]), audit)


def audit_index(audit: dict[str, Any]) -> IndexValues:
    """The search-index values of an AuditEvent from ``build_audit_event``: exactly what
    ``extract_index_values`` gives (a test compares them), but the caller-and-action part is
    extracted once per distinct value and only the date and entities on every access."""
    head = {k: v for k, v in audit.items() if k not in _PER_ACCESS}
    key = orjson.dumps(head)
    fixed = _head_index.get(key)
    if fixed is None:
        fixed = extract_index_values(head)
        if len(_head_index) >= _HEADS_KEPT:
            _head_index.clear()
        _head_index[key] = fixed
    varying: dict[str, Any] = {"resourceType": "AuditEvent", "recorded": audit["recorded"]}
    if "entity" in audit:
        varying["entity"] = audit["entity"]
    own = extract_index_values(varying)
    return IndexValues(
        strings=fixed.strings + own.strings,
        tokens=fixed.tokens + own.tokens,
        references=fixed.references + own.references,
        dates=fixed.dates + own.dates,
        quantities=fixed.quantities + own.quantities,
        numbers=fixed.numbers + own.numbers,
        uris=fixed.uris + own.uris,
        compartment_patients=list(dict.fromkeys(fixed.compartment_patients + own.compartment_patients)),
    )


def built_audit_write(audit: dict[str, Any]) -> ResourceWrite:
    """The ResourceWrite of an AuditEvent from ``build_audit_event`` (no server meta, valid by
    construction): serialized and fingerprinted as ``resource_write`` does, indexed by
    ``audit_index``."""
    values = audit_index(audit)
    return ResourceWrite(
        res_type="AuditEvent",
        res_id=str(audit["id"]),
        content=orjson.dumps(audit).decode(),
        fingerprint=fingerprint(audit),
        index=index_rows("AuditEvent", values),
        patient_id=values.compartment_patients[0] if values.compartment_patients else None,
    )


class AuditTrail:
    """The production AuditSink: durable, searchable, tamper-evident."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def record(self, event: AccessEvent) -> None:
        """Write the AuditEvent and its chain link in one transaction, committed on return.

        Call it after the data transaction has ended: on SQLite a second write transaction
        on the same thread would wait for the first one's lock. Use ``record_in`` to audit a
        write inside its own transaction instead.
        """
        audit, write = self.prepare(event)  # validation and indexing outside the write lock
        with self.store.transaction() as conn, pipelined_transaction(conn):
            self.append(conn, audit, write)

    def record_in(self, conn: Connection, event: AccessEvent) -> None:
        """Record inside the caller's open write transaction: the write and its AuditEvent
        commit (or roll back) together. Takes the chain lock until that transaction ends."""
        audit, write = self.prepare(event)
        self.append(conn, audit, write)

    def prepare(self, event: AccessEvent) -> tuple[dict[str, Any], ResourceWrite]:
        """Build and index the AuditEvent (no database work). Not validated: the builder's
        output is valid by construction, and its tests validate it."""
        audit = build_audit_event(event, time_ordered_id(), now_us())
        return audit, built_audit_write(audit)

    def lock(self, conn: Connection, expected: int = 0) -> ChainHead:
        """Become the chain's only appender in ``conn``'s transaction, before deciding what to
        append (the group commit gathers what queued while it waited). Returns the chain's head
        and, on PostgreSQL, keys for about ``expected`` new AuditEvents, drawn in the lock's own
        round trip (``append_locked`` draws any more it needs)."""
        return audit_chain.lock_head(conn, reserve_keys=expected)

    def try_lock(self, conn: Connection, expected: int = 0) -> ChainHead | None:
        """``lock`` if the chain is free now; None if another process is appending (roll the
        transaction back: it holds nothing)."""
        return audit_chain.try_lock_head(conn, reserve_keys=expected)

    def append(self, conn: Connection, audit: dict[str, Any], write: ResourceWrite) -> None:
        """Write a prepared AuditEvent and its chain link in ``conn``'s transaction."""
        self.append_many(conn, [(audit, write)])

    def append_many(self, conn: Connection, prepared: Sequence[tuple[dict[str, Any], ResourceWrite]]) -> None:
        """Write prepared AuditEvents, in order, and their chain links in ``conn``'s transaction:
        the chain's lock is taken once and each table gets one multi-row insert for all of them
        (a group commit of N events costs about the statements of one)."""
        if prepared:
            self.append_locked(conn, self.lock(conn, len(prepared)), prepared)

    def append_locked(
        self, conn: Connection, head: ChainHead, prepared: Sequence[tuple[dict[str, Any], ResourceWrite]]
    ) -> None:
        """``append_many`` in a transaction that already holds the chain (``lock``)."""
        if not prepared:
            return
        prev, keys = head
        if len(keys) < len(prepared):
            keys = keys + allocate_keys(conn, resource.name, len(prepared) - len(keys))
        links: list[tuple[str, str, str]] = []
        for audit, write in prepared:
            digest = chain_hash(prev, audit)
            links.append((write.res_id, digest, prev))
            prev = digest
        # fresh ids (time-ordered, 74 random bits): no current rows to look up (a clash would
        # fail the unique key). The chain rows go with the AuditEvents' own rows: on PostgreSQL
        # one statement for a batch of up to PIPELINED_WRITES (``pg_json_rows``).
        writes = [write for _audit, write in prepared]
        self.store.apply(
            writes, conn, all_new=True, keys=keys[: len(prepared)], also=[audit_chain.rows(links)]
        )

    def verify_chain(self) -> ChainReport:
        """Walk the chain from the start; recompute every hash against the stored AuditEvent."""
        report = ChainReport()
        expected_prev = audit_chain.GENESIS
        with self.store.reading() as conn:
            for row in audit_chain.walk(conn):
                report.records += 1
                where = f"record {row.seq} (AuditEvent/{row.audit_id})"
                if row.prev_hash != expected_prev:
                    _problem(
                        report, f"{where}: previous hash does not match: a record was removed or reordered"
                    )
                if row.content is None:
                    _problem(report, f"{where}: the AuditEvent is missing or deleted")
                elif chain_hash(row.prev_hash, row.content) != row.hash:
                    _problem(report, f"{where}: the AuditEvent was changed")
                elif row.version_id != 1:
                    _problem(report, f"{where}: the AuditEvent has {row.version_id} versions")
                expected_prev = row.hash
            report.head = expected_prev
            stored = audit_chain.count_audit_events(conn)
        report.unchained = max(0, stored - report.records)
        if report.unchained:
            _problem(report, f"{report.unchained} AuditEvent(s) in the store are not in the chain")
        return report


def _problem(report: ChainReport, text: str) -> None:
    if len(report.problems) < _MAX_PROBLEMS:
        report.problems.append(text)
