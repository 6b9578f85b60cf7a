"""Merge and unmerge two Patients, as FHIR defines it, in one database transaction each.

Merge (the ``Patient/$merge`` semantics): the source Patient gets ``link`` replaced-by the
target and ``active: false``; the target gets ``link`` replaces the source and takes the
source's identifiers it lacks (``use: old``); every resource pointing at the source is
re-pointed at the target. Each is a new version; the merge record keeps, per resource, the
version before and after, so unmerge can write back exactly the content the merge replaced.

Concurrency: all rows involved are locked before they are read (PostgreSQL FOR UPDATE; SQLite's
single writer), so a concurrent write either lands before the merge (and is merged) or after
it (and then fails on its stale version and is retried by its client): nothing is overwritten.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection

from chartkeeper.errors import Conflict, InvalidInput, NotFound
from chartkeeper.fhir.instant import now_us
from chartkeeper.mpi.models import MergeResult
from chartkeeper.store import mpi_review as sql
from chartkeeper.store.models import ResourceWrite
from chartkeeper.store.repository import Store
from chartkeeper.store.resources import resource_write

Key = tuple[str, str]


def repoint(value: Any, source: str, target: str) -> Any:
    """A copy of ``value`` with every reference to Patient/source made to Patient/target."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "reference" and isinstance(item, str) and _points_at(item, source):
                out[key] = item[: -len(source)] + target
            else:
                out[key] = repoint(item, source, target)
        return out
    if isinstance(value, list):
        return [repoint(item, source, target) for item in value]
    return value


def _points_at(reference: str, patient_id: str) -> bool:
    return reference == f"Patient/{patient_id}" or reference.endswith(f"/Patient/{patient_id}")


