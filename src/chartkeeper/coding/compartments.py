"""Reviewing the encounters of one patient compartment (or of a few together), and what ties a
compartment to others.

A review reads an encounter, the Conditions it lists or that point at it, the Claims whose items
point at it (and the Conditions those list) and its Patient (age and sex edits). In a well-formed
record all of them are in the encounter's patient compartment, and reviewing one compartment
alone gives exactly what reviewing everyone gives. A reference that leaves the compartment (an
Encounter with no Patient subject, a Condition of one patient pointing at another's encounter, a
reference to something not yet received) would make them differ, so ``foreign_links`` lists
every such reference, exactly as ``Snapshot`` resolves them (``ref_id``), and
``coding.review_store`` reviews the compartments such links tie together as one unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from chartkeeper.coding.cases import Snapshot, ref_id
from chartkeeper.coding.models import CaseReview
from chartkeeper.coding.summary import EncounterSummary, Totals, summarize, totals_of
from chartkeeper.coding.validate import Validator
from chartkeeper.store.coding_review import CompartmentRow

#: The resource types a review reads; the fingerprint is taken over exactly these.
TYPES = ("Claim", "Condition", "Encounter", "Patient")


@dataclass(frozen=True, slots=True)
class CompartmentReview:
    """The review of one compartment's encounters: counts, the queued ones, its foreign links."""

    compartment: str
    totals: Totals
    queued: tuple[EncounterSummary, ...]
    links: tuple[str, ...] = ()


def snapshot_of(rows: Iterable[CompartmentRow]) -> Snapshot:
    """The rows as a Snapshot (in the order given: key order, as ``Snapshot.load`` reads)."""
    snap = Snapshot()
    targets = {
        "Patient": snap.patients,
        "Encounter": snap.encounters,
        "Condition": snap.conditions,
        "Claim": snap.claims,
    }
    for row in rows:
        targets[row.res_type][row.res_id] = row.content
    return snap


def review_unit(rows: Sequence[CompartmentRow], validator: Validator) -> dict[str, CompartmentReview]:
    """Review every encounter of ``rows`` together; the results by each encounter's compartment
    (every compartment of ``rows`` gets one, empty when it has no encounter)."""
    snap = snapshot_of(rows)
    home = {row.res_id: row.compartment for row in rows if row.res_type == "Encounter"}
    reviews: dict[str, list[CaseReview]] = {row.compartment: [] for row in rows}
    for case in snap.cases():
        reviews[home[case.encounter_id]].append(validator.review(case))
    links = foreign_links(snap) if len(reviews) == 1 else ()
    return {
        key: CompartmentReview(key, totals_of(found), _queued(found), links) for key, found in reviews.items()
    }


def _queued(reviews: Iterable[CaseReview]) -> tuple[EncounterSummary, ...]:
    summaries = (summarize(r) for r in reviews)
    return tuple(s for s in summaries if s is not None)


def foreign_links(snap: Snapshot) -> tuple[str, ...]:
    """``Type/id`` of every reference a review of ``snap`` would follow and not find in it.

    A superset is harmless (a link that resolves nowhere changes nothing); a missing one would
    let a stored review go stale, so every look-up of ``Snapshot.cases``/``case`` is mirrored."""
    out: set[str] = set()
    for enc in snap.encounters.values():
        _need(out, "Patient", ref_id(enc.get("subject")), snap.patients)
        for entry in enc.get("diagnosis", []) or []:
            _need(out, "Condition", ref_id(entry.get("condition")), snap.conditions)
    for cond in snap.conditions.values():
        _need(out, "Encounter", ref_id(cond.get("encounter")), snap.encounters)
    for claim in snap.claims.values():
        for item in claim.get("item", []) or []:
            for ref in item.get("encounter", []) or []:
                _need(out, "Encounter", ref_id(ref), snap.encounters)
        for dx in claim.get("diagnosis", []) or []:
            if "diagnosisReference" in dx:
                _need(out, "Condition", ref_id(dx["diagnosisReference"]), snap.conditions)
    return tuple(sorted(out))


def _need(out: set[str], res_type: str, res_id: str | None, have: Mapping[str, object]) -> None:
    if res_id and res_id not in have:
        out.add(f"{res_type}/{res_id}")


def split_link(link: str) -> tuple[str, str]:
    res_type, _, res_id = link.partition("/")
    return res_type, res_id
