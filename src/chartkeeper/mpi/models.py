"""Plain data of the master patient index, passed between its modules and to the shells."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

PairDecision = Literal["link", "review", "nonmatch"]
Verdict = Literal["merge", "distinct"]
Policy = Literal["review", "merge"]

#: Defaults chosen from measured precision/recall (docs/mpi.md, benchmarks/mpi.py): on FEBRL3,
#: FEBRL4 and the demo population no pair at or above 0.99 was a false match, and below 0.5
#: almost none was a true one; between them a person decides.
DEFAULT_LINK_THRESHOLD = 0.99
DEFAULT_REVIEW_THRESHOLD = 0.5
#: Splink's label of a comparison's last level: nothing in the field agrees.
ELSE_LEVEL = "All other comparisons"


@dataclass(frozen=True, slots=True)
class MpiConfig:
    """When a pair is certain (link), worth a look (review), and what happens to certain pairs.

    policy ``review``: certain pairs are queued too, at the top; ``merge``: they are merged at
    once by the system (audited, and undone with ``mpi unmerge`` like any merge).
    """

    link_threshold: float = DEFAULT_LINK_THRESHOLD
    review_threshold: float = DEFAULT_REVIEW_THRESHOLD
    policy: Policy = "review"

    def decide(self, probability: float, evidence: dict[str, str] | None = None) -> PairDecision:
        """The model's call; an identity conflict caps it at ``review``.

        Fellegi-Sunter adds evidence field by field, so look-alike relatives (twins sharing a
        family name, birth date, address and phone) outscore a different SSN. Two recorded SSNs
        that differ beyond a typo are therefore never certain: a person decides. (They are not
        made non-matches: on FEBRL, true duplicates with such SSNs look exactly the same.)
        """
        conflict = evidence is not None and evidence.get("ssn") == ELSE_LEVEL
        if probability >= self.link_threshold and not conflict:
            return "link"
        if probability >= self.review_threshold:
            return "review"
        return "nonmatch"


def ordered(a: str, b: str) -> tuple[str, str]:
    """A pair's canonical order: one row, one decision per pair whichever way it was found."""
    return (a, b) if a <= b else (b, a)


@dataclass(frozen=True, slots=True)
class ScoredPair:
    """Two Patients the model compared: its probability, its call and the evidence per field."""

    a: str
    b: str
    probability: float
    match_weight: float
    decision: PairDecision
    evidence: dict[str, str]

    def as_json(self) -> dict[str, Any]:
        return {
            "a": f"Patient/{self.a}",
            "b": f"Patient/{self.b}",
            "probability": round(self.probability, 6),
            "decision": self.decision,
            "evidence": self.evidence,
        }


@dataclass
class ScanReport:
    patients: int = 0
    pairs: int = 0
    links: int = 0
    reviews: int = 0
    queued: int = 0
    merged: int = 0
    model_version: int = 0
    trained: bool = False
    seconds: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "patients": self.patients,
            "pairs": self.pairs,
            "links": self.links,
            "reviews": self.reviews,
            "queued": self.queued,
            "merged": self.merged,
            "model_version": self.model_version,
            "trained": self.trained,
            "seconds": self.seconds,
        }


@dataclass(frozen=True, slots=True)
class QueueItem:
    """An open candidate pair waiting for a person."""

    pair_id: int
    a: str
    b: str
    probability: float
    decision: str
    evidence: dict[str, str]
    source: str
    found_at: int


@dataclass(frozen=True, slots=True)
class MergeResult:
    merge_id: int
    source: str
    target: str
    resources: list[str]  # Type/id/_history/v of every version the merge wrote

    def as_json(self) -> dict[str, Any]:
        return {
            "merge": self.merge_id,
            "source": f"Patient/{self.source}",
            "target": f"Patient/{self.target}",
            "written": self.resources,
        }
