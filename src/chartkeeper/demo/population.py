"""A deterministic synthetic population as FHIR R4 (4.0.1) transaction Bundles.

Layout of the output of :func:`generate_bundles`:

* first, shared bundles (at most ``SHARED_BUNDLE_SIZE`` entries each) with the Organizations, their
  Locations, the Practitioners and their PractitionerRoles; the pool grows with the population: one
  Practitioner per ``shared_every`` registrations (at least 12), one Organization (and one Location)
  per 8 Practitioners (at least 3; every fourth Organization is a hospital, the others clinics);
* then one bundle per registration ("slot" 0 .. patients-1) with the Patient and all of that
  registration's Encounters, Conditions, Observations, DiagnosticReports, MedicationRequests,
  AllergyIntolerances, Immunizations, Procedures and DocumentReferences.

About 10% of registrations (never the first 20) are second registrations of an earlier person
(duplicates, with realistic variations, see :class:`~chartkeeper.demo.truth.DuplicatePair`); 0.5% are
look-alike twins of an earlier person. Registration ``i`` is computed from ``seed``, ``i`` and the size
of the shared pool alone, so the bundles of one population can be generated in any order or in
parallel shards (``start``/``stop``) with identical results, and memory stays constant (apart from the
shared pool's id lists, one entry per ``shared_every`` registrations) whatever the population size.

Every resource has an explicit id shaped like a UUID (RFC 9562 version 8, derived from seed, slot,
resource type and a counter), every entry has ``fullUrl = "urn:uuid:<id>"`` and
``request = {"method": "PUT", "url": "<Type>/<id>"}``. References between resources of one patient
bundle use the ``urn:uuid:`` fullUrls; references to shared resources use ``Organization/<id>``,
``Location/<id>`` and ``Practitioner/<id>``.

Clinical history runs for up to 10 years before :data:`REFERENCE_DATE` (never "today": determinism).
Treat yielded resources as read-only JSON: for speed, constant coded elements (``code``, ``category``,
``class``, ``type``, ``interpretation``, ``referenceRange`` ...) are shared between resources, so mutate
only after ``copy.deepcopy``. Top-level dicts and every ``Reference`` dict are fresh, so a loader may
rewrite ``reference`` values in place.

This module is the public entry point; the generator itself is split by domain:

* :mod:`~chartkeeper.demo.generator`: slot roles (original, duplicate, twin) and each registration;
* :mod:`~chartkeeper.demo.directory`: the shared Organizations, Locations, Practitioners;
* :mod:`~chartkeeper.demo.people`, :mod:`~chartkeeper.demo.health`: a person's demographics and health
  profile; :mod:`~chartkeeper.demo.variants`: how a duplicate registration differs;
* :mod:`~chartkeeper.demo.chart`: the state of a chart being generated; :mod:`~chartkeeper.demo.history`:
  its visit schedule and bundle; :mod:`~chartkeeper.demo.patient`: its Patient;
* one visit (:mod:`~chartkeeper.demo.encounters`) and what it documents: :mod:`~chartkeeper.demo.conditions`
  (with planted coding defects), :mod:`~chartkeeper.demo.vitals`, :mod:`~chartkeeper.demo.labs`,
  :mod:`~chartkeeper.demo.orders` (medications, procedures), :mod:`~chartkeeper.demo.immunizations`,
  :mod:`~chartkeeper.demo.allergies`, :mod:`~chartkeeper.demo.documents` (notes, planted chart defects);
* helpers: :mod:`~chartkeeper.demo.rand` (hashing, draws), :mod:`~chartkeeper.demo.ids`,
  :mod:`~chartkeeper.demo.clock` (dates), :mod:`~chartkeeper.demo.builders` (coded fragments, Bundles).

Every draw of a registration comes from its own seeded streams in a fixed order: changing the order of
the steps changes the data (``tests/unit/demo/test_demo_determinism.py`` pins it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from chartkeeper.demo.builders import Resource
from chartkeeper.demo.clock import REFERENCE_DATE
from chartkeeper.demo.directory import SHARED_BUNDLE_SIZE
from chartkeeper.demo.documents import MISSING_NOTE_RATE, UNSIGNED_NOTE_RATE
from chartkeeper.demo.encounters import MISSING_DISCHARGE_DX_RATE
from chartkeeper.demo.generator import DUPLICATE_RATE, FIRST_DUP_SLOT, TWIN_RATE, Generator
from chartkeeper.demo.history import SPARSE_RATE
from chartkeeper.demo.rand import Rand
from chartkeeper.demo.truth import DemoTruth, DuplicatePair
from chartkeeper.demo.variants import EXACT_DUPLICATE_SHARE

__all__ = [
    "DUPLICATE_RATE",
    "EXACT_DUPLICATE_SHARE",
    "MISSING_DISCHARGE_DX_RATE",
    "MISSING_NOTE_RATE",
    "REFERENCE_DATE",
    "SHARED_BUNDLE_SIZE",
    "SPARSE_RATE",
    "TWIN_RATE",
    "UNSIGNED_NOTE_RATE",
    "Rand",
    "Resource",
    "demo_truth",
    "generate_bundles",
    "generate_resources",
    "new_truth",
    "patient_id",
    "planted_duplicates",
]


def generate_bundles(
    patients: int,
    seed: int = 1,
    *,
    shared_every: int = 200,
    truth: DemoTruth | None = None,
    start: int = 0,
    stop: int | None = None,
    include_shared: bool = True,
) -> Iterator[dict[str, Any]]:
    """Yield FHIR R4 transaction Bundles: the shared bundles first, then one bundle per registration.

    ``truth``: when given, the ground truth of every registration generated is appended to it (so a
    loader gets the truth in the same pass). ``start``/``stop`` restrict the registrations to slots
    ``[start, stop)`` of the ``patients``-slot population (for parallel shards; registration content
    does not depend on the shard); ``include_shared=False`` omits the shared bundles.
    Same arguments give byte-identical output when serialized. Resources are read-only (see the module
    docstring: constant coded elements are shared between resources).
    """
    gen = Generator(patients, seed, shared_every, truth)
    if include_shared:
        yield from gen.shared_bundles()
    hi = patients if stop is None else min(stop, patients)
    for slot in range(max(0, start), hi):
        yield gen.patient_bundle(slot)


def generate_resources(
    patients: int, seed: int = 1, *, shared_every: int = 200, truth: DemoTruth | None = None
) -> Iterator[dict[str, Any]]:
    """The resources of :func:`generate_bundles` one by one (for NDJSON export)."""
    for bundle in generate_bundles(patients, seed, shared_every=shared_every, truth=truth):
        for entry in bundle["entry"]:
            yield entry["resource"]


def patient_id(slot: int, seed: int = 1) -> str:
    """The Patient id of registration ``slot`` in any population made with ``seed``."""
    return Generator(0, seed, 200, None).patient_id(slot)


def planted_duplicates(patients: int, seed: int = 1) -> list[DuplicatePair]:
    """The duplicate registrations of a population, computed without generating any chart."""
    gen = Generator(patients, seed, 200, None)
    out: list[DuplicatePair] = []
    for slot in range(FIRST_DUP_SLOT, patients):
        kind, src = gen.role(slot)
        if kind == "dup":
            out.append(gen.duplicate(gen.ids.rng(slot, 3).random, slot, src)[1])
    return out


def demo_truth(patients: int, seed: int = 1, *, shared_every: int = 200) -> DemoTruth:
    """The ground truth of ``generate_bundles(patients, seed)``.

    Duplicates alone are cheap (:func:`planted_duplicates`); coding and chart defects depend on each
    chart's random stream, so this runs one generation pass (about as fast as generating, no output
    kept). To load and get the truth in one pass, pass ``truth=DemoTruth(...)`` to generate_bundles.
    """
    truth = new_truth(patients, seed)
    for _ in generate_bundles(patients, seed, shared_every=shared_every, truth=truth):
        pass
    return truth


def new_truth(patients: int, seed: int = 1) -> DemoTruth:
    """An empty DemoTruth for ``generate_bundles(..., truth=...)`` to fill."""
    return DemoTruth(patients=patients, seed=seed, reference_date=REFERENCE_DATE.isoformat())
