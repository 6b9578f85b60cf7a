"""The enterprise (golden) record: one person's view across every Patient record merged into one.

Follows ``Patient.link`` (replaced-by up to the survivor, replaces down to every record it
absorbed) and assembles, per field, the survivor's value first and then every other value seen,
each with the record it came from; fields on which the records disagree are listed, so a
clerk sees at once what the merge left to reconcile.
"""

from __future__ import annotations

from typing import Any

import orjson

from chartkeeper.errors import Gone, NotFound
from chartkeeper.store.repository import Store

_MAX_HOPS = 50


def _links(patient: dict[str, Any], kind: str) -> list[str]:
    out = []
    for link in patient.get("link") or []:
        ref = str((link.get("other") or {}).get("reference", ""))
        if link.get("type") == kind and "Patient/" in ref:
            out.append(ref.rsplit("Patient/", 1)[1])
    return out


def _read(store: Store, patient_id: str) -> dict[str, Any] | None:
    try:
        return store.read("Patient", patient_id)
    except (NotFound, Gone):
        return None


def members(store: Store, patient_id: str) -> tuple[str, list[dict[str, Any]]]:
    """(survivor id, [survivor, then every record it replaced, depth first])."""
    current = _read(store, patient_id)
    if current is None:
        raise NotFound(f"Patient/{patient_id} does not exist")
    for _ in range(_MAX_HOPS):
        up = _links(current, "replaced-by")
        nxt = _read(store, up[0]) if up else None
        if nxt is None:
            break
        current = nxt
    survivor = str(current["id"])
    seen = {survivor}
    ordered = [current]
    stack = list(reversed(_links(current, "replaces")))
    while stack and len(ordered) < _MAX_HOPS:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        record = _read(store, pid)
        if record is not None:
            ordered.append(record)
            stack.extend(reversed(_links(record, "replaces")))
    return survivor, ordered


def _values(records: list[dict[str, Any]], field: str) -> list[dict[str, Any]]:
    """Distinct values of a field across records, the survivor's first, each with its source."""
    out: list[dict[str, Any]] = []
    index: dict[bytes, dict[str, Any]] = {}
    for record in records:
        raw = record.get(field)
        items = raw if isinstance(raw, list) else ([] if raw is None else [raw])
        for item in items:
            if field == "identifier" and isinstance(item, dict):
                item = {k: v for k, v in item.items() if k != "use"}  # a merge marks taken ones old
            key = orjson.dumps(item, option=orjson.OPT_SORT_KEYS)
            if key in index:
                index[key]["sources"].append(f"Patient/{record['id']}")
                continue
            entry = {"value": item, "sources": [f"Patient/{record['id']}"]}
            index[key] = entry
            out.append(entry)
    return out


FIELDS = (
    "name",
    "identifier",
    "birthDate",
    "gender",
    "telecom",
    "address",
    "maritalStatus",
    "deceasedBoolean",
)
SINGLE = ("birthDate", "gender", "maritalStatus", "deceasedBoolean")


def golden_record(store: Store, patient_id: str) -> dict[str, Any]:
    """The golden record of the person ``patient_id`` belongs to."""
    survivor, records = members(store, patient_id)
    fields = {f: _values(records, f) for f in FIELDS}
    conflicts = [f for f in SINGLE if len(fields[f]) > 1]
    return {
        "id": f"Patient/{survivor}",
        "members": [
            {"id": f"Patient/{r['id']}", "active": r.get("active", True), "versionId": r["meta"]["versionId"]}
            for r in records
        ],
        "fields": {f: v for f, v in fields.items() if v},
        "conflicts": conflicts,
    }
