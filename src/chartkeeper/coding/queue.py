"""The coding queue and the DNFB report, both read from one validation pass.

* Queue: encounters whose diagnoses are missing, uncoded or invalid (any blocking finding),
  oldest first, each with its reasons and, for uncoded diagnoses, suggested codes.
* Claim readiness: a finished encounter with no blocking finding is ready to bill.
* DNFB (discharged, not final billed): the finished encounters that are not ready, with the
  days since discharge and the reason. Readiness is computed from the record on every run, not
  stored: a later correction (``assign``) changes it at once, and nothing can go stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from chartkeeper.coding.models import CaseReview, Suggestion
from chartkeeper.coding.suggest import Suggester
from chartkeeper.coding.validate import Report

UNCODED_RULES = frozenset({"needs-icd10cm"})
MISSING_RULES = frozenset({"no-diagnosis", "missing-discharge-diagnosis"})


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


def _state(review: CaseReview) -> str:
    rules = {f.rule for f in review.blocking}
    if rules & MISSING_RULES:
        return "missing"
    if rules & UNCODED_RULES:
        return "uncoded"
    return "invalid"


def coding_queue(
    report: Report, suggester: Suggester | None = None, limit: int | None = None
) -> list[QueueItem]:
    """Encounters to code, oldest first; uncoded diagnoses carry up to 3 suggestions."""
    todo = [r for r in report.reviews if r.blocking]
    todo.sort(key=lambda r: (r.case.start or "", r.case.encounter_id))
    if limit is not None:
        todo = todo[:limit]
    items = []
    for review in todo:
        reasons = tuple(dict.fromkeys(f"{f.rule}: {f.message}" for f in review.blocking))
        dxs = []
        for dx in review.case.diagnoses:
            entry: dict[str, Any] = {"resource": dx.resource, "text": dx.text, "icd10": list(dx.icd10)}
            if suggester is not None and (
                not dx.icd10 or any(f.resource == dx.resource for f in review.blocking)
            ):
                entry["suggestions"] = [s.as_json() for s in _suggest(suggester, dx.other, dx.text)]
            dxs.append(entry)
        case = review.case
        items.append(
            QueueItem(
                case.encounter_id,
                case.patient_id,
                case.start,
                case.end,
                case.status,
                _state(review),
                reasons,
                tuple(dxs),
            )
        )
    return items


def _suggest(suggester: Suggester, other: tuple[tuple[str, str, str], ...], text: str) -> list[Suggestion]:
    if other:
        system, code, display = other[0]
        return suggester.suggest_coding(system, code, display or text, limit=3)
    return suggester.suggest(text, limit=3)


def readiness(report: Report) -> tuple[list[str], list[CaseReview]]:
    """(ids of finished encounters ready to bill, reviews of finished encounters that are not)."""
    ready: list[str] = []
    not_ready: list[CaseReview] = []
    for review in report.reviews:
        if review.case.status != "finished":
            continue
        if review.ready_to_bill:
            ready.append(review.case.encounter_id)
        else:
            not_ready.append(review)
    return ready, not_ready


def dnfb(report: Report, as_of: date) -> list[DnfbRow]:
    """Discharged, not final billed: oldest discharge first, with days since discharge and why."""
    _ready, not_ready = readiness(report)
    rows = []
    for review in not_ready:
        case = review.case
        end = case.end or case.start
        age = (as_of - date.fromisoformat(end[:10])).days if end and len(end) >= 10 else None
        rows.append(DnfbRow(case.encounter_id, case.patient_id, end, age, review.reason()))
    rows.sort(key=lambda r: (-(r.age_days if r.age_days is not None else -1), r.encounter_id))
    return rows
