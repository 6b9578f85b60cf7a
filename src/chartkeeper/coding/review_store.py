"""The stored review: the coding queue's facts per patient, recomputed only where the record changed.

Validating every encounter on every visit of the coding queue, the DNFB report or the overview
cost seconds at a few hundred patients. A review depends only on one patient compartment's
Patient, Encounters, Conditions and Claims (``coding.compartments``) and on the rules
(``coding.digest``), so each use of ``StoredReviews.refresh``:

1. takes every compartment's fingerprint (rules digest + ``store.coding_review.stamps``: one
   grouped query over ``resource``, no content read) and the stored rows' heads;
2. re-reviews the compartments whose fingerprint differs or that have no row, a batch at a time
   (their resources read, stamped from exactly the rows read, validated, upserted), and deletes
   the rows of compartments that no longer exist;
3. looks up the references that left their compartment (``foreign_links``, stored with each
   row); compartments tied by one that resolves are reviewed together now, not from rows;
4. answers from the rows whose fingerprint is the current one, and from what it just computed.

A row is a (fingerprint, review) pair computed from the same read, so a row that loses a race
(two refreshes storing different states of a patient) is still a true review of the state its
fingerprint names, and it is used only while that state is the current one: nothing stale is
ever shown, and concurrent refreshes cannot corrupt the table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Protocol

import orjson

from chartkeeper.coding.compartments import TYPES, CompartmentReview, review_unit, split_link
from chartkeeper.coding.digest import rules_digest
from chartkeeper.coding.summary import EncounterSummary, Totals, decode, encode
from chartkeeper.coding.validate import Validator
from chartkeeper.fhir.instant import now_us
from chartkeeper.security.caller import Caller
from chartkeeper.store import coding_review as sql
from chartkeeper.store.coding_review import ReviewHead, ReviewRow
from chartkeeper.store.repository import Store

#: Compartments re-reviewed per read and per upsert transaction.
BATCH = 250


class Reviews(Protocol):
    """What the queue, the DNFB report and the counts are answered from."""

    def totals(self) -> Totals: ...

    def queued(self) -> list[EncounterSummary]: ...


@dataclass(frozen=True, slots=True)
class LiveReviews:
    """Reviews computed from the record just now (callers who see part of it, one patient)."""

    counts: Totals
    summaries: tuple[EncounterSummary, ...]

    def totals(self) -> Totals:
        return self.counts

    def queued(self) -> list[EncounterSummary]:
        return list(self.summaries)


@dataclass
class StoredReviews:
    """The stored review of everyone, kept fresh on use (see the module docstring)."""

    store: Store
    validator: Validator
    batch: int = BATCH

    def refresh(self) -> ReviewSet:
        digest = rules_digest()
        with self.store.reading() as conn:
            current = {key: f"{digest}:{stamp}" for key, stamp in sql.stamps(conn, TYPES).items()}
            stored = sql.heads(conn)
        heads = {k: h for k, h in stored.items() if current.get(k) == h.fingerprint}
        fresh = self.rebuild(sorted(set(current) - set(heads)))
        gone = sorted(set(stored) - set(current))
        if gone:
            with self.store.transaction() as conn:
                sql.delete_rows(conn, gone)
        reviews = ReviewSet(self, heads, fresh)
        reviews.join_entangled()
        return reviews

    def rebuild(self, compartments: Sequence[str]) -> dict[str, CompartmentReview]:
        """Review these compartments from the record and store the rows; vanished ones are deleted."""
        digest = rules_digest()
        out: dict[str, CompartmentReview] = {}
        for start in range(0, len(compartments), self.batch):
            batch = compartments[start : start + self.batch]
            with self.store.reading() as conn:
                rows = list(sql.compartment_rows(conn, batch, TYPES))
            rows.sort(key=lambda r: (r.compartment, r.pk))
            stored: list[ReviewRow] = []
            for key, group in groupby(rows, key=lambda r: r.compartment):
                mine = list(group)
                review = review_unit(mine, self.validator)[key]
                out[key] = review
                stored.append(_row(review, f"{digest}:{sql.stamp_of(mine)}"))
            with self.store.transaction() as conn:
                sql.store_rows(conn, stored, now_us())
            vanished = [k for k in batch if k not in out]
            if vanished:  # apart: each transaction takes its row locks in key order (no deadlock)
                with self.store.transaction() as conn:
                    sql.delete_rows(conn, vanished)
        return out

    def review_together(self, compartments: Iterable[str]) -> dict[str, CompartmentReview]:
        """Review these compartments as one unit (nothing stored: see ``join_entangled``)."""
        with self.store.reading() as conn:
            rows = list(sql.compartment_rows(conn, sorted(set(compartments)), TYPES))
        return review_unit(rows, self.validator)


def _row(review: CompartmentReview, fingerprint: str) -> ReviewRow:
    t = review.totals
    links = orjson.dumps(list(review.links)).decode() if review.links else None
    head = ReviewHead(review.compartment, fingerprint, t.queued, t.unbilled, t.ready, links)
    return ReviewRow(head, encode(review.queued))


@dataclass
class ReviewSet:
    """One refresh's answer: current stored heads, what it recomputed, and entangled units."""

    source: StoredReviews
    heads: dict[str, ReviewHead]
    fresh: dict[str, CompartmentReview]
    joined: dict[str, CompartmentReview] = field(default_factory=dict)

    def join_entangled(self) -> None:
        """Review together the compartments that a resolving foreign link ties (usually none)."""
        links: dict[str, tuple[str, ...]] = {k: r.links for k, r in self.fresh.items() if r.links}
        for key, head in self.heads.items():
            if head.links:
                links[key] = tuple(orjson.loads(head.links))
        if not links:
            return
        with self.source.store.reading() as conn:
            found = sql.locate(conn, {split_link(x) for refs in links.values() for x in refs})
        tied: set[str] = set()
        for key, refs in links.items():
            for ref in refs:
                target = found.get(split_link(ref))
                if target is not None:
                    tied |= {key, target}
        if tied:
            self.joined = self.source.review_together(tied)

    def totals(self) -> Totals:
        total = Totals()
        for key, head in self.heads.items():
            if key not in self.joined:
                total += Totals(head.queued, head.unbilled, head.ready)
        for key, review in self.fresh.items():
            if key not in self.joined:
                total += review.totals
        for review in self.joined.values():
            total += review.totals
        return total

    def queued(self) -> list[EncounterSummary]:
        out = [s for r in self.joined.values() for s in r.queued]
        out += [s for k, r in self.fresh.items() if k not in self.joined for s in r.queued]
        wanted = [k for k, h in self.heads.items() if h.queued and k not in self.joined]
        with self.source.store.reading() as conn:
            found = sql.bodies(conn, wanted)
        raced = []
        for key in wanted:
            row = found.get(key)
            if row is None or row[0] != self.heads[key].fingerprint:
                raced.append(key)  # replaced or deleted by a concurrent refresh meanwhile
            else:
                out += decode(row[1])
        if raced:
            again = self.source.rebuild(raced)
            for key in raced:
                del self.heads[key]
            self.fresh.update(again)
            out += [s for r in again.values() for s in r.queued]
        return out


def sees_every_compartment(caller: Caller) -> bool:
    """Whether ``caller`` may read every patient's resources of every type a review reads: the
    stored review (computed with nothing hidden) is theirs exactly only then."""
    access = caller.access_filter()
    return access.patient_ids is None and (access.types is None or set(TYPES) <= access.types)
