"""What moves between the intake stages (picklable: units go to worker processes and back)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chartkeeper.fhir.outcome import Issue
from chartkeeper.store.models import ResourceWrite, WriteSummary


@dataclass(slots=True)
class DocumentUnit:
    """One JSON document (a Bundle or a single resource): applied all or nothing."""

    source: str
    raw: bytes
    fmt: str = "fhir-json"


@dataclass(slots=True)
class LinesUnit:
    """A run of NDJSON lines: each line stands alone; a bad line is quarantined by itself."""

    source: str
    first_line: int
    lines: list[bytes]
    fmt: str = "fhir-ndjson"


@dataclass(slots=True)
class StreamedBundleUnit:
    """A JSON document too large to parse whole: applied by the writer from a streaming parse."""

    source: str
    path: Path
    fmt: str = "fhir-json"


@dataclass(slots=True)
class CcdaUnit:
    """One C-CDA XML document: mapped to a FHIR transaction Bundle and applied all or nothing."""

    source: str
    raw: bytes
    fmt: str = "ccda"


@dataclass(slots=True)
class UnreadableFile:
    """A file rejected before parsing (empty, unreadable, or not a format FHIR intake takes)."""

    source: str
    raw: bytes
    issue: Issue
    fmt: str = "fhir-json"


@dataclass(slots=True)
class V2MessageUnit:
    """One HL7 v2 message cut from a file (segments CR-separated): mapped and applied alone."""

    source: str
    raw: bytes
    fmt: str = "hl7v2"


Unit = DocumentUnit | LinesUnit
AnyUnit = DocumentUnit | LinesUnit | StreamedBundleUnit | CcdaUnit | UnreadableFile | V2MessageUnit


@dataclass(slots=True)
class Reject:
    source: str
    fmt: str
    raw: bytes
    issues: list[Issue]

    @property
    def reason(self) -> str:
        errors = [i for i in self.issues if i.is_error] or self.issues
        head = errors[0].one_line() if errors else "rejected"
        more = len(errors) - 1
        return head + (f" (and {more} more)" if more > 0 else "")


@dataclass(slots=True)
class Prepared:
    """A unit after parsing, validation and indexing, ready for the writer.

    ref_checks: (type, id, where) of ``Type/id`` references that point outside the bundle;
        the writer checks them against the store in the write transaction.
    deferred: the unit needs the store (conditional create/reference/delete) and is prepared
        again in the writer process with a resolver.
    mapped: for a deferred C-CDA unit, the FHIR Bundle the worker mapped it to.
    """

    writes: list[ResourceWrite] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    ref_checks: list[tuple[str, str, str]] = field(default_factory=list)
    deferred: bool = False
    bytes_in: int = 0
    mapped: bytes | None = None  # a deferred C-CDA unit's Bundle (JSON), so the writer need not map again
    skipped: str | None = None  # why the unit holds nothing to import
    v2: Any = None  # an HL7 v2 message prepared by intake.hl7v2.process (applied by apply_v2)


@dataclass
class IngestReport:
    files: int = 0
    rejected: int = 0
    skipped: list[str] = field(default_factory=list)
    summary: WriteSummary = field(default_factory=WriteSummary)
    seconds: float = 0.0
    quarantined: list[int] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        s = self.summary
        types = sorted(set(s.created) | set(s.updated) | set(s.unchanged) | set(s.deleted))
        by_type: dict[str, dict[str, int]] = {}
        for t in types:
            by_type[t] = {
                "created": s.created[t],
                "updated": s.updated[t],
                "unchanged": s.unchanged[t],
                "deleted": s.deleted[t],
            }
        return {
            "files": self.files,
            "created": _total(s.created),
            "updated": _total(s.updated),
            "unchanged": _total(s.unchanged),
            "deleted": _total(s.deleted),
            "rejected": self.rejected,
            "skipped": len(self.skipped),
            "by_type": by_type,
            "seconds": round(self.seconds, 3),
            "quarantine_ids": self.quarantined,
        }


def _total(counter: Counter[str]) -> int:
    return sum(counter.values())
