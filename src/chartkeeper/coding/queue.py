"""The coding queue and the DNFB report, both read from the summaries of one review.

* Queue: encounters whose diagnoses are missing, uncoded or invalid (any blocking finding),
  oldest first, each with its reasons and, for uncoded diagnoses, suggested codes.
* Claim readiness: a finished encounter with no blocking finding is ready to bill.
* DNFB (discharged, not final billed): the finished encounters that are not ready, with the
  days since discharge and the reason.

Readiness is computed from the record, never remembered: the summaries come either from
validating the record now or from the stored review (``coding.review_store``), which is used
only for the patients whose Patient, Encounters, Conditions and Claims have not changed since it
was computed (their fingerprint, taken from the store on every use, is the stored one) and is
recomputed for the others first. A later correction (``assign``) changes the fingerprint of its
patient, so it shows at once, and nothing can go stale. Suggestions and the DNFB ages are made
when asked (they depend on the suggester and the day, not on the record alone).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar

from chartkeeper.coding.models import Suggestion
from chartkeeper.coding.suggest import Suggester
from chartkeeper.coding.summary import DiagnosisSummary, EncounterSummary

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class QueueItem:
    encounter_id: str
    patient_id: str | None
    start: str | None
    end: str | None
    status: str
    state: str  # "missing", "uncoded" or "invalid" (the worst one)
    reasons: tuple[str, ...]
    diagnoses: tuple[dict[str, Any], ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "encounter": self.encounter_id,
            "patient": self.patient_id,
            "start": self.start,
            "end": self.end,
            "status": self.status,
            "state": self.state,
            "reasons": list(self.reasons),
            "diagnoses": list(self.diagnoses),
        }


@dataclass(frozen=True, slots=True)
class DnfbRow:
    encounter_id: str
    patient_id: str | None
    discharged: str | None
    age_days: int | None
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {
            "encounter": self.encounter_id,
            "patient": self.patient_id,
            "discharged": self.discharged,
            "age_days": self.age_days,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list: its rows, its number (from 1, clamped into range), pages, total."""

    rows: list[T]
    page: int
    pages: int
    total: int


def page_bounds(total: int, page: int, size: int) -> tuple[int, int, int]:
    """(page clamped into 1..pages, pages, offset of its first row) for ``total`` rows."""
    pages = max(1, -(-total // size))
    page = min(max(page, 1), pages)
    return page, pages, (page - 1) * size


def queue_order(summaries: Iterable[EncounterSummary]) -> list[EncounterSummary]:
    """The queue's order: oldest start first, then encounter id."""
    return sorted(summaries, key=lambda s: (s.start or "", s.encounter_id))


def coding_queue(
    summaries: Iterable[EncounterSummary], suggester: Suggester | None = None, limit: int | None = None
) -> list[QueueItem]:
    """Encounters to code, oldest first; uncoded diagnoses carry up to 3 suggestions."""
    todo = queue_order(summaries)
    return queue_items(todo if limit is None else todo[:limit], suggester)


def queue_items(ordered: Sequence[EncounterSummary], suggester: Suggester | None) -> list[QueueItem]:
    """Queue items for these summaries, in the order given (suggestions made for these only)."""
    return [
        QueueItem(
            s.encounter_id,
            s.patient_id,
            s.start,
            s.end,
            s.status,
            s.state,
            s.reasons,
            tuple(_diagnosis(dx, suggester) for dx in s.diagnoses),
        )
        for s in ordered
    ]


def _diagnosis(dx: DiagnosisSummary, suggester: Suggester | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"resource": dx.resource, "text": dx.text, "icd10": list(dx.icd10)}
    if suggester is not None and dx.wants_suggestions:
        entry["suggestions"] = [s.as_json() for s in _suggest(suggester, dx.other, dx.text)]
    return entry


def _suggest(suggester: Suggester, other: tuple[str, str, str] | None, text: str) -> list[Suggestion]:
    if other:
        system, code, display = other
        return suggester.suggest_coding(system, code, display or text, limit=3)
    return suggester.suggest(text, limit=3)


def dnfb(summaries: Iterable[EncounterSummary], as_of: date) -> list[DnfbRow]:
    """Discharged, not final billed: oldest discharge first, with days since discharge and why.

    The finished encounters of the queue are exactly the finished ones not ready to bill."""
    rows = []
    for s in summaries:
        if not s.finished:
            continue
        end = s.end or s.start
        age = (as_of - date.fromisoformat(end[:10])).days if end and len(end) >= 10 else None
        rows.append(DnfbRow(s.encounter_id, s.patient_id, end, age, s.reason()))
    rows.sort(key=lambda r: (-(r.age_days if r.age_days is not None else -1), r.encounter_id))
    return rows
