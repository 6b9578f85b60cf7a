"""What the coding queue and the DNFB report need of a reviewed encounter, and its compact JSON.

The queue, the DNFB report and their counts read only the encounters with a blocking finding
(a finished encounter without one is ready to bill and only counted), and of those only a few
fields. ``summarize`` keeps exactly those; the from-scratch computation and the stored review
(``coding.review_store``) both answer through summaries, so both answers are made by the same
code from the same facts, and ``encode``/``decode`` must round-trip them exactly (tested).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from chartkeeper.coding.models import CaseReview

UNCODED_RULES = frozenset({"needs-icd10cm"})
MISSING_RULES = frozenset({"no-diagnosis", "missing-discharge-diagnosis"})
#: Bump when the serialised shape changes (it is part of the stored review's fingerprint).
FORMAT = 1


@dataclass(frozen=True, slots=True)
class DiagnosisSummary:
    """A diagnosis as the queue lists it; ``other`` and ``text`` are what suggestions start from."""

    resource: str
    text: str
    icd10: tuple[str, ...]
    other: tuple[str, str, str] | None  # the first coding in another system (system, code, display)
    wants_suggestions: bool  # uncoded, or a blocking finding on this diagnosis


@dataclass(frozen=True, slots=True)
class EncounterSummary:
    """An encounter with at least one blocking finding (it is in the coding queue)."""

    encounter_id: str
    patient_id: str | None
    start: str | None
    end: str | None
    status: str
    rules: tuple[str, ...]  # the blocking rules, each once, in the order found
    reasons: tuple[str, ...]  # "rule: message" of the blocking findings, each once
    diagnoses: tuple[DiagnosisSummary, ...]

    @property
    def state(self) -> str:
        """ "missing", "uncoded" or "invalid": the worst of the blocking rules."""
        rules = set(self.rules)
        if rules & MISSING_RULES:
            return "missing"
        if rules & UNCODED_RULES:
            return "uncoded"
        return "invalid"

    @property
    def finished(self) -> bool:
        return self.status == "finished"

    def reason(self) -> str:
        """The DNFB reason: the blocking rules, one line (``CaseReview.reason``)."""
        return ", ".join(self.rules)


@dataclass(frozen=True, slots=True)
class Totals:
    """Encounters in the coding queue, finished ones not ready to bill (DNFB), ready ones."""

    queued: int = 0
    unbilled: int = 0
    ready: int = 0

    def __add__(self, other: Totals) -> Totals:
        return Totals(self.queued + other.queued, self.unbilled + other.unbilled, self.ready + other.ready)


def summarize(review: CaseReview) -> EncounterSummary | None:
    """The summary of a review with a blocking finding; None when it has none."""
    blocking = review.blocking
    if not blocking:
        return None
    case = review.case
    flagged = {f.resource for f in blocking}
    diagnoses = tuple(
        DiagnosisSummary(
            dx.resource,
            dx.text,
            dx.icd10,
            dx.other[0] if dx.other else None,
            not dx.icd10 or dx.resource in flagged,
        )
        for dx in case.diagnoses
    )
    return EncounterSummary(
        case.encounter_id,
        case.patient_id,
        case.start,
        case.end,
        case.status,
        tuple(dict.fromkeys(f.rule for f in blocking)),
        tuple(dict.fromkeys(f"{f.rule}: {f.message}" for f in blocking)),
        diagnoses,
    )


def totals_of(reviews: Iterable[CaseReview]) -> Totals:
    queued = unbilled = ready = 0
    for review in reviews:
        blocked = bool(review.blocking)
        finished = review.case.status == "finished"
        queued += blocked
        unbilled += blocked and finished
        ready += finished and not blocked
    return Totals(queued, unbilled, ready)


# -- compact JSON: arrays, not objects (thousands per page) ----------------------------------------
def _dx_json(dx: DiagnosisSummary) -> list[Any]:
    return [dx.resource, dx.text, list(dx.icd10), list(dx.other) if dx.other else None, dx.wants_suggestions]


def _dx(data: list[Any]) -> DiagnosisSummary:
    resource, text, icd10, other, wants = data
    first = (other[0], other[1], other[2]) if other else None
    return DiagnosisSummary(resource, text, tuple(icd10), first, wants)


def encode(summaries: Iterable[EncounterSummary]) -> str:
    return orjson.dumps(
        [
            [
                s.encounter_id,
                s.patient_id,
                s.start,
                s.end,
                s.status,
                list(s.rules),
                list(s.reasons),
                [_dx_json(d) for d in s.diagnoses],
            ]
            for s in summaries
        ]
    ).decode()


def decode(text: str) -> list[EncounterSummary]:
    return [
        EncounterSummary(eid, pid, start, end, status, tuple(rules), tuple(reasons), tuple(map(_dx, dxs)))
        for eid, pid, start, end, status, rules, reasons, dxs in orjson.loads(text)
    ]
