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
"""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from typing import Any

from chartkeeper.demo import names as N
from chartkeeper.demo import notes
from chartkeeper.demo import vocab as V
from chartkeeper.demo.truth import ChartDefect, CodingDefect, DemoTruth, DuplicatePair

Resource = dict[str, Any]
Rand = Callable[[], float]  # a bound random.Random.random

REFERENCE_DATE = date(2025, 6, 30)
_REF = REFERENCE_DATE.toordinal()
_MIN_BIRTH = date(1925, 1, 1).toordinal()
_MAX_BIRTH = date(2024, 12, 31).toordinal()
_HISTORY_DAYS = 3652
_TZ = "-05:00"
_COVID_START = date.fromisoformat(V.COVID_START).toordinal()
_COVID_VACCINE_START = date(2021, 1, 1).toordinal()
_SHINGRIX_START = date(2018, 1, 1).toordinal()

SHARED_BUNDLE_SIZE = 500
DUPLICATE_RATE = 0.10
TWIN_RATE = 0.005
EXACT_DUPLICATE_SHARE = 0.15
SPARSE_RATE = 0.03
MISSING_NOTE_RATE = 0.02
UNSIGNED_NOTE_RATE = 0.04
MISSING_DISCHARGE_DX_RATE = 0.15
_FIRST_DUP_SLOT = 20
_MAX_PATIENTS = 1 << 36

# Cumulative thresholds for the coding of each Condition.
_CODING_THRESHOLDS: tuple[tuple[float, str], ...] = (
    (0.850, "valid"),
    (0.890, "snomed-only"),
    (0.920, "text-only"),
    (0.950, "non-billable"),
    (0.970, "invalid-code"),
    (0.985, "display-mismatch"),
    (1.000, "wrong-code"),
)
_TEXT_ONLY: dict[str, str] = {
    "dm2": "DM2",
    "dm2_hyper": "DM II uncontrolled",
    "dm2_ckd": "diabetic nephropathy",
    "htn": "HTN",
    "hld": "HLD",
    "hchol": "high cholesterol",
    "cad": "CAD",
    "afib": "AFib",
    "hf": "CHF",
    "copd": "COPD",
    "copd_exac": "AECOPD",
    "mdd": "depression",
    "gad": "anxiety",
    "gerd": "reflux",
    "uri": "URI",
    "uti": "UTI",
    "ed_uti": "UTI",
    "mi": "NSTEMI",
    "stroke": "CVA",
    "pe": "PE",
    "chest_pain": "CP",
    "abd_pain": "abd pain",
    "osa": "OSA",
    "lbp": "LBP",
    "bph": "BPH",
}

_TYPE_CODES: dict[str, int] = {
    "Bundle": 0x000,
    "Patient": 0x001,
    "Encounter": 0x002,
    "Condition": 0x003,
    "Observation": 0x004,
    "DiagnosticReport": 0x005,
    "MedicationRequest": 0x006,
    "AllergyIntolerance": 0x007,
    "Immunization": 0x008,
    "Procedure": 0x009,
    "DocumentReference": 0x00A,
    "Organization": 0x101,
    "Location": 0x102,
    "Practitioner": 0x103,
    "PractitionerRole": 0x104,
}

_M64 = (1 << 64) - 1
_SSN_SPACE = 99 * 99 * 9999  # areas 900-998 (never issued), groups 01-99, serials 0001-9999


def _mix(x: int) -> int:
    """splitmix64 finalizer: a fast, well-spread 64-bit hash of an integer."""
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def _seed_tag(seed: int) -> int:
    return int.from_bytes(hashlib.sha256(f"chartkeeper-demo/{seed}".encode()).digest()[:8], "big")


_DATE_CACHE: dict[int, str] = {}


def _ds(o: int) -> str:
    """ISO date of a proleptic ordinal, cached (there are only ~40,000 distinct days in play)."""
    s = _DATE_CACHE.get(o)
    if s is None:
        s = date.fromordinal(o).isoformat()
        _DATE_CACHE[o] = s
    return s


_TIMES: tuple[str, ...] = tuple(f"T{m // 60:02d}:{m % 60:02d}:00{_TZ}" for m in range(1440))


def _dt(o: int, minute: int) -> str:
    """dateTime/instant at minute-of-day ``minute`` (may exceed a day) of day ``o``, US Eastern (fixed)."""
    if minute >= 1440:
        o += minute // 1440
        minute %= 1440
    s = _DATE_CACHE.get(o)
    if s is None:
        s = _ds(o)
    return s + _TIMES[minute]


def _noise(r: Rand) -> float:
    """Roughly standard normal (Irwin-Hall of three uniforms), cheaper than gauss."""
    return (r() + r() + r() - 1.5) * 2.0


def _pick(r: Rand, seq: Sequence[Any]) -> Any:
    return seq[int(r() * len(seq))]


def _weighted(r: Rand, items: list[tuple[Any, float]]) -> Any:
    total = 0.0
    for _, w in items:
        total += w
    x = r() * total
    for item, w in items:
        x -= w
        if x < 0:
            return item
    return items[-1][0]


def _npi(base9: int) -> str:
    """A 10-digit NPI with a valid Luhn check digit (computed with the 80840 prefix)."""
    digits = [int(c) for c in f"80840{base9:09d}"]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return f"{base9:09d}{(10 - total % 10) % 10}"


_KEYBOARD: dict[str, str] = {
    "a": "sqz",
    "b": "vn",
    "c": "xv",
    "d": "sf",
    "e": "wr",
    "f": "dg",
    "g": "fh",
    "h": "gj",
    "i": "uo",
    "j": "hk",
    "k": "jl",
    "l": "k",
    "m": "n",
    "n": "bm",
    "o": "ip",
    "p": "o",
    "q": "w",
    "r": "et",
    "s": "ad",
    "t": "ry",
    "u": "yi",
    "v": "cb",
    "w": "qe",
    "x": "zc",
    "y": "tu",
    "z": "x",
}
_ACCENTS = str.maketrans("áéíóúñüÁÉÍÓÚÑÜ", "aeiounuAEIOUNU")


def _typo(r: Rand, s: str) -> str:
    """A realistic keying error: transposition, omission, doubling or neighbouring key."""
    for _ in range(8):
        n = len(s)
        if n < 3:
            return s + s[-1]
        i = 1 + int(r() * (n - 2))
        op = int(r() * 4)
        if op == 0:
            t = s[:i] + s[i + 1] + s[i] + s[i + 2 :]
        elif op == 1:
            t = s[:i] + s[i + 1 :]
        elif op == 2:
            t = s[:i] + s[i] + s[i:]
        else:
            c = s[i].lower()
            nb = _KEYBOARD.get(c)
            if not nb:
                continue
            t = s[:i] + _pick(r, nb) + s[i + 1 :]
        if t != s and t.strip() == t and "  " not in t:
            return t
    return s + "e"


# ---------------------------------------------------------------------------------------------------
# Constant coded fragments, built once and shared by every resource that uses them (treat the yielded
# resources as read-only, or deep-copy them before mutating nested structures). References, values,
# dates and texts are always fresh per resource.
# ---------------------------------------------------------------------------------------------------


def _cc(system: str, code: str, display: str, text: str | None = None) -> Resource:
    cc: Resource = {"coding": [{"system": system, "code": code, "display": display}]}
    if text is not None:
        cc["text"] = text
    return cc


_VITAL_CATEGORY = [_cc(V.OBS_CATEGORY, "vital-signs", "Vital Signs")]
_LAB_CATEGORY = [_cc(V.OBS_CATEGORY, "laboratory", "Laboratory")]
_DR_CATEGORY = [_cc(V.V2_0074, "LAB", "Laboratory")]
_VITAL_CODE = {k: _cc(V.LOINC, v[0], v[1], v[1]) for k, v in V.VITALS.items()}
_BP_CODE = _cc(V.LOINC, "85354-9", "Blood pressure panel with all children optional", "Blood pressure")
_SBP_CODE = _cc(V.LOINC, "8480-6", "Systolic blood pressure")
_DBP_CODE = _cc(V.LOINC, "8462-4", "Diastolic blood pressure")
_INTERP = {
    "L": [_cc(V.OBS_INTERPRETATION, "L", "Low")],
    "H": [_cc(V.OBS_INTERPRETATION, "H", "High")],
    "N": [_cc(V.OBS_INTERPRETATION, "N", "Normal")],
}


def _range(t: V.LabTest, male: bool) -> list[Resource]:
    low, high = (t.low_male, t.high_male) if male else (t.low, t.high)
    rr: Resource = {}
    if low is not None:
        rr["low"] = {"value": low, "unit": t.unit, "system": V.UCUM, "code": t.ucum}
    if high is not None:
        rr["high"] = {"value": high, "unit": t.unit, "system": V.UCUM, "code": t.ucum}
    return [rr]


# lab key -> (code, female range, male range, (low, high) female, (low, high) male)
_LAB_FRAGMENTS: dict[str, tuple[Resource, list[Resource], list[Resource]]] = {
    k: (_cc(V.LOINC, t.loinc, t.display, t.display), _range(t, False), _range(t, True))
    for k, t in V.LABS.items()
}
_PANEL_CODE = {k: _cc(V.LOINC, v[0], v[1], v[1]) for k, v in V.PANELS.items()}
_CLINICAL = {
    "active": _cc(V.CONDITION_CLINICAL, "active", "Active"),
    "resolved": _cc(V.CONDITION_CLINICAL, "resolved", "Resolved"),
}
_CONFIRMED = _cc(V.CONDITION_VER, "confirmed", "Confirmed")
_PROBLEM_LIST = [_cc(V.CONDITION_CATEGORY, "problem-list-item", "Problem List Item")]
_ENCOUNTER_DX = [_cc(V.CONDITION_CATEGORY, "encounter-diagnosis", "Encounter Diagnosis")]


def _valid_code(dx: V.Diagnosis) -> Resource:
    coding: list[Resource] = [{"system": V.ICD10CM, "code": dx.icd10, "display": dx.icd10_display}]
    if dx.snomed is not None:
        coding.append({"system": V.SNOMED, "code": dx.snomed, "display": dx.snomed_display})
    return {"coding": coding, "text": dx.text}


_VALID_CODE = {dx.key: _valid_code(dx) for dx in V.DIAGNOSES}
_MED_CODE: dict[str, Resource] = {}
for _meds in (*V.CHRONIC_MEDS.values(), *V.ACUTE_MEDS.values()):
    for _rx, _name, _ in _meds:
        _MED_CODE[_rx] = _cc(V.RXNORM, _rx, _name, _name)
_VACCINE_CODE = {k: _cc(V.CVX, c, d, d) for k, (c, d) in V.VACCINES.items()}
_PROCEDURE_CODE = {k: _cc(V.SNOMED, c, d, d) for k, (c, d) in V.PROCEDURES.items()}
_NOTE_TYPE = {
    False: _cc(V.LOINC, "11506-3", "Progress note", "Progress note"),
    True: _cc(V.LOINC, "18842-5", "Discharge summary", "Discharge summary"),
}
_NOTE_CATEGORY = [_cc(V.DOC_CATEGORY, "clinical-note", "Clinical Note")]
_ENC_CLASS = {k: {"system": V.ACT_CODE, "code": c, "display": d} for k, (c, d) in V.ENCOUNTER_CLASS.items()}
_ENC_TYPE = {k: [_cc(V.SNOMED, c, d, d)] for k, (c, d) in V.ENCOUNTER_TYPES.items()}
_ATTENDER = [_cc(V.PARTICIPATION_TYPE, "ATND", "attender")]
_DX_USE = {
    "AD": _cc(V.DIAGNOSIS_ROLE, "AD", "Admission diagnosis"),
    "DD": _cc(V.DIAGNOSIS_ROLE, "DD", "Discharge diagnosis"),
    "billing": _cc(V.DIAGNOSIS_ROLE, "billing", "Billing"),
}
_ADMIT_SOURCE = {k: _cc(V.ADMIT_SOURCE, k, d) for k, d in V.ADMIT_SOURCES.items()}
_DISPOSITION = {k: _cc(V.DISCHARGE_DISPOSITION, k, d) for k, d in V.DISPOSITIONS.items()}
_ALLERGY_ACTIVE = _cc(V.ALLERGY_CLINICAL, "active", "Active")
_ALLERGY_CONFIRMED = _cc(V.ALLERGY_VER, "confirmed", "Confirmed")
_MR_TYPE = _cc(V.V2_0203, "MR", "Medical record number", "MRN")
_SS_TYPE = _cc(V.V2_0203, "SS", "Social Security number")
_HISPANIC_SURNAMES = frozenset(N.SURNAMES["hispanic"])
_VARIANT_CONFLICTS: dict[str, tuple[str, ...]] = {
    "given-typo": ("given-typo", "given-nickname"),
    "given-nickname": ("given-typo", "given-nickname"),
    "birth-swap": ("birth-swap", "birth-typo"),
    "birth-typo": ("birth-swap", "birth-typo"),
    "ssn-missing": ("ssn-missing", "ssn-typo"),
    "ssn-typo": ("ssn-missing", "ssn-typo"),
    "middle-dropped": ("middle-dropped", "middle-initial"),
    "middle-initial": ("middle-dropped", "middle-initial"),
    "address-moved": ("address-moved", "phone-changed", "address-abbreviated"),
    "phone-changed": ("address-moved", "phone-changed"),
    "address-abbreviated": ("address-moved", "address-abbreviated"),
    "family-married": ("family-married", "family-partial"),
    "family-partial": ("family-married", "family-partial"),
}
_CHOICE_CACHE: dict[tuple[int, int, str, bool, bool, bool], list[tuple[Any, float]]] = {}


class _Person:
    """Demographics and health profile of one person (shared by all their registrations)."""

    __slots__ = (
        "a1c",
        "allergies",
        "area",
        "birth",
        "bmi",
        "chronic",
        "city",
        "creat",
        "dbp",
        "deceased",
        "email",
        "family",
        "given",
        "hdl",
        "height",
        "hospital",
        "hr",
        "lang",
        "ldl",
        "maiden",
        "marital",
        "origin",
        "pcp",
        "phone",
        "phone_use",
        "sbp",
        "sex",
        "slot",
        "ssn",
        "street",
        "street_no",
        "suffix",
        "trig",
        "unit",
    )

    def __init__(self) -> None:
        self.slot = 0
        self.origin = "general"
        self.sex = "female"
        self.given: list[str] = []
        self.family = ""
        self.maiden: str | None = None
        self.birth = 0
        self.deceased: int | None = None
        self.ssn: str | None = None
        self.phone: str | None = None
        self.phone_use = "home"
        self.area = "617"
        self.email: str | None = None
        self.street_no = 1
        self.street = "Main"
        self.suffix = 0
        self.unit: str | None = None
        self.city: tuple[str, str, str, str] = N.LOCAL_CITIES[0]
        self.marital = "S"
        self.lang = "en-US"
        self.chronic: list[tuple[str, int]] = []
        self.allergies: list[int] = []  # indexes into V.ALLERGIES; [-1] = no known allergy
        self.pcp = 0
        self.hospital = 0
        self.height = 170.0
        self.bmi = 25.0
        self.a1c = 5.3
        self.ldl = 110.0
        self.hdl = 50.0
        self.trig = 120.0
        self.creat = 0.9
        self.sbp = 120.0
        self.dbp = 78.0
        self.hr = 72.0

    def copy(self) -> _Person:
        p = _Person()
        for k in _Person.__slots__:
            setattr(p, k, getattr(self, k))
        p.given = list(self.given)
        return p

    def line(self, abbreviated: bool = False) -> list[str]:
        full, abbr = N.STREET_SUFFIXES[self.suffix]
        first = f"{self.street_no} {self.street} {abbr if abbreviated else full}"
        return [first, self.unit] if self.unit else [first]


class _Generator:
    """All per-population state: seed-derived constants and the shared resource pool."""

    def __init__(self, patients: int, seed: int, shared_every: int, truth: DemoTruth | None) -> None:
        if patients < 0 or patients >= _MAX_PATIENTS:
            raise ValueError(f"patients must be in [0, {_MAX_PATIENTS})")
        if shared_every < 1:
            raise ValueError("shared_every must be >= 1")
        self.patients = patients
        self.seed = seed
        self.truth = truth
        self.tag = tag = _seed_tag(seed)
        head = f"{(tag >> 32) & 0xFFFFFFFF:08x}-{(tag >> 16) & 0xFFFF:04x}-8"
        self.heads = {t: f"{head}{c:03x}" for t, c in _TYPE_CODES.items()}
        self.ssn_offset = _mix(tag ^ 0x55) % _SSN_SPACE
        self.mrn_offset = _mix(tag ^ 0x4D) % 100000000
        self._build_shared(patients, shared_every)

    # --- ids -------------------------------------------------------------------------------------
    def shared_id(self, rtype: str, index: int) -> str:
        return f"{self.heads[rtype]}-bfff-000000{index:06x}"

    def patient_id(self, slot: int) -> str:
        return f"{self.heads['Patient']}{self._tail(slot)}000000"

    @staticmethod
    def _tail(slot: int) -> str:
        return f"-{0x8000 | ((slot >> 24) & 0x3FFF):04x}-{slot & 0xFFFFFF:06x}"

    def mrn(self, slot: int) -> str:
        return f"{(slot * 48271957 + self.mrn_offset) % 100000000:08d}"

    def ssn(self, slot: int) -> str:
        v = (slot * 48271957 + self.ssn_offset) % _SSN_SPACE
        area, rest = divmod(v, 99 * 9999)
        group, serial = divmod(rest, 9999)
        return f"{900 + area:03d}-{group + 1:02d}-{serial + 1:04d}"

    def rng(self, slot: int, salt: int) -> random.Random:
        return random.Random(_mix(self.tag ^ _mix(slot * 8 + salt)))

    # --- slot roles --------------------------------------------------------------------------------
    def _raw_role(self, slot: int) -> tuple[str, int]:
        if slot < _FIRST_DUP_SLOT:
            return "orig", 0
        h = _mix(self.tag ^ _mix(slot * 8 + 1))
        u = (h >> 11) / 9007199254740992.0
        if u < DUPLICATE_RATE:
            return "dup", _mix(h) % slot
        if u < DUPLICATE_RATE + TWIN_RATE:
            return "twin", _mix(h) % slot
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

    # --- shared pool ------------------------------------------------------------------------------
    def _build_shared(self, patients: int, shared_every: int) -> None:
        n_prac = max(12, -(-patients // shared_every))
        n_org = max(3, n_prac // 8)
        self.n_prac, self.n_org = n_prac, n_org
        r = self.rng(0, 7).random
        self.org_ids = [self.shared_id("Organization", i) for i in range(n_org)]
        self.loc_ids = [self.shared_id("Location", i) for i in range(n_org)]
        self.prac_ids = [self.shared_id("Practitioner", i) for i in range(n_prac)]
        self.org_names: list[str] = []
        self.org_city: list[tuple[str, str, str, str]] = []
        self.org_street: list[str] = []
        self.hospitals = [o for o in range(n_org) if o % 4 == 0]
        self.clinics = [o for o in range(n_org) if o % 4 != 0]
        for o in range(n_org):
            city = N.LOCAL_CITIES[o % len(N.LOCAL_CITIES)] if o < 40 else _pick(r, N.LOCAL_CITIES)
            if o % 4 == 0:
                name = f"{city[0]} {_pick(r, N.HOSPITAL_SUFFIXES)}"
            else:
                name = f"{_pick(r, N.SURNAMES['general'])} {_pick(r, N.CLINIC_SUFFIXES)}"
            if name in self.org_names:
                name = f"{name} {o + 1}"
            self.org_names.append(name)
            self.org_city.append(city)
            self.org_street.append(
                f"{1 + int(r() * 900)} {_pick(r, N.STREET_NAMES)} {_pick(r, N.STREET_SUFFIXES)[0]}"
            )
        self.prac_names: list[str] = []
        self.prac_given: list[str] = []
        self.prac_family: list[str] = []
        self.prac_sex: list[str] = []
        for _ in range(n_prac):
            origin = _weighted(r, list(N.ORIGIN_WEIGHTS))
            sex = "female" if r() < 0.5 else "male"
            pool = (N.GIVEN_FEMALE if sex == "female" else N.GIVEN_MALE)[origin if r() < 0.5 else "general"]
            given = _pick(r, pool)
            family = _pick(r, N.SURNAMES[origin])
            self.prac_given.append(given)
            self.prac_family.append(family)
            self.prac_sex.append(sex)
            self.prac_names.append(f"Dr. {given} {family}")

    def prac_in(self, org: int, r: Rand) -> int:
        """A random practitioner working at organization ``org``."""
        count = (self.n_prac - org + self.n_org - 1) // self.n_org
        return org + self.n_org * int(r() * count)

    def _specialty(self, k: int) -> tuple[str, str]:
        org = k % self.n_org
        j = k // self.n_org
        if org % 4 == 0:
            return V.SPECIALTIES[(5, 1, 4, 3, 6)[j % 5]]
        return V.SPECIALTIES[(0, 1, 2, 0)[j % 4]]

    def shared_resources(self) -> Iterator[Resource]:
        for o in range(self.n_org):
            city, state, zipc, area = self.org_city[o]
            hosp = o % 4 == 0
            yield {
                "resourceType": "Organization",
                "id": self.org_ids[o],
                "identifier": [{"system": V.NPI, "value": _npi(100000000 + (o * 7919 + 17) % 99999999)}],
                "active": True,
                "type": [
                    {"coding": [{"system": V.ORG_TYPE, "code": "prov", "display": "Healthcare Provider"}]}
                ],
                "name": self.org_names[o],
                "telecom": [{"system": "phone", "value": f"{area}-555-{1000 + o % 9000:04d}", "use": "work"}],
                "address": [
                    {
                        "use": "work",
                        "line": [self.org_street[o]],
                        "city": city,
                        "state": state,
                        "postalCode": zipc,
                        "country": "US",
                    }
                ],
            }
        for o in range(self.n_org):
            city, state, zipc, _ = self.org_city[o]
            hosp = o % 4 == 0
            code, display = ("HOSP", "Hospital") if hosp else ("PC", "primary care clinic")
            yield {
                "resourceType": "Location",
                "id": self.loc_ids[o],
                "status": "active",
                "name": self.org_names[o] + (" Main Campus" if hosp else ""),
                "mode": "instance",
                "type": [{"coding": [{"system": V.ROLE_CODE, "code": code, "display": display}]}],
                "address": {
                    "use": "work",
                    "line": [self.org_street[o]],
                    "city": city,
                    "state": state,
                    "postalCode": zipc,
                    "country": "US",
                },
                "managingOrganization": {"reference": f"Organization/{self.org_ids[o]}"},
            }
        for k in range(self.n_prac):
            org = k % self.n_org
            city, state, zipc, area = self.org_city[org]
            yield {
                "resourceType": "Practitioner",
                "id": self.prac_ids[k],
                "identifier": [{"system": V.NPI, "value": _npi(100000000 + (k * 104729 + 31) % 99999999)}],
                "active": True,
                "name": [
                    {
                        "use": "official",
                        "family": self.prac_family[k],
                        "given": [self.prac_given[k]],
                        "prefix": ["Dr."],
                        "suffix": ["MD"],
                    }
                ],
                "telecom": [{"system": "phone", "value": f"{area}-555-{2000 + k % 8000:04d}", "use": "work"}],
                "address": [
                    {
                        "use": "work",
                        "line": [self.org_street[org]],
                        "city": city,
                        "state": state,
                        "postalCode": zipc,
                        "country": "US",
                    }
                ],
                "gender": self.prac_sex[k],
                "qualification": [{"code": {"text": "MD"}}],
            }
        for k in range(self.n_prac):
            org = k % self.n_org
            sp_code, sp_display = self._specialty(k)
            yield {
                "resourceType": "PractitionerRole",
                "id": self.shared_id("PractitionerRole", k),
                "active": True,
                "practitioner": {
                    "reference": f"Practitioner/{self.prac_ids[k]}",
                    "display": self.prac_names[k],
                },
                "organization": {
                    "reference": f"Organization/{self.org_ids[org]}",
                    "display": self.org_names[org],
                },
                "code": [
                    {"coding": [{"system": V.PRACTITIONER_ROLE, "code": "doctor", "display": "Doctor"}]}
                ],
                "specialty": [{"coding": [{"system": V.SNOMED, "code": sp_code, "display": sp_display}]}],
                "location": [{"reference": f"Location/{self.loc_ids[org]}"}],
            }

    def shared_bundles(self) -> Iterator[Resource]:
        batch: list[Resource] = []
        n = 0
        for res in self.shared_resources():
            batch.append(res)
            if len(batch) == SHARED_BUNDLE_SIZE:
                yield self._bundle(self.shared_id("Bundle", n), batch)
                n += 1
                batch = []
        if batch:
            yield self._bundle(self.shared_id("Bundle", n), batch)

    def _bundle(self, bid: str, resources: list[Resource]) -> Resource:
        if self.truth is not None:
            counts = self.truth.resource_counts
            for res in resources:
                rt = res["resourceType"]
                counts[rt] = counts.get(rt, 0) + 1
        return {
            "resourceType": "Bundle",
            "id": bid,
            "type": "transaction",
            "entry": [
                {
                    "fullUrl": "urn:uuid:" + res["id"],
                    "resource": res,
                    "request": {"method": "PUT", "url": res["resourceType"] + "/" + res["id"]},
                }
                for res in resources
            ],
        }

    # --- people -----------------------------------------------------------------------------------
    def _core(self, slot: int) -> tuple[random.Random, _Person]:
        """Draw the household-level demographics (origin, family name, birth date, address, phone)."""
        rng = self.rng(slot, 2)
        r = rng.random
        p = _Person()
        p.slot = slot
        p.origin = _weighted(r, list(N.ORIGIN_WEIGHTS))
        fam = _pick(r, N.SURNAMES[p.origin])
        if p.origin == "hispanic" and r() < 0.25:
            fam = f"{fam} {_pick(r, N.SURNAMES['hispanic'])}"
        p.family = fam
        u = r()
        age_days = int((u / 0.8 * 70 if u < 0.8 else 70 + 30 * (1 - ((1 - (u - 0.8) / 0.2) ** 0.5))) * 365.25)
        p.birth = min(_MAX_BIRTH, max(_MIN_BIRTH, _REF - age_days))
        p.city = _pick(r, N.LOCAL_CITIES) if r() < 0.85 else _pick(r, N.OTHER_CITIES)
        p.street_no = 1 + int((r() ** 2) * 4999)
        p.street = _pick(r, N.STREET_NAMES)
        p.suffix = int(r() * len(N.STREET_SUFFIXES))
        p.unit = f"Apt {1 + int(r() * 40)}" if r() < 0.18 else None
        p.area = p.city[3]
        p.phone = f"{p.area}-555-{int(r() * 10000):04d}"
        return rng, p

    def person(self, slot: int) -> _Person:
        """The person first registered at ``slot`` (for a twin: with the sibling's household data)."""
        rng, p = self._core(slot)
        r = rng.random
        kind, src = self.role(slot)
        sibling: _Person | None = None
        if kind == "twin":
            sibling = self.person(src)
            p.origin, p.family, p.birth = sibling.origin, sibling.family, sibling.birth
            p.city, p.street_no, p.street, p.suffix = (
                sibling.city,
                sibling.street_no,
                sibling.street,
                sibling.suffix,
            )
            p.unit, p.area, p.phone = sibling.unit, sibling.area, sibling.phone
        p.sex = "female" if r() < 0.51 else "male"
        pools = N.GIVEN_FEMALE if p.sex == "female" else N.GIVEN_MALE
        first_pool = pools[p.origin] if p.origin in pools and r() < 0.55 else pools["general"]
        first = _pick(r, first_pool)
        if sibling is not None:
            while first == sibling.given[0]:
                first = _pick(r, pools["general"])
        p.given = [first]
        if r() < 0.6:
            middle = _pick(r, pools["general"])
            if middle != first:
                p.given.append(middle)
        p.ssn = self.ssn(slot)
        p.phone_use = "mobile" if r() < 0.6 else "home"
        age_now = (_REF - p.birth) / 365.25
        # deceased
        p_death = 0.01 + (0.3 * (age_now - 60) / 40 if age_now > 60 else 0.0)
        if r() < p_death and age_now > 1:
            lo = max(p.birth + 30, _REF - 8 * 365)
            p.deceased = lo + int(r() * (_REF - 1 - lo))
        end = p.deceased if p.deceased is not None else _REF
        age = (end - p.birth) / 365.25
        if age >= 16 and r() < 0.6:
            local = "".join(
                ch for ch in f"{first}.{p.family}".lower().translate(_ACCENTS) if ch.isalnum() or ch == "."
            )
            p.email = f"{local}{int(r() * 100)}@{_pick(r, N.EMAIL_DOMAINS)}"
        if age < 18:
            p.marital = "S"
        else:
            m = r()
            if age < 30:
                p.marital = "S" if m < 0.7 else "M"
            elif age < 70:
                p.marital = "M" if m < 0.55 else ("S" if m < 0.75 else ("D" if m < 0.93 else "W"))
            else:
                p.marital = "M" if m < 0.5 else ("W" if m < 0.85 else ("D" if m < 0.95 else "S"))
        if p.sex == "female" and p.marital in ("M", "W", "D") and r() < 0.7:
            p.maiden = _pick(r, N.SURNAMES[p.origin])
        lang = N.ORIGIN_LANGUAGE.get(p.origin)
        p.lang = lang[0] if lang and r() < lang[1] else "en-US"
        # health profile
        band = 0 if age < 18 else (1 if age < 45 else (2 if age < 65 else 3))
        chosen: dict[str, int] = {}
        for key, min_age, p0, p1, p2, p3, sex in V.CHRONIC_PREVALENCE:
            prob = (p0, p1, p2, p3)[band]
            if r() >= prob or age < min_age or (sex is not None and sex != p.sex):
                continue
            if any(key in g and any(k in g for k in chosen) for g in V.EXCLUSIVE_GROUPS):
                continue
            onset_age = min_age + (age - min_age) * (r() ** 0.5)
            chosen[key] = min(end - 1, p.birth + int(onset_age * 365.25))
        if "dm2" in chosen:
            if ("ckd3" in chosen or "ckd4" in chosen) and r() < 0.5:
                chosen["dm2_ckd"] = chosen.pop("dm2")
            elif r() < 0.2:
                chosen["dm2_hyper"] = chosen.pop("dm2")
        p.chronic = sorted(chosen.items(), key=lambda kv: kv[1])
        a = r()
        if a < 0.55:
            p.allergies = []
        elif a < 0.70:
            p.allergies = [-1]
        else:
            n_all = 1 if a < 0.9 else (2 if a < 0.97 else 3)
            picks: list[int] = []
            for _ in range(n_all):
                i = int(r() * len(V.ALLERGIES))
                if i not in picks:
                    picks.append(i)
            p.allergies = picks
        # care providers
        p.pcp = self.prac_in(_pick(r, self.clinics), r)
        p.hospital = _pick(r, self.hospitals)
        # physiology baselines
        has = chosen.__contains__
        p.height = (176.0 if p.sex == "male" else 162.5) + 7.0 * _noise(r)
        p.bmi = (33.0 + 3.5 * abs(_noise(r))) if has("obesity") else 24.5 + 2.8 * _noise(r)
        if has("dm2") or has("dm2_hyper") or has("dm2_ckd") or has("dm1"):
            p.a1c = 7.6 + 0.9 * _noise(r) + (0.9 if has("dm2_hyper") else 0.0)
        elif has("prediabetes"):
            p.a1c = 6.0 + 0.2 * _noise(r)
        else:
            p.a1c = 5.2 + 0.2 * _noise(r)
        p.ldl = (150.0 if has("hld") or has("hchol") else 105.0) + 18.0 * _noise(r)
        p.hdl = (58.0 if p.sex == "female" else 47.0) + 8.0 * _noise(r)
        p.trig = 110.0 + 30.0 * _noise(r) + (40.0 if has("hld") else 0.0)
        base_cr = 0.75 if p.sex == "female" else 0.95
        p.creat = 2.9 if has("ckd4") else (1.7 if has("ckd3") or has("dm2_ckd") else base_cr)
        p.creat += 0.1 * _noise(r)
        p.sbp = (142.0 if has("htn") else 118.0) + 7.0 * _noise(r)
        p.dbp = (88.0 if has("htn") else 75.0) + 5.0 * _noise(r)
        p.hr = 72.0 + 7.0 * _noise(r)
        return p

    def _variant(self, r: Rand, src: _Person) -> tuple[_Person, list[str]]:
        """A second registration's view of ``src`` with 1-3 realistic differences (none if exact)."""
        p = src.copy()
        diffs: list[str] = []
        if r() < EXACT_DUPLICATE_SHARE:
            return p, diffs
        ops: list[tuple[str, float]] = [
            ("given-typo", 1.0),
            ("family-typo", 1.0),
            ("address-moved", 1.2),
            ("phone-changed", 0.8),
            ("ssn-missing", 0.8),
            ("ssn-typo", 0.3),
            ("birth-typo", 0.4),
        ]
        if p.given[0] in N.NICKNAMES:
            ops.append(("given-nickname", 1.5))
        if len(p.given) > 1:
            ops.append(("middle-dropped", 0.6))
            ops.append(("middle-initial", 0.4))
        if p.sex == "female" and (_REF - p.birth) > 18 * 365:
            ops.append(("family-married", 1.2))
        first_fam, _, second_fam = p.family.partition(" ")
        if first_fam in _HISPANIC_SURNAMES and second_fam in _HISPANIC_SURNAMES:
            ops.append(("family-partial", 1.0))
        if N.STREET_SUFFIXES[p.suffix][0] != N.STREET_SUFFIXES[p.suffix][1]:
            ops.append(("address-abbreviated", 0.6))
        if p.family.translate(_ACCENTS) != p.family or p.given[0].translate(_ACCENTS) != p.given[0]:
            ops.append(("accents-dropped", 1.5))
        bd = date.fromordinal(p.birth)
        if bd.day <= 12 and bd.day != bd.month:
            ops.append(("birth-swap", 1.2))
        n_ops = 1 if r() < 0.5 else (2 if r() < 0.7 else 3)
        done: list[str] = []
        for _ in range(n_ops):
            op = _weighted(r, [o for o in ops if o[0] not in done])
            done.extend(_VARIANT_CONFLICTS.get(op, (op,)))
            if op == "given-typo":
                p.given[0] = _typo(r, p.given[0])
                diffs.append("given:typo")
            elif op == "family-typo":
                p.family = _typo(r, p.family)
                diffs.append("family:typo")
            elif op == "given-nickname":
                p.given[0] = _pick(r, N.NICKNAMES[p.given[0]])
                diffs.append("given:nickname")
            elif op == "middle-dropped":
                p.given = p.given[:1]
                diffs.append("given:middle-dropped")
            elif op == "middle-initial":
                p.given = [p.given[0], p.given[1][0]] if len(p.given) > 1 else p.given
                diffs.append("given:middle-initial")
            elif op == "family-married":
                new = _pick(r, N.SURNAMES["general"] if r() < 0.6 else N.SURNAMES[p.origin])
                if new == p.family:
                    new = _pick(r, N.SURNAMES["general"])
                if r() < 0.25:
                    new = f"{p.family}-{new}"
                p.maiden = p.family if r() < 0.5 else None
                p.family = new
                diffs.append("family:married-name")
            elif op == "family-partial":
                p.family = first_fam
                diffs.append("family:second-surname-dropped")
            elif op == "accents-dropped":
                p.family = p.family.translate(_ACCENTS)
                p.given = [g.translate(_ACCENTS) for g in p.given]
                diffs.append("name:accents-dropped")
            elif op == "birth-swap":
                p.birth = date(bd.year, bd.day, bd.month).toordinal()
                diffs.append("birthDate:day-month-swapped")
            elif op == "birth-typo":
                y = bd.year
                y2 = y - y % 100 + (y % 10) * 10 + (y % 100) // 10  # 1978 -> 1987
                if y2 != y and _MIN_BIRTH <= date(y2, bd.month, min(bd.day, 28)).toordinal() <= _MAX_BIRTH:
                    p.birth = date(y2, bd.month, min(bd.day, 28)).toordinal()
                    diffs.append("birthDate:year-digits-transposed")
                else:
                    p.birth = p.birth + (1 if bd.day < 28 else -1)
                    diffs.append("birthDate:day-off-by-one")
            elif op == "address-moved":
                p.city = _pick(r, N.LOCAL_CITIES) if r() < 0.8 else _pick(r, N.OTHER_CITIES)
                p.street_no = 1 + int((r() ** 2) * 4999)
                p.street = _pick(r, N.STREET_NAMES)
                p.suffix = int(r() * len(N.STREET_SUFFIXES))
                p.unit = f"Apt {1 + int(r() * 40)}" if r() < 0.18 else None
                diffs.append("address:moved")
                if r() < 0.5:
                    p.phone = f"{p.city[3]}-555-{int(r() * 10000):04d}"
                    diffs.append("telecom:phone-changed")
            elif op == "address-abbreviated":
                diffs.append("address:street-abbreviated")
            elif op == "phone-changed":
                if "telecom:phone-changed" not in diffs:
                    p.phone = f"{p.area}-555-{int(r() * 10000):04d}"
                    diffs.append("telecom:phone-changed")
            elif op == "ssn-missing":
                if p.ssn is not None and "ssn:typo" not in diffs:
                    p.ssn = None
                    diffs.append("ssn:missing")
            elif op == "ssn-typo":
                if p.ssn is not None and "ssn:missing" not in diffs:
                    s = p.ssn
                    i = (0, 1, 2, 4, 5, 7, 8, 9, 10)[int(r() * 8)]
                    j = i + 1 if s[i + 1] != "-" else i + 2
                    t = s[:i] + s[j] + s[i + 1 : j] + s[i] + s[j + 1 :]
                    if t == s:
                        t = s[:-1] + str((int(s[-1]) + 1) % 10)
                    p.ssn = t
                    diffs.append("ssn:typo")
        return p, diffs

    # --- registrations ----------------------------------------------------------------------------
    def patient_bundle(self, slot: int) -> Resource:
        kind, src = self.role(slot)
        truth = self.truth
        rng = self.rng(slot, 3)
        r = rng.random
        abbreviated = False
        if kind == "dup":
            person, diffs = self._variant(r, self.person(src))
            abbreviated = "address:street-abbreviated" in diffs
            if person.deceased is not None and r() < 0.7:
                person.deceased = None  # the other registration never learned of the death
                diffs.append("deceased:not-recorded")
            if truth is not None:
                truth.duplicates.append(
                    DuplicatePair(
                        original_id=self.patient_id(src),
                        duplicate_id=self.patient_id(slot),
                        original_index=src,
                        duplicate_index=slot,
                        exact=not diffs,
                        differences=tuple(diffs),
                    )
                )
            if r() < 0.4:
                person.pcp = self.prac_in(_pick(r, self.clinics), r)
        else:
            person = self.person(slot)
            if kind == "twin" and truth is not None:
                truth.twin_pairs.append((self.patient_id(src), self.patient_id(slot)))
        return _Chart(self, slot, person, kind == "dup", abbreviated, rng).build()


class _Chart:
    """Builds one registration's Patient and clinical history."""

    def __init__(
        self, gen: _Generator, slot: int, person: _Person, dup: bool, abbreviated: bool, rng: random.Random
    ) -> None:
        self.g = gen
        self.slot = slot
        self.p = person
        self.dup = dup
        self.abbreviated = abbreviated
        self.r = rng.random
        self.tail = tail = gen._tail(slot)
        self.heads = {t: h + tail for t, h in gen.heads.items()}
        self.obs_head = self.heads["Observation"]
        self.k = 0
        self.res: list[Resource] = []
        self.pid = gen.patient_id(slot)
        self.pref = "urn:uuid:" + self.pid
        self.mrn = gen.mrn(slot)
        self.name = f"{person.given[0]} {person.family}"
        # per-chart state
        self.cond_ids: dict[str, str] = {}
        self.cond_text: dict[str, str] = {}
        self.active_meds: dict[str, tuple[Resource, str]] = {}  # condition key -> (request, name)
        self.med_start: dict[str, int] = {}
        self.vax_given: set[int] = set()  # indexes into CHILD_SCHEDULE
        self.last_td = -(10**9)
        self.flu_seasons: set[int] = set()
        self.covid_doses = 0
        self.pneumo = False
        self.zoster = False
        self.death_minute = 600 + int(self.r() * 600)

    def nid(self, rtype: str) -> str:
        self.k += 1
        return f"{self.heads[rtype]}{self.k:06x}"

    # --- patient ----------------------------------------------------------------------------------
    def patient(self, sparse: bool) -> Resource:
        p = self.p
        idents: list[Resource] = [
            {
                "use": "usual",
                "type": {
                    "coding": [{"system": V.V2_0203, "code": "MR", "display": "Medical record number"}],
                    "text": "MRN",
                },
                "system": V.MRN_SYSTEM,
                "value": self.mrn,
            }
        ]
        if p.ssn is not None and not sparse:
            idents.append(
                {
                    "type": {
                        "coding": [{"system": V.V2_0203, "code": "SS", "display": "Social Security number"}]
                    },
                    "system": V.SSN,
                    "value": p.ssn,
                }
            )
        names: list[Resource] = [{"use": "official", "family": p.family, "given": list(p.given)}]
        if p.maiden and p.maiden != p.family:
            names.append({"use": "maiden", "family": p.maiden, "given": [p.given[0]]})
        pat: Resource = {
            "resourceType": "Patient",
            "id": self.pid,
            "identifier": idents,
            "active": True,
            "name": names,
        }
        if not sparse:
            telecom: list[Resource] = []
            if p.phone:
                telecom.append({"system": "phone", "value": p.phone, "use": p.phone_use})
            if p.email:
                telecom.append({"system": "email", "value": p.email, "use": "home"})
            if telecom:
                pat["telecom"] = telecom
        pat["gender"] = p.sex
        pat["birthDate"] = _ds(p.birth)
        if p.deceased is not None:
            pat["deceasedDateTime"] = _dt(p.deceased, self.death_minute)
        if not sparse:
            city, state, zipc, _ = p.city
            pat["address"] = [
                {
                    "use": "home",
                    "type": "both",
                    "line": p.line(self.abbreviated),
                    "city": city,
                    "state": state,
                    "postalCode": zipc,
                    "country": "US",
                }
            ]
            pat["maritalStatus"] = {
                "coding": [{"system": V.MARITAL, "code": p.marital, "display": V.MARITAL_STATUS[p.marital]}],
                "text": V.MARITAL_STATUS[p.marital],
            }
        lang_display = V.LANGUAGES[p.lang]
        pat["communication"] = [
            {
                "language": {
                    "coding": [{"system": V.BCP47, "code": p.lang, "display": lang_display}],
                    "text": lang_display,
                },
                "preferred": True,
            }
        ]
        pat["generalPractitioner"] = [
            {"reference": f"Practitioner/{self.g.prac_ids[p.pcp]}", "display": self.g.prac_names[p.pcp]}
        ]
        pat["managingOrganization"] = {"reference": f"Organization/{self.g.org_ids[p.hospital]}"}
        return pat

    # --- conditions -------------------------------------------------------------------------------
    def condition(self, dx: V.Diagnosis, eref: str, onset: str, recorded: str, abatement: str | None) -> str:
        cid = self.nid("Condition")
        r = self.r
        u = r()
        how = "valid"
        for threshold, name in _CODING_THRESHOLDS:
            if u < threshold:
                how = name
                break
        if (
            (how == "snomed-only" and dx.snomed is None)
            or (how == "non-billable" and dx.header in V.BILLABLE_ICD10CM)
            or (how == "wrong-code" and dx.confusable is None)
        ):
            how = "valid"
        snomed = (
            {"system": V.SNOMED, "code": dx.snomed, "display": dx.snomed_display}
            if dx.snomed is not None
            else None
        )
        text = dx.text
        given: str | None = dx.icd10
        coding: list[Resource] = []
        if how == "valid":
            pass
        elif how == "snomed-only":
            coding = []
            given = None
        elif how == "text-only":
            coding = []
            snomed = None
            given = None
            text = _TEXT_ONLY.get(dx.key, dx.text.lower())
        elif how == "non-billable":
            given = dx.header
            coding = [{"system": V.ICD10CM, "code": dx.header, "display": dx.header_display}]
        elif how == "invalid-code":
            given = dx.invalid_code
            coding = [{"system": V.ICD10CM, "code": given, "display": dx.icd10_display}]
        elif how == "display-mismatch":
            wrong = dx.confusable_display if dx.confusable_display else dx.text
            if wrong == dx.icd10_display:
                wrong = dx.text + " (unspecified)"
            coding = [{"system": V.ICD10CM, "code": dx.icd10, "display": wrong}]
        else:  # wrong-code
            given = dx.confusable
            coding = [{"system": V.ICD10CM, "code": dx.confusable, "display": dx.confusable_display}]
        if how == "valid":
            code = _VALID_CODE[dx.key]
        else:
            if snomed is not None:
                coding.append(snomed)
            code = {"coding": coding, "text": text} if coding else {"text": text}
        res: Resource = {
            "resourceType": "Condition",
            "id": cid,
            "clinicalStatus": _CLINICAL["resolved" if abatement is not None else "active"],
            "verificationStatus": _CONFIRMED,
            "category": _PROBLEM_LIST if dx.setting == "chronic" else _ENCOUNTER_DX,
            "code": code,
            "subject": {"reference": self.pref},
            "encounter": {"reference": eref},
            "onsetDateTime": onset,
        }
        if abatement is not None:
            res["abatementDateTime"] = abatement
        res["recordedDate"] = recorded
        self.res.append(res)
        truth = self.g.truth
        if truth is not None:
            truth.condition_count += 1
            if how != "valid":
                truth.coding_defects.append(
                    CodingDefect(cid, self.pid, how, given, dx.icd10, dx.icd10_display)
                )
        return cid

    # --- observations -----------------------------------------------------------------------------
    def vital(self, key: str, value: float, when: str, eref: str) -> None:
        _, _, unit, ucum = V.VITALS[key]
        self.k += 1
        self.res.append(
            {
                "resourceType": "Observation",
                "id": f"{self.obs_head}{self.k:06x}",
                "status": "final",
                "category": _VITAL_CATEGORY,
                "code": _VITAL_CODE[key],
                "subject": {"reference": self.pref},
                "encounter": {"reference": eref},
                "effectiveDateTime": when,
                "issued": when,
                "valueQuantity": {"value": value, "unit": unit, "system": V.UCUM, "code": ucum},
            }
        )

    def vitals(self, day: int, minute: int, eref: str, acute: bool) -> str:
        p, r = self.p, self.r
        when = _dt(day, minute + 5)
        age = (day - p.birth) / 365.25
        if age >= 18:
            height = p.height
            bmi = p.bmi + 0.25 * (day - _REF) / 365.25 + 0.6 * _noise(r)
        else:
            frac = (
                0.29 + 0.14 * age if age < 1 else min(1.0, 0.43 + 0.05 * (age - 1) - 0.0009 * (age - 1) ** 2)
            )
            height = p.height * frac
            bmi = (15.5 + 0.08 * abs(age - 5)) * (p.bmi / 24.5) ** 0.5 + 0.4 * _noise(r)
        weight = bmi * (height / 100.0) ** 2
        parts: list[str] = []
        if age >= 3:
            if age >= 18:
                sbp = p.sbp + 0.3 * (age - 40) * (1 if age > 40 else 0) + 6 * _noise(r)
                dbp = p.dbp + 4 * _noise(r)
            else:
                sbp = 92 + 1.6 * age + 5 * _noise(r)
                dbp = 55 + 1.0 * age + 4 * _noise(r)
            sbp_i, dbp_i = round(sbp), round(min(dbp, sbp - 20))
            self.k += 1
            self.res.append(
                {
                    "resourceType": "Observation",
                    "id": f"{self.obs_head}{self.k:06x}",
                    "status": "final",
                    "category": _VITAL_CATEGORY,
                    "code": _BP_CODE,
                    "subject": {"reference": self.pref},
                    "encounter": {"reference": eref},
                    "effectiveDateTime": when,
                    "issued": when,
                    "component": [
                        {
                            "code": _SBP_CODE,
                            "valueQuantity": {
                                "value": sbp_i,
                                "unit": "mmHg",
                                "system": V.UCUM,
                                "code": "mm[Hg]",
                            },
                        },
                        {
                            "code": _DBP_CODE,
                            "valueQuantity": {
                                "value": dbp_i,
                                "unit": "mmHg",
                                "system": V.UCUM,
                                "code": "mm[Hg]",
                            },
                        },
                    ],
                }
            )
            parts.append(f"BP {sbp_i}/{dbp_i} mmHg")
        hr = p.hr + (max(0.0, 12 - age) * 5.0) + (12 if acute else 0) + 6 * _noise(r)
        hr_i = round(hr)
        self.vital("hr", hr_i, when, eref)
        parts.append(f"HR {hr_i}/min")
        w = round(weight, 1)
        self.vital("weight", w, when, eref)
        parts.append(f"Wt {w} kg")
        if age < 18 or r() < 0.35:
            self.vital("height", round(height, 1), when, eref)
        if age >= 2:
            self.vital("bmi", round(weight / (height / 100.0) ** 2, 1), when, eref)
        if acute:
            t = round(37.0 + 0.5 * abs(_noise(r)), 1)
            self.vital("temp", t, when, eref)
            self.vital("rr", round(17 + 2 * abs(_noise(r))), when, eref)
            parts.append(f"T {t} C")
        return ", ".join(parts)

    def lab_value(self, key: str, day: int, age: float, infection: bool) -> float:
        p, r = self.p, self.r
        years = (day - _REF) / 365.25  # negative: in the past
        chronic = self.cond_ids
        if key in ("a1c", "glucose"):
            a1c = p.a1c
            if a1c >= 6.5:  # diabetes worsens by ~0.1 point a year; treatment brings it down
                a1c += 0.1 * years
                if "a1c_treated" in self.med_start and day > self.med_start["a1c_treated"]:
                    a1c -= 0.7
            if key == "a1c":
                return max(4.0, a1c + 0.2 * _noise(r))
            # fasting glucose, roughly the estimated average glucose less the post-prandial share
            return max(55.0, 28.7 * a1c - 60.0 + 9 * _noise(r) + (25 if infection else 0))
        if key == "creatinine":
            ckd = p.creat > 1.4
            return max(0.3, p.creat * (1 + (0.04 * years if ckd else 0.0)) + 0.07 * _noise(r))
        if key == "bun":
            return max(4.0, 9 + 7 * p.creat + 2.5 * _noise(r))
        if key == "sodium":
            return 139.5 + 2.2 * _noise(r)
        if key == "potassium":
            return 4.2 + 0.35 * _noise(r) + (0.4 if p.creat > 1.4 else 0.0)
        if key == "ldl":
            v = p.ldl + 10 * _noise(r)
            if "ldl_treated" in self.med_start and day > self.med_start["ldl_treated"]:
                v *= 0.62
            return max(35.0, v)
        if key == "hdl":
            return max(20.0, p.hdl + 5 * _noise(r))
        if key == "trig":
            return max(40.0, p.trig + 25 * _noise(r))
        if key == "wbc":
            return max(2.0, (13.5 if infection else 7.2) + 1.8 * _noise(r))
        if key == "hgb":
            return max(
                6.0,
                (15.0 if p.sex == "male" else 13.4) - (2.6 if "anemia" in chronic else 0.0) + 0.8 * _noise(r),
            )
        if key == "plt":
            return max(40.0, 255 + 45 * _noise(r))
        if key == "tsh":
            if "hypothyroid" in chronic:
                treated = "tsh_treated" in self.med_start and day > self.med_start["tsh_treated"]
                return max(0.1, (2.6 if treated else 7.5) + 1.1 * _noise(r))
            return max(0.2, 1.9 + 0.6 * _noise(r))
        raise KeyError(key)

    def panel(self, pkey: str, day: int, minute: int, eref: str, infection: bool) -> None:
        members = V.PANELS[pkey][2]
        p = self.p
        when = _dt(day, minute + 20)
        issued = _dt(day, minute + 180)
        age = (day - p.birth) / 365.25
        male = p.sex == "male"
        refs: list[Resource] = []
        cache: dict[str, float] = {}
        for key in members:
            t = V.LABS[key]
            if key == "egfr":
                if age < 18:
                    continue
                cr = cache.get("creatinine") or self.lab_value("creatinine", day, age, infection)
                v = 175.0 * cr**-1.154 * age**-0.203 * (0.742 if not male else 1.0)
            elif key == "hct":
                v = cache.get("hgb", 14.0) * 3.0 + 0.8 * _noise(self.r)
            elif key == "chol":
                continue  # computed after ldl/hdl/trig below
            else:
                v = self.lab_value(key, day, age, infection)
            cache[key] = v
        if "chol" in members:
            cache["chol"] = cache["ldl"] + cache["hdl"] + cache["trig"] / 5.0
        pref, res, obs_head = self.pref, self.res, self.obs_head
        for key in members:
            if key not in cache:
                continue
            t = V.LABS[key]
            v = cache[key]
            value: float = round(v, t.decimals) if t.decimals else round(v)
            low, high = (t.low_male, t.high_male) if male else (t.low, t.high)
            if low is not None and value < low:
                interp = _INTERP["L"]
            elif high is not None and value > high:
                interp = _INTERP["H"]
            else:
                interp = _INTERP["N"]
            code, range_f, range_m = _LAB_FRAGMENTS[key]
            self.k += 1
            oid = f"{obs_head}{self.k:06x}"
            res.append(
                {
                    "resourceType": "Observation",
                    "id": oid,
                    "status": "final",
                    "category": _LAB_CATEGORY,
                    "code": code,
                    "subject": {"reference": pref},
                    "encounter": {"reference": eref},
                    "effectiveDateTime": when,
                    "issued": issued,
                    "valueQuantity": {"value": value, "unit": t.unit, "system": V.UCUM, "code": t.ucum},
                    "interpretation": interp,
                    "referenceRange": range_m if male else range_f,
                }
            )
            refs.append({"reference": "urn:uuid:" + oid})
        self.res.append(
            {
                "resourceType": "DiagnosticReport",
                "id": self.nid("DiagnosticReport"),
                "status": "final",
                "category": _DR_CATEGORY,
                "code": _PANEL_CODE[pkey],
                "subject": {"reference": self.pref},
                "encounter": {"reference": eref},
                "effectiveDateTime": when,
                "issued": issued,
                "performer": [{"reference": f"Organization/{self.g.org_ids[self.p.hospital]}"}],
                "result": refs,
            }
        )

    # --- orders -----------------------------------------------------------------------------------
    def medication(
        self, med: V.Med, day: int, minute: int, eref: str, prac: int, cref: str, status: str
    ) -> Resource:
        rx, _, sig = med
        res: Resource = {
            "resourceType": "MedicationRequest",
            "id": self.nid("MedicationRequest"),
            "status": status,
            "intent": "order",
            "medicationCodeableConcept": _MED_CODE[rx],
            "subject": {"reference": self.pref},
            "encounter": {"reference": eref},
            "authoredOn": _dt(day, minute + 25),
            "requester": {
                "reference": f"Practitioner/{self.g.prac_ids[prac]}",
                "display": self.g.prac_names[prac],
            },
            "reasonReference": [{"reference": cref}],
            "dosageInstruction": [{"sequence": 1, "text": sig}],
        }
        self.res.append(res)
        return res

    def procedure(
        self, key: str, day: int, minute: int, eref: str, prac: int, org: int, cref: str | None
    ) -> str:
        display = V.PROCEDURES[key][1]
        res: Resource = {
            "resourceType": "Procedure",
            "id": self.nid("Procedure"),
            "status": "completed",
            "code": _PROCEDURE_CODE[key],
            "subject": {"reference": self.pref},
            "encounter": {"reference": eref},
            "performedPeriod": {"start": _dt(day, minute + 10), "end": _dt(day, minute + 25)},
            "performer": [{"actor": {"reference": f"Practitioner/{self.g.prac_ids[prac]}"}}],
            "location": {"reference": f"Location/{self.g.loc_ids[org]}"},
        }
        if cref is not None:
            res["reasonReference"] = [{"reference": cref}]
        self.res.append(res)
        return display

    def immunization(self, vkey: str, day: int, minute: int, eref: str, prac: int) -> None:
        r = self.r
        self.res.append(
            {
                "resourceType": "Immunization",
                "id": self.nid("Immunization"),
                "status": "completed",
                "vaccineCode": _VACCINE_CODE[vkey],
                "patient": {"reference": self.pref},
                "encounter": {"reference": eref},
                "occurrenceDateTime": _dt(day, minute + 30),
                "primarySource": True,
                "lotNumber": f"{chr(65 + int(r() * 26))}{chr(65 + int(r() * 26))}{int(r() * 100000):05d}",
                "performer": [{"actor": {"reference": f"Practitioner/{self.g.prac_ids[prac]}"}}],
            }
        )

    def allergies(self, day: int, minute: int, eref: str) -> None:
        when = _dt(day, minute + 8)
        for i in self.p.allergies:
            if i < 0:
                code, display = V.NO_KNOWN_ALLERGY
                self.res.append(
                    {
                        "resourceType": "AllergyIntolerance",
                        "id": self.nid("AllergyIntolerance"),
                        "clinicalStatus": {
                            "coding": [{"system": V.ALLERGY_CLINICAL, "code": "active", "display": "Active"}]
                        },
                        "verificationStatus": {
                            "coding": [{"system": V.ALLERGY_VER, "code": "confirmed", "display": "Confirmed"}]
                        },
                        "code": {
                            "coding": [{"system": V.SNOMED, "code": code, "display": display}],
                            "text": display,
                        },
                        "patient": {"reference": self.pref},
                        "encounter": {"reference": eref},
                        "recordedDate": when,
                    }
                )
                continue
            system, code, display, category, atype, crit, (rcode, rdisplay) = V.ALLERGIES[i]
            self.res.append(
                {
                    "resourceType": "AllergyIntolerance",
                    "id": self.nid("AllergyIntolerance"),
                    "clinicalStatus": {
                        "coding": [{"system": V.ALLERGY_CLINICAL, "code": "active", "display": "Active"}]
                    },
                    "verificationStatus": {
                        "coding": [{"system": V.ALLERGY_VER, "code": "confirmed", "display": "Confirmed"}]
                    },
                    "type": atype,
                    "category": [category],
                    "criticality": crit,
                    "code": {
                        "coding": [{"system": system, "code": code, "display": display}],
                        "text": display,
                    },
                    "patient": {"reference": self.pref},
                    "encounter": {"reference": eref},
                    "recordedDate": when,
                    "reaction": [
                        {
                            "manifestation": [
                                {
                                    "coding": [{"system": V.SNOMED, "code": rcode, "display": rdisplay}],
                                    "text": rdisplay,
                                }
                            ],
                            "severity": "severe" if crit == "high" else "mild",
                        }
                    ],
                }
            )

    def note(
        self,
        eid: str,
        discharge: bool,
        text: str,
        start: str,
        end: str,
        signed_at: str | None,
        prac: int,
        org: int,
    ) -> str:
        did = self.nid("DocumentReference")
        display = "Discharge summary" if discharge else "Progress note"
        ref = f"Practitioner/{self.g.prac_ids[prac]}"
        pname = self.g.prac_names[prac]
        res: Resource = {
            "resourceType": "DocumentReference",
            "id": did,
            "status": "current",
            "docStatus": "final" if signed_at else "preliminary",
            "type": _NOTE_TYPE[discharge],
            "category": _NOTE_CATEGORY,
            "subject": {"reference": self.pref},
            "date": signed_at or end,
            "author": [{"reference": ref, "display": pname}],
        }
        if signed_at:
            res["authenticator"] = {"reference": ref, "display": pname}
        res["custodian"] = {"reference": f"Organization/{self.g.org_ids[org]}"}
        res["description"] = display
        res["content"] = [
            {
                "attachment": {
                    "contentType": "text/plain",
                    "language": "en-US",
                    "data": base64.b64encode(text.encode()).decode("ascii"),
                    "title": f"{display} {start[:10]}",
                    "creation": end,
                }
            }
        ]
        res["context"] = {
            "encounter": [{"reference": "urn:uuid:" + eid}],
            "period": {"start": start, "end": end},
        }
        self.res.append(res)
        return did

    # --- the chart --------------------------------------------------------------------------------
    def build(self) -> Resource:
        g, p, r = self.g, self.p, self.r
        truth = g.truth
        sparse = r() < SPARSE_RATE
        self.res.append(self.patient(sparse))
        if truth is not None:
            if sparse:
                truth.sparse_patient_ids.append(self.pid)
            if p.deceased is not None:
                truth.deceased_patient_ids.append(self.pid)
        end = p.deceased if p.deceased is not None else _REF - 1
        lo = max(p.birth, end - _HISTORY_DAYS)
        if self.dup:
            span = min(end - lo, 60 + int(r() * 1000))
            lo = lo + int(r() * max(0, end - lo - span))
            end = lo + span
            n = 1 + int(r() * 5)
        else:
            n = 5 + int(35 * r() ** 4.5) + min(4, len(p.chronic) // 2)
        n = max(1, min(40, n, (end - lo) // 3 + 1))
        days = sorted(lo + int(r() * (end - lo + 1)) for _ in range(n))
        dies_here = p.deceased is not None and not self.dup
        if dies_here:
            days[-1] = max(lo, end - int(r() * 6))  # the final admission, ending in death
            days.sort()
        chronic = p.chronic
        next_chronic = 0
        prev_end = -1
        first = True
        for idx, day in enumerate(days):
            if day <= prev_end:
                day = prev_end + 1
            if day > end:
                break
            last = idx == len(days) - 1
            age = (day - p.birth) / 365.25
            if dies_here and last:
                cls = "IMP"
            else:
                u = r()
                p_imp = 0.035 + (0.04 if age >= 65 else 0.0) + 0.006 * len(chronic)
                cls = "IMP" if u < p_imp else ("EMER" if u < p_imp + 0.10 else "AMB")
            # chronic conditions first documented at this visit
            new_chronic: list[tuple[str, int]] = []
            while next_chronic < len(chronic) and chronic[next_chronic][1] <= day:
                new_chronic.append(chronic[next_chronic])
                next_chronic += 1
            prev_end = self.encounter(cls, day, age, new_chronic, first, dies_here and last, end)
            first = False
        if p.deceased is not None and not self.dup:
            for req, _ in self.active_meds.values():
                req["status"] = "stopped"
        if truth is not None:
            counts = truth.resource_counts
            for res in self.res:
                rt = res["resourceType"]
                counts[rt] = counts.get(rt, 0) + 1
        return {
            "resourceType": "Bundle",
            "id": f"{self.heads['Bundle']}000000",
            "type": "transaction",
            "entry": [
                {
                    "fullUrl": "urn:uuid:" + res["id"],
                    "resource": res,
                    "request": {"method": "PUT", "url": res["resourceType"] + "/" + res["id"]},
                }
                for res in self.res
            ],
        }

    def encounter(
        self,
        cls: str,
        day: int,
        age: float,
        new_chronic: list[tuple[str, int]],
        first: bool,
        death: bool,
        end: int,
    ) -> int:
        """Emit one encounter and everything documented in it; return the ordinal of its last day."""
        g, p, r = self.g, self.p, self.r
        truth = g.truth
        eid = self.nid("Encounter")
        eref = "urn:uuid:" + eid
        # timing, place, people
        if cls == "AMB":
            minute = 8 * 60 + int(r() * 36) * 15
            end_day, end_minute = day, minute + 30 + int(r() * 4) * 10
            org = p.pcp % g.n_org
            prac = p.pcp if r() < 0.85 else g.prac_in(org, r)
        elif cls == "EMER":
            minute = int(r() * 1440)
            end_day, end_minute = day, minute + 120 + int(r() * 360)
            org = p.hospital if r() < 0.85 else _pick(r, g.hospitals)
            prac = g.prac_in(org, r)
        elif death:
            end_day, end_minute = end, self.death_minute
            minute = int(r() * (self.death_minute - 60)) if end_day == day else int(r() * 1440)
            org = p.hospital if r() < 0.85 else _pick(r, g.hospitals)
            prac = g.prac_in(org, r)
        else:
            minute = int(r() * 1440)
            los = 1 + int(r() * 3) + (int(r() * 6) if age > 65 else 0)
            end_day = max(day + 1, min(day + los, end))
            end_minute = 9 * 60 + int(r() * 8 * 60)
            org = p.hospital if r() < 0.85 else _pick(r, g.hospitals)
            prac = g.prac_in(org, r)
        start_s = _dt(day, minute)
        end_s = _dt(end_day, end_minute)
        real_end_day = end_day + end_minute // 1440
        # what happens
        chronic_keys = [k for k, _ in self.p.chronic if k in self.cond_ids]
        purpose = "emergency"
        principal: V.Diagnosis | None = None
        if cls == "AMB":
            x = r()
            if age < 3:
                purpose = "wellness" if x < 0.7 else "acute"
            elif chronic_keys and x < 0.45:
                purpose = "followup"
            else:
                purpose = "wellness" if r() < 0.45 else "acute"
            if purpose == "acute":
                principal = self._choose(V.ACUTE_CHOICES, age, day)
        elif cls == "EMER":
            principal = self._choose(V.ED_CHOICES, age, day)
        else:
            purpose = "admission"
            principal = self._choose(V.INPATIENT_CHOICES, age, day)
        diag_refs: list[tuple[str, str]] = []  # (condition reference, display text)
        onset_s = start_s
        recorded_s = _dt(day, minute + 15)
        principal_ref: str | None = None
        if principal is not None:
            abatement: str | None = None
            resolve_day = real_end_day + 7 + int(r() * 21)
            if principal.key not in ("stroke", "mi") and resolve_day < (p.deceased or _REF) and not death:
                abatement = _ds(resolve_day)
            cid = self.condition(principal, eref, onset_s, recorded_s, abatement)
            principal_ref = "urn:uuid:" + cid
            diag_refs.append((principal_ref, principal.text))
        for key, onset in new_chronic:
            dx = V.DIAGNOSIS_BY_KEY[key]
            cid = self.condition(dx, eref, _ds(onset), recorded_s, None)
            self.cond_ids[key] = "urn:uuid:" + cid
            self.cond_text[key] = dx.text
            diag_refs.append(("urn:uuid:" + cid, dx.text))
        if purpose == "followup":
            for key in chronic_keys[:3]:
                diag_refs.append((self.cond_ids[key], self.cond_text[key]))
        if first and self.p.allergies:
            self.allergies(day, minute, eref)
        # vitals and labs
        acute = cls != "AMB"
        vitals_text = ""
        if cls != "AMB" or r() < 0.75:
            vitals_text = self.vitals(day, minute, eref, acute)
        infection = principal is not None and principal.key in (
            "pneumonia",
            "sepsis",
            "cellulitis",
            "ip_cellulitis",
            "ed_uti",
            "uti",
            "ip_covid",
        )
        panels: list[str] = []
        has = self.cond_ids.__contains__
        diabetic = has("dm2") or has("dm2_hyper") or has("dm2_ckd") or has("dm1") or has("prediabetes")
        if cls == "IMP":
            panels = ["bmp", "cbc"]
        elif cls == "EMER":
            x = r()
            if age >= 12 and x < 0.6:
                panels = ["bmp", "cbc"] if x < 0.3 else ["bmp"]
        elif age >= 18:
            if purpose == "wellness":
                if age >= 35 and r() < (0.6 if has("hld") or has("hchol") else 0.3):
                    panels.append("lipid")
                if r() < (0.5 if has("htn") else 0.3):
                    panels.append("bmp")
                if r() < 0.2:
                    panels.append("cbc")
                if diabetic:
                    panels.append("a1c")
            elif purpose == "followup":
                if diabetic:
                    panels.append("a1c")
                if (
                    has("ckd3")
                    or has("ckd4")
                    or has("dm2_ckd")
                    or (has("htn") and r() < 0.4)
                    or (diabetic and r() < 0.5)
                ):
                    panels.append("bmp")
                if (has("hld") or has("hchol")) and r() < 0.5:
                    panels.append("lipid")
                if has("hypothyroid") and r() < 0.6:
                    panels.append("tsh")
                if has("anemia") and r() < 0.6:
                    panels.append("cbc")
        for pk in panels:
            self.panel(pk, day, minute, eref, infection)
        if cls == "IMP" and real_end_day > day and r() < 0.5:
            self.panel("bmp", real_end_day, 5 * 60, eref, False)
        # medications
        med_names: list[str] = []
        for key, _ in new_chronic:
            meds = V.CHRONIC_MEDS.get(key)
            if meds and (age >= 12 or key in ("asthma", "adhd", "rhinitis", "dm1")) and r() < 0.85:
                med = _pick(r, meds)
                req = self.medication(med, day, minute, eref, prac, self.cond_ids[key], "active")
                self.active_meds[key] = (req, med[1])
                if key.startswith("dm"):
                    self.med_start["a1c_treated"] = day
                elif key in ("hld", "hchol"):
                    self.med_start["ldl_treated"] = day
                elif key == "hypothyroid":
                    self.med_start["tsh_treated"] = day
        if purpose == "followup" and self.active_meds and r() < 0.5:
            key = _pick(r, list(self.active_meds))
            old, _ = self.active_meds[key]
            old["status"] = "completed"
            med = next(m for m in V.CHRONIC_MEDS[key] if m[1] == self.active_meds[key][1])
            req = self.medication(med, day, minute, eref, prac, self.cond_ids[key], "active")
            self.active_meds[key] = (req, med[1])
        if principal is not None and principal_ref is not None:
            meds = V.ACUTE_MEDS.get(principal.key)
            if meds and r() < 0.8:
                med = _pick(r, meds)
                status = "completed" if real_end_day + 30 < _REF and not death else "active"
                if death:
                    status = "stopped"
                self.medication(med, day, minute, eref, prac, principal_ref, status)
                med_names.append(med[1])
        med_names.extend(name for _, name in self.active_meds.values())
        # procedures
        proc_names: list[str] = []
        if principal is not None and principal_ref is not None:
            for pk in V.DIAGNOSIS_PROCEDURES.get(principal.key, ()):
                proc_names.append(self.procedure(pk, day, minute + 60, eref, prac, org, principal_ref))
        if cls == "AMB" and age >= 18:
            if purpose == "wellness":
                if r() < 0.3:
                    proc_names.append(self.procedure("depression_screen", day, minute, eref, prac, org, None))
                if age >= 50 and r() < 0.06:
                    proc_names.append(self.procedure("colonoscopy", day, minute, eref, prac, org, None))
                if p.sex == "female" and age >= 40 and r() < 0.25:
                    proc_names.append(self.procedure("mammography", day, minute, eref, prac, org, None))
                if p.sex == "female" and age >= 65 and r() < 0.1:
                    proc_names.append(self.procedure("bone_density", day, minute, eref, prac, org, None))
            if self.active_meds and r() < 0.3:
                proc_names.append(self.procedure("med_rec", day, minute, eref, prac, org, None))
            if purpose == "followup" and (has("copd") or has("asthma")) and r() < 0.3:
                key = "copd" if has("copd") else "asthma"
                proc_names.append(
                    self.procedure("spirometry", day, minute, eref, prac, org, self.cond_ids[key])
                )
        # immunizations (office visits only)
        if cls == "AMB":
            self.immunize(day, minute, age, eref, prac, purpose == "wellness")
        # the encounter itself
        type_key = "emergency_admission" if cls == "IMP" and r() < 0.6 else purpose
        prac_ref = {"reference": f"Practitioner/{g.prac_ids[prac]}", "display": g.prac_names[prac]}
        enc: Resource = {
            "resourceType": "Encounter",
            "id": eid,
            "identifier": [{"system": V.MRN_SYSTEM + ".1", "value": f"V{self.mrn}{self.k:05d}"}],
            "status": "finished",
            "class": _ENC_CLASS[cls],
            "type": _ENC_TYPE[type_key],
            "subject": {"reference": self.pref, "display": self.name},
            "participant": [
                {
                    "type": _ATTENDER,
                    "period": {"start": start_s, "end": end_s},
                    "individual": prac_ref,
                }
            ],
            "period": {"start": start_s, "end": end_s},
        }
        if principal_ref is not None:
            enc["reasonReference"] = [{"reference": principal_ref}]
        missing_dd = False
        if diag_refs:
            diagnoses: list[Resource] = []
            if cls == "IMP":
                diagnoses.append(
                    {
                        "condition": {"reference": diag_refs[0][0]},
                        "use": _DX_USE["AD"],
                        "rank": 1,
                    }
                )
                missing_dd = r() < MISSING_DISCHARGE_DX_RATE
                if not missing_dd:
                    for rank, (cref, _) in enumerate(diag_refs[:4], 1):
                        diagnoses.append(
                            {
                                "condition": {"reference": cref},
                                "use": _DX_USE["DD"],
                                "rank": rank,
                            }
                        )
            else:
                for rank, (cref, _) in enumerate(diag_refs[:4], 1):
                    diagnoses.append(
                        {
                            "condition": {"reference": cref},
                            "use": _DX_USE["billing"],
                            "rank": rank,
                        }
                    )
            enc["diagnosis"] = diagnoses
        disposition = ""
        if cls != "AMB":
            if cls == "IMP":
                src = "emd" if type_key == "emergency_admission" else ("gp" if r() < 0.7 else "outp")
                if death:
                    dcode = "exp"
                elif age > 75 and r() < 0.3:
                    dcode = "snf"
                elif r() < 0.05:
                    dcode = "rehab"
                elif r() < 0.02:
                    dcode = "aadvice"
                else:
                    dcode = "home"
            else:
                src = "emd"
                dcode = "home" if r() < 0.97 else "aadvice"
            disposition = V.DISPOSITIONS[dcode]
            enc["hospitalization"] = {
                "admitSource": _ADMIT_SOURCE[src],
                "dischargeDisposition": _DISPOSITION[dcode],
            }
        enc["location"] = [
            {
                "location": {"reference": f"Location/{g.loc_ids[org]}", "display": g.org_names[org]},
                "status": "completed",
                "period": {"start": start_s, "end": end_s},
            }
        ]
        enc["serviceProvider"] = {"reference": f"Organization/{g.org_ids[org]}", "display": g.org_names[org]}
        self.res.append(enc)
        # the note
        x = r()
        defect: str | None = None
        doc_id: str | None = None
        if x < MISSING_NOTE_RATE:
            defect = "missing-note"
        else:
            signed = x >= MISSING_NOTE_RATE + UNSIGNED_NOTE_RATE
            signed_at = _dt(real_end_day, (end_minute % 1440) + 30 + int(r() * 600)) if signed else None
            if signed_at is not None and signed_at < end_s:
                signed_at = end_s
            dx_texts = [t for _, t in diag_refs]
            if cls == "IMP":
                text = notes.discharge_summary(
                    patient_name=self.name,
                    birth_date=_ds(p.birth),
                    mrn=self.mrn,
                    admitted=start_s,
                    discharged=end_s,
                    author=g.prac_names[prac],
                    admission_reason=dx_texts[0] if dx_texts else "Evaluation",
                    discharge_diagnoses=[] if missing_dd else dx_texts,
                    procedures=proc_names,
                    disposition=disposition,
                    medications=med_names,
                    signed_at=signed_at,
                )
            else:
                text = notes.progress_note(
                    kind=purpose,
                    patient_name=self.name,
                    birth_date=_ds(p.birth),
                    mrn=self.mrn,
                    when=start_s,
                    author=g.prac_names[prac],
                    reason=V.ENCOUNTER_TYPES[purpose][1] if principal is None else principal.text,
                    assessment=dx_texts,
                    vitals=vitals_text,
                    medications=med_names,
                    signed_at=signed_at,
                )
            doc_id = self.note(eid, cls == "IMP", text, start_s, end_s, signed_at, prac, org)
            if not signed:
                defect = "unsigned-note"
        if truth is not None:
            truth.encounter_count += 1
            if defect is not None:
                truth.chart_defects.append(
                    ChartDefect(eid, self.pid, defect, doc_id if defect == "unsigned-note" else None)
                )
            if missing_dd:
                truth.chart_defects.append(ChartDefect(eid, self.pid, "missing-discharge-diagnosis"))
        return real_end_day

    def _choose(
        self, table: tuple[tuple[str, float, int, int, str | None], ...], age: float, day: int
    ) -> V.Diagnosis:
        has = self.cond_ids.__contains__
        ck = (id(table), int(age), self.p.sex, day >= _COVID_START, has("asthma"), has("copd"))
        items = _CHOICE_CACHE.get(ck)
        if items is None:
            items = []
            for key, w, amin, amax, sex in table:
                if key == "asthma_exac":
                    w = 4.0 if ck[4] else 0.0
                elif key == "copd_exac":
                    w = 5.0 if ck[5] else 0.0
                if w <= 0 or ck[1] < amin or ck[1] > amax or (sex is not None and sex != ck[2]):
                    continue
                if key in ("covid", "ip_covid") and not ck[3]:
                    continue
                items.append((V.DIAGNOSIS_BY_KEY[key], w))
            if not items:
                items = [(V.DIAGNOSIS_BY_KEY[table[0][0]], 1.0)]
            _CHOICE_CACHE[ck] = items
        dx: V.Diagnosis = _weighted(self.r, items)
        return dx

    def immunize(self, day: int, minute: int, age: float, eref: str, prac: int, wellness: bool) -> None:
        r = self.r
        age_days = day - self.p.birth
        if age < 19 and wellness:
            given = 0
            for i, (vkey, due) in enumerate(V.CHILD_SCHEDULE):
                if i in self.vax_given or due > age_days:
                    continue
                self.vax_given.add(i)
                if age_days - due < 3 * 365 and given < 5:
                    self.immunization(vkey, day, minute, eref, prac)
                    given += 1
        d = date.fromordinal(day)
        month = d.month
        season = d.year - (1 if month < 7 else 0)
        if (month >= 9 or month <= 3) and age >= 0.5 and season not in self.flu_seasons and r() < 0.55:
            self.flu_seasons.add(season)
            self.immunization("flu", day, minute, eref, prac)
        if day >= _COVID_VACCINE_START and age >= 5 and self.covid_doses < 3 and r() < 0.25:
            self.covid_doses += 1
            self.immunization("covid", day, minute, eref, prac)
        if wellness and age >= 19:
            if day - self.last_td > 3650 and r() < 0.3:
                self.last_td = day
                self.immunization("tdap" if r() < 0.5 else "td", day, minute, eref, prac)
            if age >= 65 and not self.pneumo and r() < 0.5:
                self.pneumo = True
                self.immunization("ppsv23" if r() < 0.5 else "pcv13", day, minute, eref, prac)
            if age >= 50 and not self.zoster and r() < 0.3:
                self.zoster = True
                self.immunization(
                    "zoster" if day >= _SHINGRIX_START else "zoster_live", day, minute, eref, prac
                )


# ---------------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------------


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
    gen = _Generator(patients, seed, shared_every, truth)
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
    return _Generator(0, seed, 200, None).patient_id(slot)


def planted_duplicates(patients: int, seed: int = 1) -> list[DuplicatePair]:
    """The duplicate registrations of a population, computed without generating any chart."""
    gen = _Generator(patients, seed, 200, None)
    out: list[DuplicatePair] = []
    for slot in range(_FIRST_DUP_SLOT, patients):
        kind, src = gen.role(slot)
        if kind != "dup":
            continue
        r = gen.rng(slot, 3).random
        person, diffs = gen._variant(r, gen.person(src))
        if person.deceased is not None and r() < 0.7:
            diffs.append("deceased:not-recorded")
        out.append(
            DuplicatePair(gen.patient_id(src), gen.patient_id(slot), src, slot, not diffs, tuple(diffs))
        )
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
