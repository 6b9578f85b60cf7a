"""What the chart services return: plain dataclasses, ready to render."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Banner:
    """The strip at the top of every chart page: who this is, and what to be careful about."""

    patient_id: str
    name: str
    birth_date: str
    age: int | None
    sex: str
    mrns: list[tuple[str, str]]
    deceased: str | None
    alerts: list[str]


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of a summary list (a problem, a medication, an allergy, an immunization)."""

    text: str
    when: str
    status: str = ""
    codes: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Visit:
    """One encounter on the timeline."""

    encounter_id: str
    start: str
    end: str
    kind: str
    text: str
    reason: str


@dataclass(frozen=True, slots=True)
class Result:
    """One observation value in a results table."""

    when: str
    test: str
    loinc: str | None
    value: str
    reference: str
    flag: str  # "" normal/unknown, "H" high, "L" low, or the interpretation code given


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    points: list[tuple[str, float]]  # (date, value), oldest first


@dataclass(frozen=True, slots=True)
class Trend:
    """A numeric observation over time (one or more series sharing a unit)."""

    key: str
    title: str
    unit: str
    series: list[Series]


@dataclass(frozen=True, slots=True)
class Document:
    """A clinical note or report; ``text`` is the decoded attachment when it is text."""

    res_type: str
    res_id: str
    title: str
    when: str
    content_type: str
    text: str | None
    attachment_index: int | None


@dataclass(frozen=True, slots=True)
class PatientRow:
    """One row of the patient search results."""

    patient_id: str
    name: str
    birth_date: str
    age: int | None
    sex: str
    identifiers: list[tuple[str, str]]
    last_encounter: str
    score: float = 0.0
