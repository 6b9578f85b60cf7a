"""The state of one registration's chart while it is being generated.

A :class:`Chart` is what every clinical generator (conditions, vitals, labs, orders, notes) writes
into: it numbers the resource ids, collects the resources in bundle order, and remembers what later
visits depend on (documented conditions, active medications, vaccines given). All draws come from the
chart's own stream (stream 3 of its slot), in a fixed order, which is what makes output reproducible.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from chartkeeper.demo import vocab as V
from chartkeeper.demo.builders import Resource
from chartkeeper.demo.directory import Directory
from chartkeeper.demo.ids import IdScheme
from chartkeeper.demo.people import Person
from chartkeeper.demo.truth import DemoTruth


class Chart:
    """One registration's chart under construction: ids, resources so far, clinical memory."""

    __slots__ = (
        "abbreviated",
        "active_meds",
        "cond_ids",
        "cond_text",
        "covid_doses",
        "d",
        "death_minute",
        "dup",
        "flu_seasons",
        "frequent",
        "heads",
        "k",
        "last_td",
        "med_start",
        "mrn",
        "name",
        "obs_head",
        "p",
        "pid",
        "pneumo",
        "pref",
        "r",
        "res",
        "slot",
        "truth",
        "vax_given",
        "zoster",
    )

    def __init__(
        self,
        ids: IdScheme,
        directory: Directory,
        truth: DemoTruth | None,
        slot: int,
        person: Person,
        dup: bool,
        abbreviated: bool,
        rng: random.Random,
        frequent: bool = False,
    ) -> None:
        self.d = directory
        self.truth = truth
        self.slot = slot
        self.p = person
        self.dup = dup  # a second registration: a short slice of the person's history
        self.abbreviated = abbreviated  # write the street suffix abbreviated
        self.frequent = frequent  # followed closely for years: a chart of thousands of resources
        self.r = rng.random
        tail = ids.tail(slot)
        self.heads = {t: h + tail for t, h in ids.heads.items()}
        self.obs_head = self.heads["Observation"]
        self.k = 0  # the id counter, shared by all resource types of the chart
        self.res: list[Resource] = []
        self.pid = ids.patient_id(slot)
        self.pref = "urn:uuid:" + self.pid
        self.mrn = ids.mrn(slot)
        self.name = f"{person.given[0]} {person.family}"
        # what later visits depend on
        self.cond_ids: dict[str, str] = {}  # condition key -> Condition reference
        self.cond_text: dict[str, str] = {}
        self.active_meds: dict[str, tuple[Resource, str]] = {}  # condition key -> (request, name)
        self.med_start: dict[str, int] = {}  # "a1c_treated" ... -> day treatment started
        # immunization history
        self.vax_given: set[int] = set()  # indexes into CHILD_SCHEDULE
        self.last_td = -(10**9)
        self.flu_seasons: set[int] = set()
        self.covid_doses = 0
        self.pneumo = False
        self.zoster = False
        self.death_minute = 600 + int(self.r() * 600)

    def nid(self, rtype: str) -> str:
        """The next resource id of the chart, for a resource of type ``rtype``."""
        self.k += 1
        return f"{self.heads[rtype]}{self.k:06x}"

    def observation(self, category: object, code: object, eref: str, when: str, issued: str) -> Resource:
        """A new final Observation of this patient and encounter, up to ``issued``; the caller adds
        the value (and appends it to ``res``). Key order is part of the pinned demo output."""
        self.k += 1
        return {
            "resourceType": "Observation",
            "id": f"{self.obs_head}{self.k:06x}",
            "status": "final",
            "category": category,
            "code": code,
            "subject": {"reference": self.pref},
            "encounter": {"reference": eref},
            "effectiveDateTime": when,
            "issued": issued,
        }


class Visit:
    """One encounter being generated: when, where, with whom, why.

    Created with its schedule by :func:`~chartkeeper.demo.encounters.encounter`, which then fills in
    the reasons (purpose, diagnoses) step by step; the other generators read it.
    """

    __slots__ = (
        "age",
        "chronic_keys",
        "cls",
        "day",
        "death",
        "diag_refs",
        "eid",
        "end_minute",
        "end_s",
        "eref",
        "minute",
        "org",
        "prac",
        "principal",
        "principal_ref",
        "purpose",
        "real_end_day",
        "start_s",
    )

    def __init__(
        self,
        eid: str,
        cls: str,
        day: int,
        age: float,
        death: bool,
        minute: int,
        end_minute: int,
        real_end_day: int,
        org: int,
        prac: int,
        start_s: str,
        end_s: str,
    ) -> None:
        self.eid = eid
        self.eref = "urn:uuid:" + eid
        self.cls = cls  # AMB, EMER or IMP
        self.day = day
        self.age = age  # in years, on ``day``
        self.death = death  # the final admission, ending in death
        self.minute = minute  # minute of ``day`` it starts
        self.end_minute = end_minute  # minute of its last day it ends (may exceed a day)
        self.real_end_day = real_end_day  # the day it ends
        self.org = org  # where: index into the directory's organizations
        self.prac = prac  # with whom: index into the directory's practitioners
        self.start_s = start_s
        self.end_s = end_s
        self.purpose = "emergency"  # a key of V.ENCOUNTER_TYPES
        self.principal: V.Diagnosis | None = None  # the reason for an acute, ED or inpatient visit
        self.principal_ref: str | None = None
        self.chronic_keys: Sequence[str] = ()  # chronic conditions documented before this visit
        self.diag_refs: list[tuple[str, str]] = []  # (Condition reference, display text)
