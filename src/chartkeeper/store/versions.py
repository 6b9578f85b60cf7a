"""Row locks, history pages and the patient compartment: the reads the REST API needs.

Why a module of its own: these queries serve the interactive API (one resource, one page at a
time, under concurrency), not ingest's bulk paths in ``writer``/``reader``.

Concurrency, said plainly per dialect:

* SQLite has one writer: every write transaction starts with ``BEGIN IMMEDIATE`` (see
  ``dialect``), so a read-check-write inside it is already exclusive; ``FOR UPDATE`` does not
  exist there and is not needed.
* PostgreSQL runs writers in parallel at READ COMMITTED: a version check must lock the row it
  checks (``SELECT ... FOR UPDATE``), and writes that depend on a search (conditional
  create/update/delete, transaction bundles) take one transaction-scoped advisory lock so two of
  them never interleave (a row lock cannot lock a row that does not exist yet).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import BigInteger, and_, any_, bindparam, cast, or_, select, text, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased

from chartkeeper.fhir.resource import with_server_meta_text
from chartkeeper.store import driver_rows
from chartkeeper.store.access import access_clause
from chartkeeper.store.models import CurrentRow, EverythingScope, HistoryQuery, StoredVersion
from chartkeeper.store.reader import _VERSION_COLS, _stored, current_join, stored_from_columns
from chartkeeper.store.schema import idx_reference, resource, resource_version
from chartkeeper.store.search.common import rows_of

#: pg_advisory_xact_lock key for writes that depend on a search ("CKWRITES" in ASCII).
WRITE_LOCK_KEY = 0x434B575249544553

_ROW_COLS = (
    resource.c.pk,
    resource.c.res_type,
    resource.c.res_id,
    resource.c.version_id,
    resource.c.last_updated,
    resource.c.deleted,
    resource.c.patient_id,
)


def _row(row: Any) -> CurrentRow:
    return CurrentRow(
        pk=row.pk,
        res_type=row.res_type,
        res_id=row.res_id,
        version_id=row.version_id,
        last_updated=row.last_updated,
        deleted=row.deleted,
        patient_id=row.patient_id,
    )


def _key_lock(res_type: str, res_id: str) -> int:
    digest = hashlib.blake2b(f"{res_type}/{res_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_rows(conn: Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], CurrentRow]:
    """The current rows of ``keys``, locked until the transaction ends; SQLite's write lock is
    already held. PostgreSQL: an advisory lock per (type, id) — which also covers an id that has
    no row yet, so two update-as-creates of one new id queue instead of both inserting — then
    FOR UPDATE on the row (against writers that skip this function); taken in a fixed order so
    two lockers never deadlock."""
    wanted = sorted(set(keys))
    found: dict[tuple[str, str], CurrentRow] = {}
    postgres = conn.dialect.name == "postgresql"
    for res_type, res_id in wanted:
        stmt = select(*_ROW_COLS).where(resource.c.res_type == res_type, resource.c.res_id == res_id)
        if postgres:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _key_lock(res_type, res_id)})
            stmt = stmt.with_for_update()
        row = conn.execute(stmt).first()
        if row is not None:
            found[(res_type, res_id)] = _row(row)
    return found


#: Built once: building and cache-keying the statement on every call cost several times the
#: query (every read by id starts here).
_CURRENT_ROW = select(*_ROW_COLS).where(
    resource.c.res_type == bindparam("res_type"), resource.c.res_id == bindparam("res_id")
)


def current_row(conn: Connection, res_type: str, res_id: str) -> CurrentRow | None:
    """The row of (type, id), deleted or not, without a lock."""
    row = driver_rows.first(conn, _CURRENT_ROW, {"res_type": res_type, "res_id": res_id})
    return None if row is None else _row(row)


#: The current row and its version's method and content, in one query (a read by id).
_CURRENT_WITH_VERSION = (
    select(*_ROW_COLS, resource_version.c.method, resource_version.c.content)
    .select_from(current_join())
    .where(resource.c.res_type == bindparam("res_type"), resource.c.res_id == bindparam("res_id"))
)


def current_with_version(
    conn: Connection, res_type: str, res_id: str
) -> tuple[CurrentRow, StoredVersion] | None:
    """The row of (type, id), deleted or not, and its current version, in one statement: on
    PostgreSQL a read by id is then one round trip to the server instead of two."""
    row = driver_rows.first(conn, _CURRENT_WITH_VERSION, {"res_type": res_type, "res_id": res_id})
    if row is None:
        return None
    stored = stored_from_columns(
        row.res_type, row.res_id, row.version_id, row.last_updated, row.deleted, row.method, row.content
    )
    return _row(row), stored


def serialize_writers(conn: Connection) -> None:
    """Make this write transaction exclusive among those that also call this (PostgreSQL);
    SQLite's BEGIN IMMEDIATE already is."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITE_LOCK_KEY})


