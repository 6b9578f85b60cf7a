"""The generator of one population: who each registration slot is, and the bundles they produce.

A slot's role (an original person, a second registration of an earlier person, or an earlier person's
twin) is a hash of (seed, slot), so any slot can be generated without the others: a duplicate
recomputes the person of its original slot, a twin their sibling's household.
"""

from __future__ import annotations

from collections.abc import Iterator

from chartkeeper.demo.builders import Resource
from chartkeeper.demo.chart import Chart
from chartkeeper.demo.directory import Directory
from chartkeeper.demo.health import draw_conditions, draw_physiology
from chartkeeper.demo.history import build_chart
from chartkeeper.demo.ids import IdScheme
from chartkeeper.demo.people import Person, draw_household, draw_individual, join_household
from chartkeeper.demo.rand import Rand, mix, pick
from chartkeeper.demo.truth import DemoTruth, DuplicatePair
from chartkeeper.demo.variants import variant

DUPLICATE_RATE = 0.10
TWIN_RATE = 0.005
FIRST_DUP_SLOT = 20
#: Every FREQUENT_EVERY-th slot, from FREQUENT_SLOT on, is a patient followed closely for years
#: (disease management, dialysis, oncology): 120-240 visits, a chart of 1,500+ resources. Chosen by
#: slot, not by a draw, so every population of 8 or more has one and no other chart changes.
FREQUENT_SLOT = 7
FREQUENT_EVERY = 500
MAX_PATIENTS = 1 << 36


class Generator:
    """All per-population state: seed-derived constants and the shared resource pool."""

    def __init__(self, patients: int, seed: int, shared_every: int, truth: DemoTruth | None) -> None:
        if patients < 0 or patients >= MAX_PATIENTS:
            raise ValueError(f"patients must be in [0, {MAX_PATIENTS})")
        if shared_every < 1:
            raise ValueError("shared_every must be >= 1")
        self.patients = patients
        self.seed = seed
        self.truth = truth
        self.ids = IdScheme(seed)
        self.directory = Directory(self.ids, patients, shared_every)

    def patient_id(self, slot: int) -> str:
        return self.ids.patient_id(slot)

    def shared_bundles(self) -> Iterator[Resource]:
        return self.directory.bundles(self.truth)

    # --- slot roles --------------------------------------------------------------------------------
    def _raw_role(self, slot: int) -> tuple[str, int]:
        """The hashed role of ``slot``, before chains (a duplicate of a duplicate) are resolved."""
        if slot < FIRST_DUP_SLOT:
            return "orig", 0
        h = mix(self.ids.tag ^ mix(slot * 8 + 1))
        u = (h >> 11) / 9007199254740992.0
        if u < DUPLICATE_RATE:
            return "dup", mix(h) % slot
        if u < DUPLICATE_RATE + TWIN_RATE:
            return "twin", mix(h) % slot
        return "orig", 0

    def role(self, slot: int) -> tuple[str, int]:
        """('orig', 0), ('dup', slot of the person's first registration) or ('twin', sibling's slot)."""
        kind, target = self._raw_role(slot)
        if kind == "dup":
            while True:
                k2, t2 = self._raw_role(target)
                if k2 != "dup":
                    return "dup", target
                target = t2
        if kind == "twin" and self._raw_role(target)[0] != "orig":
            return "orig", 0
        return kind, target

    # --- people -----------------------------------------------------------------------------------
    def person(self, slot: int) -> Person:
        """The person first registered at ``slot`` (for a twin: with the sibling's household data)."""
        r = self.ids.rng(slot, 2).random
        p = draw_household(r, slot)
        kind, src = self.role(slot)
        sibling: Person | None = None
        if kind == "twin":
            sibling = self.person(src)
            join_household(p, sibling)
        draw_individual(r, p, self.ids.ssn(slot), sibling)
        conditions = draw_conditions(r, p)
        p.pcp = self.directory.prac_in(pick(r, self.directory.clinics), r)
        p.hospital = pick(r, self.directory.hospitals)
        draw_physiology(r, p, conditions)
        return p

    def duplicate(self, r: Rand, slot: int, src: int) -> tuple[Person, DuplicatePair]:
        """Registration ``slot``'s view of the person first registered at ``src``, and the planted pair.

        Draws from ``r`` (the chart stream of ``slot``) first, so :func:`planted_duplicates` can
        compute the pairs without generating charts.
        """
        person, diffs = variant(r, self.person(src))
        if person.deceased is not None and r() < 0.7:
            person.deceased = None  # the other registration never learned of the death
            diffs.append("deceased:not-recorded")
        pair = DuplicatePair(
            original_id=self.patient_id(src),
            duplicate_id=self.patient_id(slot),
            original_index=src,
            duplicate_index=slot,
            exact=not diffs,
            differences=tuple(diffs),
        )
        return person, pair

    # --- registrations ----------------------------------------------------------------------------
    def patient_bundle(self, slot: int) -> Resource:
        """The transaction Bundle of registration ``slot``: its Patient and clinical history."""
        kind, src = self.role(slot)
        truth = self.truth
        rng = self.ids.rng(slot, 3)
        r = rng.random
        abbreviated = False
        if kind == "dup":
            person, pair = self.duplicate(r, slot, src)
            abbreviated = "address:street-abbreviated" in pair.differences
            if truth is not None:
                truth.duplicates.append(pair)
            if r() < 0.4:
                person.pcp = self.directory.prac_in(pick(r, self.directory.clinics), r)
        else:
            person = self.person(slot)
            if kind == "twin" and truth is not None:
                truth.twin_pairs.append((self.patient_id(src), self.patient_id(slot)))
        frequent = kind != "dup" and slot % FREQUENT_EVERY == FREQUENT_SLOT
        chart = Chart(
            self.ids, self.directory, truth, slot, person, kind == "dup", abbreviated, rng, frequent
        )
        return build_chart(chart)
