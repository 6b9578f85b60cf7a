"""Index values extracted from one resource, one list per search-parameter type.

The store writes these rows in the same transaction as the resource; the search layer
(query IR lowered to SQL) reads them. Plain tuples keep extraction fast and picklable
for worker processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class IndexValues:
    """Everything searchable about one resource.

    strings:    (param code, normalized value, exact value). Normalized = case-folded,
                accents removed, whitespace collapsed (FHIR string search is
                case- and accent-insensitive "starts with").
    tokens:     (param code, system or None, code or None, display/text or None).
    references: (param code, target type or None, target id or None, reference as written
                after urn:uuid resolution, e.g. "Patient/123" or an absolute URL).
    dates:      (param code, low, high) as integer microseconds since 1970-01-01T00:00Z,
                the inclusive range the value covers (a date "2020-03" covers the month).
    quantities: (param code, system or None, unit code or None, value).
    numbers:    (param code, value).
    uris:       (param code, uri).
    compartment_patients: ids of the Patients whose compartment holds this resource
                (a Patient is in its own compartment).
    """

    strings: list[tuple[str, str, str]] = field(default_factory=list)
    tokens: list[tuple[str, str | None, str | None, str | None]] = field(default_factory=list)
    references: list[tuple[str, str | None, str | None, str]] = field(default_factory=list)
    dates: list[tuple[str, int, int]] = field(default_factory=list)
    quantities: list[tuple[str, str | None, str | None, float]] = field(default_factory=list)
    numbers: list[tuple[str, float]] = field(default_factory=list)
    uris: list[tuple[str, str]] = field(default_factory=list)
    compartment_patients: list[str] = field(default_factory=list)
