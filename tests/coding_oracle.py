"""The coding queue, DNFB report and counts exactly as they were computed before the stored
review: everything the caller may see read into one Snapshot, every encounter validated, queue
items and DNFB rows built from the CaseReviews themselves (the code of ``coding.queue`` before
it read summaries). Tests hold the stored review to this."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from chartkeeper.coding.cases import Snapshot
from chartkeeper.coding.models import CaseReview
from chartkeeper.coding.queue import DnfbRow, QueueItem
from chartkeeper.coding.suggest import Suggester
from chartkeeper.coding.validate import Report, default_validator, review_snapshot
from chartkeeper.security.caller import Caller
from chartkeeper.store.repository import Store

UNCODED_RULES = frozenset({"needs-icd10cm"})
MISSING_RULES = frozenset({"no-diagnosis", "missing-discharge-diagnosis"})


@dataclass(frozen=True)
class Expected:
    queue: list[QueueItem]
    ready: int
    dnfb: list[DnfbRow]


def from_scratch(store: Store, caller: Caller, as_of: date, suggester: Suggester | None = None) -> Expected:
    report = review_snapshot(Snapshot.load(store, caller), default_validator())
    ready, _ = readiness(report)
    return Expected(coding_queue(report, suggester), len(ready), dnfb(report, as_of))


def _state(review: CaseReview) -> str:
    rules = {f.rule for f in review.blocking}
    if rules & MISSING_RULES:
        return "missing"
    if rules & UNCODED_RULES:
        return "uncoded"
    return "invalid"


def coding_queue(report: Report, suggester: Suggester | None = None) -> list[QueueItem]:
    todo = [r for r in report.reviews if r.blocking]
    todo.sort(key=lambda r: (r.case.start or "", r.case.encounter_id))
    items = []
    for review in todo:
        reasons = tuple(dict.fromkeys(f"{f.rule}: {f.message}" for f in review.blocking))
        dxs = []
        for dx in review.case.diagnoses:
            entry: dict[str, Any] = {"resource": dx.resource, "text": dx.text, "icd10": list(dx.icd10)}
            if suggester is not None and (
                not dx.icd10 or any(f.resource == dx.resource for f in review.blocking)
            ):
                if dx.other:
                    system, code, display = dx.other[0]
                    found = suggester.suggest_coding(system, code, display or dx.text, limit=3)
                else:
                    found = suggester.suggest(dx.text, limit=3)
                entry["suggestions"] = [s.as_json() for s in found]
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


def readiness(report: Report) -> tuple[list[str], list[CaseReview]]:
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
    _ready, not_ready = readiness(report)
    rows = []
    for review in not_ready:
        case = review.case
        end = case.end or case.start
        age = (as_of - date.fromisoformat(end[:10])).days if end and len(end) >= 10 else None
        rows.append(DnfbRow(case.encounter_id, case.patient_id, end, age, review.reason()))
    rows.sort(key=lambda r: (-(r.age_days if r.age_days is not None else -1), r.encounter_id))
    return rows
