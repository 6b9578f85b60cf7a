"""Validating one resource of a Bundle entry (or a lone resource) with issues located in the entry.

Shared by ingest (``intake``) and the REST API (``records``), which both check each resource
before it is written.
"""

from __future__ import annotations

from typing import Any

from chartkeeper.fhir.outcome import Issue
from chartkeeper.fhir.validation.validator import validate_resource


def validate_entry_resource(resource: dict[str, Any], entry_expression: str | None) -> list[Issue]:
    issues = [i for i in validate_resource(resource) if i.is_error]
    if entry_expression is None or not issues:
        return issues
    res_type = str(resource.get("resourceType"))
    relocated = []
    for issue in issues:
        expr = issue.expression or ""
        if expr == res_type or expr.startswith(res_type + ".") or expr.startswith(res_type + "["):
            expr = f"{entry_expression}.resource" + expr[len(res_type) :]
        else:
            expr = f"{entry_expression}.resource" + (f".{expr}" if expr else "")
        relocated.append(Issue(issue.severity, issue.code, issue.message, expr))
    return relocated
