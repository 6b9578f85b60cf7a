"""SQL of the coding work queues' stored review (``coding_review``) and the reads that keep it fresh.

``chartkeeper.coding`` decides what a review is and serialises it; these functions only stamp,
read and store (each takes the caller's connection, so it joins the caller's transaction).

A compartment's **stamp** summarises its current (not deleted) resources of the given types:
how many, the sum of their version numbers, the latest last-updated instant, and the sum of a
mix of (resource key, version number) modulo a prime. A version's content never changes, so the
set of (key, version) pairs is the compartment's content; the stamp changes with every single
write for certain (an update adds one to a version number, a create or a delete or a move to
another compartment changes the count) and with several writes unless all four sums cancel
exactly at once. ``stamps`` computes it for every compartment in one grouped query;
``compartment_rows`` returns the rows a review is computed from, and ``stamp_of`` stamps them
the same way, so a stored review always carries the stamp of exactly what it was computed from.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.engine import Connection

from chartkeeper.fhir.search.extract import hash_identity
from chartkeeper.store.access import access_clause
from chartkeeper.store.dialect import upsert
from chartkeeper.store.models import AccessFilter
from chartkeeper.store.reader import current_join
from chartkeeper.store.schema import coding_review, idx_reference, resource, resource_version

_CHUNK = 500
#: A Mersenne prime: (key * 1009 + version) mod P squared stays below 2**62 in SQL integers.
_P = 2_147_483_647
_NO_COMPARTMENT = ""


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _mix(pk: int, version: int) -> int:
    x = (pk * 1009 + version) % _P
    return x * x % _P


def stamp_text(count: int, versions: int, latest: int, mixed: int) -> str:
    return f"{count}.{versions}.{latest}.{mixed}"


# -- stamps ------------------------------------------------------------------------------------------
_MIXED = (
    ((resource.c.pk * 1009 + resource.c.version_id) % _P)
    * ((resource.c.pk * 1009 + resource.c.version_id) % _P)
    % _P
)


def stamps(conn: Connection, types: Sequence[str]) -> dict[str, str]:
    """Compartment id ('' for resources in none) -> stamp, for every compartment holding a current
    resource of ``types``: one grouped query over ``resource`` (no content read)."""
    stmt = (
        select(
            resource.c.patient_id,
            func.count().label("n"),
            func.sum(resource.c.version_id).label("versions"),
            func.max(resource.c.last_updated).label("latest"),
            func.sum(_MIXED).label("mixed"),
        )
        .where(resource.c.res_type.in_(sorted(types)), resource.c.deleted.is_(False))
        .group_by(resource.c.patient_id)
    )
    return {
        row.patient_id or _NO_COMPARTMENT: stamp_text(
            int(row.n), int(row.versions), int(row.latest), int(row.mixed) % _P
        )
        for row in conn.execute(stmt)
    }


@dataclass(frozen=True, slots=True)
class CompartmentRow:
    """One current resource of a compartment, with what its stamp is made of."""

    compartment: str
    res_type: str
    res_id: str
    pk: int
    version_id: int
    last_updated: int
    content: dict[str, Any]


def stamp_of(rows: Iterable[CompartmentRow]) -> str:
    """The stamp of these rows, equal to ``stamps`` for the compartment they are all of."""
    count = versions = latest = mixed = 0
    for row in rows:
        count += 1
        versions += row.version_id
        latest = max(latest, row.last_updated)
        mixed += _mix(row.pk, row.version_id)
    return stamp_text(count, versions, latest, mixed % _P)


def compartment_rows(
    conn: Connection, compartments: Sequence[str], types: Sequence[str]
) -> Iterator[CompartmentRow]:
    """The current resources of ``types`` in these compartments ('' for those in none), in key
    order (the order ``Snapshot.load`` reads them in), content exactly as stored."""
    wanted = sorted(types)
    ids = sorted({c for c in compartments if c != _NO_COMPARTMENT})
    conditions = []
    for chunk in _chunks(ids):
        conditions.append(resource.c.patient_id.in_(list(chunk)))
    if _NO_COMPARTMENT in compartments:
        conditions.append(resource.c.patient_id.is_(None))
    rows: list[Any] = []
    for where in conditions:
        stmt = (
            select(
                resource.c.patient_id,
                resource.c.res_type,
                resource.c.res_id,
                resource.c.pk,
                resource.c.version_id,
                resource.c.last_updated,
                resource_version.c.content,
            )
            .select_from(current_join())
            .where(where, resource.c.res_type.in_(wanted), resource.c.deleted.is_(False))
        )
        rows.extend(conn.execute(stmt))
    rows.sort(key=lambda r: r.pk)
    for r in rows:
        if r.content is not None:
            yield CompartmentRow(
                r.patient_id or _NO_COMPARTMENT,
                r.res_type,
                r.res_id,
                r.pk,
                r.version_id,
                r.last_updated,
                r.content,
            )


# -- references across compartments ----------------------------------------------------------------
_LOCATE = select(resource.c.res_id, resource.c.patient_id).where(
    resource.c.res_type == bindparam("t"),
    resource.c.res_id.in_(bindparam("ids", expanding=True)),
    resource.c.deleted.is_(False),
)


def locate(conn: Connection, refs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(type, id) -> compartment ('' for none) of those that are current resources."""
    by_type: dict[str, set[str]] = {}
    for res_type, res_id in refs:
        by_type.setdefault(res_type, set()).add(res_id)
    found: dict[tuple[str, str], str] = {}
    for res_type, ids in sorted(by_type.items()):
        for chunk in _chunks(sorted(ids)):
            for row in conn.execute(_LOCATE, {"t": res_type, "ids": list(chunk)}):
                found[(res_type, row.res_id)] = row.patient_id or _NO_COMPARTMENT
    return found


