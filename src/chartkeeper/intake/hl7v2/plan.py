"""Mapped resources → a FHIR transaction Bundle → the normal intake preparation.

HL7 v2 intake writes nothing of its own: the resources a message maps to go into a
transaction Bundle (PUT ``Type/id`` per resource) and through the same validation, search
indexing and write planning as any FHIR Bundle arriving at ``chartkeeper ingest``.
"""

from __future__ import annotations

from typing import Any

import orjson

from chartkeeper.fhir.outcome import Issue
from chartkeeper.intake.hl7v2.mapping import Mapped
from chartkeeper.intake.models import DocumentUnit, Prepared
from chartkeeper.intake.prepare import prepare_document

FORMAT = "hl7v2"


def to_bundle(mapped: Mapped) -> dict[str, Any]:
    entries = [
        {
            "resource": r,
            "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
        }
        for r in mapped.resources
    ]
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def prepare_mapped(mapped: Mapped, source: str) -> tuple[Prepared, list[Issue]]:
    """Validate and index the message's resources; the issues name FHIR elements when invalid."""
    if not mapped.resources:
        return Prepared(), []
    unit = DocumentUnit(source, orjson.dumps(to_bundle(mapped)), FORMAT)
    prepared = prepare_document(unit)
    issues = [issue for reject in prepared.rejects for issue in reject.issues]
    return prepared, issues
