"""A guard against linking a document to the wrong person through a shared identifier.

Why: the Patient of a C-CDA document is created only if no Patient has its identifier
(``ifNoneExist``), so a second document about the same person joins the first one's record.
But identifiers collide in real feeds (a test SSN reused, a recycled MRN): silently filing one
person's document in another's chart is the worst error a records system can make. When the
identifier matches a stored Patient whose family name or birth date disagrees, the document is
rejected with both identities named, for the master patient index or a clerk to settle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection

from chartkeeper.errors import Gone, NotFound
from chartkeeper.fhir.bundle import Resolver
from chartkeeper.fhir.conditional import parse_criteria
from chartkeeper.fhir.outcome import Issue
from chartkeeper.store import reader

#: read(type, id) → the stored resource, or None
Reader = Callable[[str, str], dict[str, Any] | None]


def store_reader(conn: Connection) -> Reader:
    """Reads inside the writer's open transaction (it sees what this ingest run wrote so far)."""

    def read(res_type: str, res_id: str) -> dict[str, Any] | None:
        try:
            return reader.read_current(conn, res_type, res_id).content
        except (NotFound, Gone):
            return None

    return read


def identity_conflict(bundle: dict[str, Any], resolver: Resolver, read: Reader) -> Issue | None:
    """An issue when the document's Patient identifier belongs to a stored Patient who differs."""
    entry = next((e for e in bundle.get("entry", []) if e["resource"]["resourceType"] == "Patient"), None)
    criteria_text = entry.get("request", {}).get("ifNoneExist") if entry else None
    if entry is None or not criteria_text:
        return None
    matches = resolver(parse_criteria(criteria_text, "Patient"))
    if len(matches) != 1:
        return None  # none: it will be created; several: the planner reports it
    stored = read("Patient", matches[0])
    incoming = entry["resource"]
    if stored is None or _same_person(stored, incoming):
        return None
    ident = incoming["identifier"][0]
    return Issue(
        "error",
        "conflict",
        f"header: recordTarget: identifier {ident.get('system')}|{ident.get('value')} is already "
        f"Patient/{matches[0]} ({_describe(stored)}), but this document's patient is {_describe(incoming)}; "
        "not linked — settle the identifier collision first",
    )


def _same_person(stored: dict[str, Any], incoming: dict[str, Any]) -> bool:
    born = stored.get("birthDate"), incoming.get("birthDate")
    if all(born) and born[0] != born[1]:
        return False
    stored_families = {_norm(n.get("family")) for n in stored.get("name", []) if n.get("family")}
    incoming_families = {_norm(n.get("family")) for n in incoming.get("name", []) if n.get("family")}
    return not (stored_families and incoming_families and not stored_families & incoming_families)


def _norm(value: Any) -> str:
    return " ".join(str(value).split()).casefold()


def _describe(patient: dict[str, Any]) -> str:
    name: dict[str, Any] = next(iter(patient.get("name", [])), {})
    shown = " ".join([*name.get("given", []), name.get("family", "")]).strip() or "no name"
    return f"{shown}, born {patient.get('birthDate', 'unknown')}"