def history_page(conn: Connection, query: HistoryQuery) -> list[tuple[int, StoredVersion]]:
    """Up to ``query.count`` versions, newest first, each with its version pk (the cursor)."""
    rv = resource_version
    stmt = (
        select(rv.c.pk, *_VERSION_COLS)
        .select_from(rv.join(resource, resource.c.pk == rv.c.resource_pk))
        .where(access_clause(query.access))
        .order_by(rv.c.last_updated.desc(), rv.c.pk.desc())
        .limit(query.count)
    )
    if query.res_id is not None:  # through resource's unique key, then (resource_pk, version_id)
        stmt = stmt.where(resource.c.res_type == query.res_type, resource.c.res_id == query.res_id)
    elif query.res_type is not None:
        stmt = stmt.where(rv.c.res_type == query.res_type)
    if query.since is not None:
        stmt = stmt.where(rv.c.last_updated >= query.since)
    if query.at is not None:
        low, high = query.at
        later = aliased(rv)
        ended = (
            select(later.c.last_updated)
            .where(later.c.resource_pk == rv.c.resource_pk, later.c.version_id == rv.c.version_id + 1)
            .scalar_subquery()
        )
        stmt = stmt.where(rv.c.last_updated <= high, or_(ended.is_(None), ended > low))
    if query.after is not None:
        updated, pk = query.after
        stmt = stmt.where(or_(rv.c.last_updated < updated, and_(rv.c.last_updated == updated, rv.c.pk < pk)))
    return [(row.pk, _stored(row)) for row in conn.execute(stmt)]


#: What $everything adds beyond the compartment: the resources its members point at.
EVERYTHING_REFERENCED = ("Practitioner", "Organization", "Location", "Medication")


_CHUNK = 500


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for at in range(0, len(items), size):
        yield items[at : at + size]


def _referenced_by_compartment(
    conn: Connection, patient_id: str, exclude: frozenset[str] = frozenset()
) -> dict[str, list[str]]:
    """Ids by type of the EVERYTHING_REFERENCED resources the compartment (less the members
    of the ``exclude`` types) points at.

    The members' index rows are one key range each, so the compartment must drive the join,
    not the far larger set of every reference to a practitioner or organization in the store.
    SQLite does so once "|| ''" keeps it off the target_type index. PostgreSQL cannot estimate
    that a ``pk << 16`` range holds a handful of rows and read and sorted every such reference
    instead (16 s for one patient among 10,000), so there the ranges are a LATERAL subquery
    behind an OFFSET 0 fence: one primary-key range scan per member (about 80 ms warm).
    """
    member = aliased(resource)
    in_compartment = [member.c.patient_id == patient_id, member.c.deleted.is_(False)]
    if exclude:
        in_compartment.append(member.c.res_type.not_in(sorted(exclude)))
    if conn.dialect.name == "postgresql":
        refs = (
            select(idx_reference.c.target_type, idx_reference.c.target_id)
            .where(rows_of(idx_reference, member.c.pk))
            .offset(0)
            .lateral()
        )
        stmt = (
            select(refs.c.target_type, refs.c.target_id)
            .select_from(member)
            .join(refs, true())
            .where(*in_compartment, refs.c.target_type.in_(EVERYTHING_REFERENCED))
        )
    else:
        stmt = (
            select(idx_reference.c.target_type, idx_reference.c.target_id)
            .select_from(member)
            .join(idx_reference, rows_of(idx_reference, member.c.pk))
            .where(*in_compartment, idx_reference.c.target_type.concat("").in_(EVERYTHING_REFERENCED))
        )
    found: dict[str, set[str]] = {}
    for target_type, target_id in conn.execute(stmt.distinct()).all():
        found.setdefault(target_type, set()).add(target_id)
    return {res_type: sorted(ids) for res_type, ids in found.items()}


def _visible(stmt: Any, scope: EverythingScope) -> Any:
    """``stmt`` on ``resource`` limited to what ``scope`` shows: current, allowed, ``_since``,
    ``_type``, not excluded."""
    stmt = stmt.where(resource.c.deleted.is_(False), access_clause(scope.access))
    if scope.since is not None:
        stmt = stmt.where(resource.c.last_updated >= scope.since)
    if scope.types is not None:
        stmt = stmt.where(resource.c.res_type.in_(sorted(scope.types)))
    if scope.exclude:
        stmt = stmt.where(resource.c.res_type.not_in(sorted(scope.exclude)))
    return stmt