def referrers(
    conn: Connection,
    target: tuple[str, str],
    sources: Sequence[tuple[str, str]],
    access: AccessFilter,
) -> list[tuple[str, str, str]]:
    """(type, id, compartment) of the current resources that ``access`` allows and whose
    reference search parameter (type, code) of ``sources`` points at ``target`` (type, id), as
    the search index records it."""
    hashes = [hash_identity(res_type, code) for res_type, code in sources]
    stmt = (
        select(resource.c.res_type, resource.c.res_id, resource.c.patient_id)
        .select_from(idx_reference.join(resource, resource.c.pk == idx_reference.c.resource_pk))
        .where(
            idx_reference.c.target_type == target[0],
            idx_reference.c.target_id == target[1],
            idx_reference.c.hash_identity.in_(hashes),
            resource.c.res_type.in_(sorted({t for t, _ in sources})),
            resource.c.deleted.is_(False),
            access_clause(access),
        )
        .distinct()
    )
    return [(r.res_type, r.res_id, r.patient_id or _NO_COMPARTMENT) for r in conn.execute(stmt)]


# -- the stored rows ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ReviewHead:
    """A stored row without its reviews: enough to tell whether it is current, and to count."""

    compartment: str
    fingerprint: str
    queued: int
    unbilled: int
    ready: int
    links: str | None


@dataclass(frozen=True, slots=True)
class ReviewRow:
    """A whole row to store: the head and the serialised reviews."""

    head: ReviewHead
    reviews: str


def heads(conn: Connection) -> dict[str, ReviewHead]:
    t = coding_review.c
    stmt = select(t.patient_id, t.fingerprint, t.queued, t.unbilled, t.ready, t.links)
    return {
        r.patient_id: ReviewHead(r.patient_id, r.fingerprint, r.queued, r.unbilled, r.ready, r.links)
        for r in conn.execute(stmt)
    }


_BODIES = select(coding_review.c.patient_id, coding_review.c.fingerprint, coding_review.c.reviews).where(
    coding_review.c.patient_id.in_(bindparam("ids", expanding=True))
)


def bodies(conn: Connection, compartments: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Compartment -> (fingerprint, serialised reviews) of the stored rows among ``compartments``."""
    found: dict[str, tuple[str, str]] = {}
    for chunk in _chunks(sorted(set(compartments))):
        for row in conn.execute(_BODIES, {"ids": list(chunk)}):
            found[row.patient_id] = (row.fingerprint, row.reviews)
    return found


def store_rows(conn: Connection, rows: Sequence[ReviewRow], now: int) -> None:
    """Insert or replace these rows whole (in key order, so concurrent writers lock alike)."""
    ordered = sorted(rows, key=lambda r: r.head.compartment)
    upsert(
        conn,
        coding_review,
        "patient_id",
        [
            {
                "patient_id": r.head.compartment,
                "fingerprint": r.head.fingerprint,
                "queued": r.head.queued,
                "unbilled": r.head.unbilled,
                "ready": r.head.ready,
                "links": r.head.links,
                "reviews": r.reviews,
                "refreshed_at": now,
            }
            for r in ordered
        ],
    )


def delete_rows(conn: Connection, compartments: Sequence[str]) -> None:
    for chunk in _chunks(sorted(set(compartments))):
        conn.execute(delete(coding_review).where(coding_review.c.patient_id.in_(list(chunk))))


def clear(conn: Connection) -> None:
    """Drop every stored review (they are derived: the next use rebuilds them)."""
    conn.execute(delete(coding_review))