def merged_pair(source: dict[str, Any], target: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The new source and target Patients (pure: both inputs are left as they were)."""
    src, tgt = copy.deepcopy(source), copy.deepcopy(target)
    src["active"] = False
    src["link"] = [
        *[x for x in src.get("link", []) if x.get("type") != "replaced-by"],
        {"other": {"reference": f"Patient/{tgt['id']}"}, "type": "replaced-by"},
    ]
    have = {(i.get("system"), i.get("value")) for i in tgt.get("identifier", [])}
    taken = [
        {**ident, "use": "old"}
        for ident in source.get("identifier", [])
        if (ident.get("system"), ident.get("value")) not in have
    ]
    if taken:
        tgt["identifier"] = [*tgt.get("identifier", []), *taken]
    tgt["link"] = [*tgt.get("link", []), {"other": {"reference": f"Patient/{src['id']}"}, "type": "replaces"}]
    return src, tgt


def merge(
    store: Store,
    source_id: str,
    target_id: str,
    merged_by: str,
    reason: str,
    also: Callable[[Connection, int], None] | None = None,
) -> MergeResult:
    """Merge ``source_id`` into ``target_id``; run again for the same pair it moves stragglers
    (resources written for the source after the merge) into the same merge record.

    ``also(conn, merge_id)`` runs inside the same transaction (the review decision that asked
    for the merge is recorded with it: both happen, or neither)."""
    if source_id == target_id:
        raise InvalidInput("a Patient cannot be merged into itself")
    if not reason.strip():
        raise InvalidInput("a merge needs a reason")
    now = now_us()
    with store.transaction() as conn:
        versions = sql.lock_resources(conn, [("Patient", source_id), ("Patient", target_id)])
        for pid in (source_id, target_id):
            if ("Patient", pid) not in versions:
                raise NotFound(f"Patient/{pid} does not exist (or is deleted)")
        previous = _check_pair(conn, source_id, target_id)
        pointing = sql.resources_pointing_at(conn, source_id)
        versions.update(sql.lock_resources(conn, pointing))
        current = sql.contents(conn, [*pointing, *_patients(previous, source_id, target_id)])
        writes, befores = _plan(current, source_id, target_id, sweep=previous is not None)
        store.apply(writes, conn)
        after = sql.lock_resources(conn, [(w.res_type, w.res_id) for w in writes])
        items = [(t, i, befores[(t, i)], after[(t, i)]) for t, i in after]
        merge_pk = (
            previous
            if previous is not None
            else sql.add_merge(
                conn, source_id=source_id, target_id=target_id, now=now, merged_by=merged_by, reason=reason
            )
        )
        sql.add_merge_items(conn, merge_pk, items)
        if also is not None:
            also(conn, merge_pk)
    return MergeResult(merge_pk, source_id, target_id, [f"{t}/{i}/_history/{v}" for t, i, _, v in items])


def _patients(previous: int | None, source_id: str, target_id: str) -> list[Key]:
    return [] if previous is not None else [("Patient", source_id), ("Patient", target_id)]


def _check_pair(conn: Connection, source_id: str, target_id: str) -> int | None:
    """The merge to sweep again when this pair is already merged; errors for impossible pairs."""
    for row in sql.merges(conn, source_id, state="merged"):
        if row.source_id == source_id:
            if row.target_id == target_id:
                return int(row.pk)
            raise Conflict(f"Patient/{source_id} is already merged into Patient/{row.target_id}")
    for row in sql.merges(conn, target_id, state="merged"):
        if row.source_id == target_id:
            raise Conflict(
                f"Patient/{target_id} was merged into Patient/{row.target_id}: merge into the survivor"
            )
    return None


def _plan(
    current: dict[Key, tuple[int, dict[str, Any]]], source_id: str, target_id: str, sweep: bool
) -> tuple[list[ResourceWrite], dict[Key, int]]:
    writes: list[ResourceWrite] = []
    befores: dict[Key, int] = {}
    if not sweep:
        src, tgt = merged_pair(current[("Patient", source_id)][1], current[("Patient", target_id)][1])
        for key, content in ((("Patient", source_id), src), (("Patient", target_id), tgt)):
            writes.append(resource_write(key[0], key[1], content))
            befores[key] = current[key][0]
    for key, (version, content) in sorted(current.items()):
        if key[0] == "Patient" and key[1] in (source_id, target_id):
            continue
        moved = repoint(content, source_id, target_id)
        if moved != content:
            writes.append(resource_write(key[0], key[1], moved))
            befores[key] = version
    return writes, befores


def unmerge(
    store: Store,
    merge_id: int,
    unmerged_by: str,
    reason: str,
    also: Callable[[Connection, str, str], None] | None = None,
) -> MergeResult:
    """Write back, as new versions, exactly the content each resource had before the merge.

    Refuses (Conflict) when a resource the merge wrote has changed since: restoring it would
    silently undo that later change; such a chart needs a person, not a blind undo.
    ``also(conn, source, target)`` runs in the same transaction (the decision it implies).
    """
    if not reason.strip():
        raise InvalidInput("an unmerge needs a reason")
    now = now_us()
    with store.transaction() as conn:
        row = sql.merge_row(conn, merge_id, for_update=True)
        if row is None:
            raise NotFound(f"merge {merge_id} does not exist")
        if row.state != "merged":
            raise Conflict(f"merge {merge_id} was already undone")
        items = sql.merge_items(conn, merge_id)
        keys = [(i.res_type, i.res_id) for i in items]
        latest: dict[Key, int] = {}
        for item in items:  # a resource swept twice: its last item says what the merge left
            latest[(item.res_type, item.res_id)] = item.version_after
        first = {}
        for item in reversed(items):
            first[(item.res_type, item.res_id)] = item.version_before
        current = sql.lock_resources(conn, keys)
        changed = sorted(f"{t}/{i}" for (t, i), v in latest.items() if current.get((t, i)) != v)
        if changed:
            raise Conflict(f"changed since the merge, so not restored blindly: {', '.join(changed[:10])}")
        before = sql.contents(conn, list(first), first)
        writes = [resource_write(t, i, content) for (t, i), (_v, content) in sorted(before.items())]
        store.apply(writes, conn)
        after = sql.lock_resources(conn, list(first))
        sql.mark_unmerged(conn, merge_id, now=now, by=unmerged_by, reason=reason)
        if also is not None:
            also(conn, row.source_id, row.target_id)
    return MergeResult(
        merge_id,
        row.source_id,
        row.target_id,
        [f"{t}/{i}/_history/{v}" for (t, i), v in sorted(after.items())],
    )
