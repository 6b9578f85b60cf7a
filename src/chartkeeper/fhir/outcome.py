"""FHIR issues and OperationOutcome: how every part of Chartkeeper says what is wrong and where."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["fatal", "error", "warning", "information"]


@dataclass(frozen=True, slots=True)
class Issue:
    """One OperationOutcome.issue.

    code: a FHIR IssueType code (``structure``, ``required``, ``value``, ``invariant``,
        ``invalid``, ``code-invalid``, ``not-found``, ``processing`` ...).
    expression: FHIRPath-style location, e.g. ``Patient.birthDate`` or
        ``Bundle.entry[3].resource.name[0].given[1]``.
    """

    severity: Severity
    code: str
    message: str
    expression: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity in ("fatal", "error")

    def one_line(self) -> str:
        where = f"{self.expression}: " if self.expression else ""
        return f"{where}{self.message}"


def errors_only(issues: list[Issue]) -> list[Issue]:
    return [i for i in issues if i.is_error]


def operation_outcome(issues: list[Issue]) -> dict[str, Any]:
    """The OperationOutcome resource for a list of issues (an 'all OK' one when empty)."""
    if not issues:
        issues = [Issue("information", "informational", "All OK")]
    out = []
    for issue in issues:
        entry: dict[str, Any] = {
            "severity": issue.severity,
            "code": issue.code,
            "diagnostics": issue.message,
        }
        if issue.expression:
            entry["expression"] = [issue.expression]
        out.append(entry)
    return {"resourceType": "OperationOutcome", "issue": out}