def everything_keys(conn: Connection, scope: EverythingScope) -> list[int]:
    """Resource pks of ``Patient/[id]/$everything`` in response order: the patient, its
    compartment, then the practitioners, organizations, locations and medications referenced
    from the compartment. Access, ``_since``, ``_type`` and ``exclude`` (compartment types
    left out, with what only they reference) are applied in the SQL."""
    patient_id = scope.patient_id
    me = _visible(
        select(resource.c.pk).where(resource.c.res_type == "Patient", resource.c.res_id == patient_id),
        scope,
    )
    members = _visible(
        select(resource.c.pk).where(
            resource.c.patient_id == patient_id,
            or_(resource.c.res_type != "Patient", resource.c.res_id != patient_id),
        ),
        scope,
    ).order_by(resource.c.pk)
    keys: dict[int, None] = {}
    for stmt in (me, members):
        keys.update(dict.fromkeys(conn.execute(stmt).scalars().all()))
    referenced: list[int] = []
    for res_type, ids in _referenced_by_compartment(conn, patient_id, scope.exclude).items():
        for chunk in _chunks(ids):
            stmt = _visible(
                select(resource.c.pk).where(resource.c.res_type == res_type, resource.c.res_id.in_(chunk)),
                scope,
            )
            referenced.extend(conn.execute(stmt).scalars().all())
    keys.update((pk, None) for pk in sorted(referenced))
    return list(keys)


def still_in_everything(conn: Connection, scope: EverythingScope, pks: Sequence[int]) -> set[int]:
    """Of keys ``everything_keys`` gave earlier (a paging snapshot), those the scope still shows:
    current, allowed, ``_since``, ``_type``, and still the patient, a member of its compartment
    or of a referenced type. The same SQL conditions as ``everything_keys``, by primary key: a
    resource deleted, moved out of the compartment or out of the caller's reach since is dropped.
    (A referenced practitioner the compartment no longer points at stays: the snapshot's.)"""
    patient_id = scope.patient_id
    member = or_(
        and_(resource.c.res_type == "Patient", resource.c.res_id == patient_id),
        resource.c.patient_id == patient_id,
        resource.c.res_type.in_(EVERYTHING_REFERENCED),
    )
    found: set[int] = set()
    for chunk in _chunks(pks):
        if conn.dialect.name == "postgresql":
            array = cast(bindparam("pks", driver_rows.bigint_array(chunk)), ARRAY(BigInteger))
            by_key = resource.c.pk == any_(array)
        else:
            by_key = resource.c.pk.in_([int(pk) for pk in chunk])
        found.update(
            conn.execute(_visible(select(resource.c.pk).where(by_key, member), scope)).scalars().all()
        )
    return found


#: ``read_by_pks`` as driver SQL (the tables of ``schema``): the SQLite form takes one ``?`` per
#: key in ``{marks}``, the PostgreSQL form an array.
_BY_PKS_SELECT = (
    "SELECT r.pk, v.res_type, v.res_id, v.version_id, v.last_updated, v.deleted, v.method, v.content "
    "FROM resource r JOIN resource_version v ON v.resource_pk = r.pk AND v.version_id = r.version_id "
    "WHERE r.pk "
)
_BY_PKS_SQLITE = _BY_PKS_SELECT + "IN ({marks})"
_BY_PKS_POSTGRESQL = _BY_PKS_SELECT + "= ANY(%s::bigint[])"
#: PostgreSQL, for ``serialized``: the JSONB as text (the driver would parse it with json.loads)
_BY_PKS_POSTGRESQL_TEXT = _BY_PKS_POSTGRESQL.replace("v.content ", "v.content::text ")


def read_by_pks(conn: Connection, pks: Sequence[int], *, serialized: bool = False) -> list[StoredVersion]:
    """The current versions of these resources, in the order given.

    ``serialized``: where the stored JSON text can take the server meta without being parsed
    (``with_server_meta_text``; SQLite keeps the text, PostgreSQL gives the JSONB as text),
    return it in ``StoredVersion.serialized`` instead of a parsed ``content``.

    Driver SQL, not a Core ``IN``: a ``$everything`` page reads 1,000 resources, and compiling
    the expanded ``IN`` and processing each row through SQLAlchemy's types took 13 of the 16 ms
    the fetch took (2.5 ms as driver SQL). Keys are integers and always bound as parameters.
    """
    if not pks:
        return []
    by_pk: dict[int, StoredVersion] = {}
    for chunk in _chunks(pks):
        if conn.dialect.name == "postgresql":
            sql = _BY_PKS_POSTGRESQL_TEXT if serialized else _BY_PKS_POSTGRESQL
            rows = driver_rows.fetch_all(conn, sql, (driver_rows.bigint_array(chunk),))
        else:
            marks = ",".join("?" * len(chunk))  # placeholders only: the keys are bound
            rows = driver_rows.fetch_all(conn, _BY_PKS_SQLITE.format(marks=marks), tuple(map(int, chunk)))
        for pk, res_type, res_id, version_id, last_updated, deleted, method, content in rows:
            if serialized and isinstance(content, str):
                text_form = with_server_meta_text(content, version_id, last_updated)
                if text_form is not None:
                    by_pk[pk] = StoredVersion(
                        res_type, res_id, version_id, last_updated, bool(deleted), method, None, text_form
                    )
                    continue
            by_pk[pk] = stored_from_columns(
                res_type, res_id, version_id, last_updated, bool(deleted), method, content
            )
    return [by_pk[pk] for pk in pks if pk in by_pk]
