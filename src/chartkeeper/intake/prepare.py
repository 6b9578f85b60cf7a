"""Parse, resolve, validate and index one unit: the CPU-heavy part, run in worker processes."""

from __future__ import annotations

from typing import Any

from chartkeeper.fhir.bundle import (
    ImportPlan,
    Resolver,
    outside_references,
    plan_bundle,
    plan_resource,
    resolve_plan,
    scan_conditional_references,
)
from chartkeeper.fhir.outcome import Issue
from chartkeeper.fhir.validation import parse_json_issues, validate_resource
from chartkeeper.fhir.validation.entry import validate_entry_resource
from chartkeeper.intake.models import DocumentUnit, LinesUnit, Prepared, Reject, Unit
from chartkeeper.store.models import ResourceWrite
from chartkeeper.store.resources import resource_write

__all__ = ["prepare", "prepare_document", "prepare_lines", "resource_write", "validate_entry_resource"]


def prepare(unit: Unit, resolver: Resolver | None = None) -> Prepared:
    if isinstance(unit, LinesUnit):
        return prepare_lines(unit)
    return prepare_document(unit, resolver)


def prepare_document(unit: DocumentUnit, resolver: Resolver | None = None) -> Prepared:
    """A Bundle or a lone resource, all or nothing."""
    prepared = Prepared(bytes_in=len(unit.raw))
    parsed, issues = parse_json_issues(unit.raw)
    if parsed is None:
        prepared.rejects.append(Reject(unit.source, unit.fmt, unit.raw, issues))
        return prepared
    if not isinstance(parsed, dict):
        issue = Issue("fatal", "structure", "expected a JSON object (a FHIR resource or Bundle)", "$")
        prepared.rejects.append(Reject(unit.source, unit.fmt, unit.raw, [issue]))
        return prepared
    if "resourceType" not in parsed:
        # Not FHIR at all (a Bulk Data manifest, a COUNTS.json beside the data): reported as
        # skipped, not quarantined — there is no record in it to lose.
        prepared.skipped = "a JSON object without resourceType is not a FHIR resource"
        return prepared
    return prepare_parsed(parsed, unit, prepared, resolver)


def prepare_parsed(
    parsed: dict[str, Any],
    unit: DocumentUnit,
    prepared: Prepared,
    resolver: Resolver | None = None,
    *,
    validate: bool = True,
) -> Prepared:
    """Plan, resolve, validate and index one parsed resource or Bundle into ``prepared``.

    Shared by FHIR JSON and by the formats mapped to a FHIR Bundle (C-CDA), so every format
    reaches the store through the same checks; rejects carry ``unit``'s source and raw bytes.
    ``validate=False`` only for a Bundle whose resources were already validated in a worker.
    """
    if parsed.get("resourceType") == "Bundle":
        plan, errors = _bundle_plan(parsed, resolver)
        if plan is None:
            prepared.deferred = True
            return prepared
    else:
        errors = []
        plan = plan_resource(parsed, str(parsed.get("resourceType", "$")))
    errors.extend(i for i in plan.issues if i.is_error)
    writes: list[ResourceWrite] = []
    in_bundle = {(e.res_type, e.res_id) for e in plan.entries if e.res_id is not None}
    for entry in plan.entries:
        if entry.skip:
            continue
        if entry.delete:
            assert entry.res_id is not None
            writes.append(ResourceWrite(entry.res_type, entry.res_id, None, "", None, None, delete=True))
            continue
        assert entry.resource is not None and entry.res_id is not None
        found = (
            validate_entry_resource(entry.resource, entry.expression if plan_is_bundle(parsed) else None)
            if validate
            else []
        )
        if found:
            errors.extend(found)
            continue
        writes.append(resource_write(entry.res_type, entry.res_id, entry.resource))
        if plan_is_bundle(parsed):
            prepared.ref_checks.extend(outside_references(entry, in_bundle))
    if errors:
        prepared.rejects.append(Reject(unit.source, unit.fmt, unit.raw, errors))
        prepared.ref_checks.clear()
        return prepared
    prepared.writes = writes
    return prepared


def plan_is_bundle(parsed: dict[str, Any]) -> bool:
    return parsed.get("resourceType") == "Bundle"


def _bundle_plan(bundle: dict[str, Any], resolver: Resolver | None) -> tuple[ImportPlan | None, list[Issue]]:
    errors = [i for i in validate_resource(bundle, entries=False) if i.is_error]
    plan = plan_bundle(bundle)
    scan_conditional_references(plan)
    if plan.needs_store and resolver is None:
        return None, errors
    if plan.ok:
        resolve_plan(plan, resolver)
    return plan, errors


def prepare_lines(unit: LinesUnit) -> Prepared:
    """NDJSON: each non-blank line is one resource; bad lines are rejected one by one."""
    prepared = Prepared(bytes_in=sum(len(line) for line in unit.lines))
    for offset, line in enumerate(unit.lines):
        if not line.strip():
            continue
        source = f"{unit.source}:{unit.first_line + offset}"
        parsed, issues = parse_json_issues(line)
        if parsed is None or not isinstance(parsed, dict):
            issues = issues or [Issue("fatal", "structure", "a line must hold one JSON object", "$")]
            prepared.rejects.append(Reject(source, unit.fmt, line, issues))
            continue
        plan = plan_resource(parsed, str(parsed.get("resourceType", "$")))
        errors = [i for i in plan.issues if i.is_error]
        if not errors and parsed.get("resourceType") == "Bundle":
            errors = [
                Issue(
                    "error",
                    "not-supported",
                    "a Bundle inside NDJSON is not imported; put it in its own file",
                    "Bundle",
                )
            ]
        if not errors:
            errors = validate_entry_resource(parsed, None)
        if errors:
            prepared.rejects.append(Reject(source, unit.fmt, line, errors))
            continue
        entry = plan.entries[0]
        assert entry.res_id is not None
        prepared.writes.append(resource_write(entry.res_type, entry.res_id, parsed))
    return prepared
