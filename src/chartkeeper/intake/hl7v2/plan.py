"""Mapped resources → the normal intake preparation: validation, search indexing, write rows.

HL7 v2 intake writes nothing of its own: each resource a message maps to goes through the
same validator (``validate_entry_resource``) and the same serialization and search-index
extraction (``resource_write``) as a resource of a FHIR Bundle arriving at ``chartkeeper
ingest``, and the writer applies the rows with the same ``writer.apply_writes``. The Bundle
planning stage (fullUrl maps, conditional references, reference rewriting) is skipped: a
message's resources arrive with their final ids and ``Type/id`` references already, and that
stage cost about 1 ms per message, more than validating and indexing its resources.
``to_bundle`` still shows the message as the FHIR transaction it amounts to.
"""

from __future__ import annotations

from typing import Any

from chartkeeper.fhir.outcome import Issue
from chartkeeper.intake.hl7v2.mapping import Mapped
from chartkeeper.intake.prepare import resource_write, validate_entry_resource
from chartkeeper.store.models import ResourceWrite

FORMAT = "hl7v2"


def to_bundle(mapped: Mapped) -> dict[str, Any]:
    """The message as a FHIR transaction Bundle (PUT ``Type/id`` per resource)."""
    entries = [
        {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
        for r in mapped.resources
    ]
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def prepare_mapped(mapped: Mapped) -> tuple[list[ResourceWrite], list[Issue]]:
    """Validate and index the message's resources; issues name the FHIR element when invalid."""
    writes: list[ResourceWrite] = []
    issues: list[Issue] = []
    for index, resource in enumerate(mapped.resources):
        found = validate_entry_resource(resource, f"Bundle.entry[{index}]")
        if found:
            issues.extend(found)
        elif not issues:
            writes.append(resource_write(resource["resourceType"], resource["id"], resource))
    return ([] if issues else writes), issues
