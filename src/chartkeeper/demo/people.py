"""Who a registration is about: the demographics of one person.

A person is drawn from stream 2 of the slot of their first registration: first the household
(surname, birth date, address, phone, shared with a twin), then the individual (sex, given names,
death, e-mail, marital status, language). Their health profile is in :mod:`~chartkeeper.demo.health`.
Duplicate registrations start from a :meth:`Person.copy` (see :mod:`~chartkeeper.demo.variants`).
"""

from __future__ import annotations

from chartkeeper.demo import names as N
from chartkeeper.demo.clock import MAX_BIRTH, MIN_BIRTH, REF
from chartkeeper.demo.rand import Rand, pick, weighted

ACCENTS = str.maketrans("áéíóúñüÁÉÍÓÚÑÜ", "aeiounuAEIOUNU")


class Person:
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

    def copy(self) -> Person:
        """A shallow copy for a duplicate registration to vary (``given`` is copied: variations edit it)."""
        p = Person()
        for k in Person.__slots__:
            setattr(p, k, getattr(self, k))
        p.given = list(self.given)
        return p

    def line(self, abbreviated: bool = False) -> list[str]:
        """The address lines, with the street suffix abbreviated ("St") or not ("Street")."""
        full, abbr = N.STREET_SUFFIXES[self.suffix]
        first = f"{self.street_no} {self.street} {abbr if abbreviated else full}"
        return [first, self.unit] if self.unit else [first]

    def end(self) -> int:
        """The last day of the person's life within the history (death, else the reference date)."""
        return self.deceased if self.deceased is not None else REF


def draw_household(r: Rand, slot: int) -> Person:
    """Draw the household-level demographics (origin, family name, birth date, address, phone)."""
    p = Person()
    p.slot = slot
    p.origin = weighted(r, list(N.ORIGIN_WEIGHTS))
    fam = pick(r, N.SURNAMES[p.origin])
    if p.origin == "hispanic" and r() < 0.25:
        fam = f"{fam} {pick(r, N.SURNAMES['hispanic'])}"
    p.family = fam
    u = r()
    age_days = int((u / 0.8 * 70 if u < 0.8 else 70 + 30 * (1 - ((1 - (u - 0.8) / 0.2) ** 0.5))) * 365.25)
    p.birth = min(MAX_BIRTH, max(MIN_BIRTH, REF - age_days))
    p.city = pick(r, N.LOCAL_CITIES) if r() < 0.85 else pick(r, N.OTHER_CITIES)
    p.street_no = 1 + int((r() ** 2) * 4999)
    p.street = pick(r, N.STREET_NAMES)
    p.suffix = int(r() * len(N.STREET_SUFFIXES))
    p.unit = f"Apt {1 + int(r() * 40)}" if r() < 0.18 else None
    p.area = p.city[3]
    p.phone = f"{p.area}-555-{int(r() * 10000):04d}"
    return p


def join_household(p: Person, sibling: Person) -> None:
    """Make ``p`` a twin of ``sibling``: same origin, surname, birth date, address and phone."""
    p.origin, p.family, p.birth = sibling.origin, sibling.family, sibling.birth
    p.city, p.street_no, p.street, p.suffix = sibling.city, sibling.street_no, sibling.street, sibling.suffix
    p.unit, p.area, p.phone = sibling.unit, sibling.area, sibling.phone


def draw_individual(r: Rand, p: Person, ssn: str, sibling: Person | None) -> None:
    """Draw sex, given names, SSN, death, e-mail, marital status and language (after the household)."""
    p.sex = "female" if r() < 0.51 else "male"
    _draw_given(r, p, sibling)
    p.ssn = ssn
    p.phone_use = "mobile" if r() < 0.6 else "home"
    _draw_death(r, p)
    age = (p.end() - p.birth) / 365.25
    if age >= 16 and r() < 0.6:
        local = "".join(
            ch for ch in f"{p.given[0]}.{p.family}".lower().translate(ACCENTS) if ch.isalnum() or ch == "."
        )
        p.email = f"{local}{int(r() * 100)}@{pick(r, N.EMAIL_DOMAINS)}"
    p.marital = _draw_marital(r, age)
    if p.sex == "female" and p.marital in ("M", "W", "D") and r() < 0.7:
        p.maiden = pick(r, N.SURNAMES[p.origin])
    lang = N.ORIGIN_LANGUAGE.get(p.origin)
    p.lang = lang[0] if lang and r() < lang[1] else "en-US"


def _draw_given(r: Rand, p: Person, sibling: Person | None) -> None:
    """First name (never the twin's) and, for 60%, a middle name."""
    pools = N.GIVEN_FEMALE if p.sex == "female" else N.GIVEN_MALE
    first_pool = pools[p.origin] if p.origin in pools and r() < 0.55 else pools["general"]
    first = pick(r, first_pool)
    if sibling is not None:
        while first == sibling.given[0]:
            first = pick(r, pools["general"])
    p.given = [first]
    if r() < 0.6:
        middle = pick(r, pools["general"])
        if middle != first:
            p.given.append(middle)


def _draw_death(r: Rand, p: Person) -> None:
    """Death within the last 8 years, likelier with age (1% base, up to 31% at 100)."""
    age_now = (REF - p.birth) / 365.25
    p_death = 0.01 + (0.3 * (age_now - 60) / 40 if age_now > 60 else 0.0)
    if r() < p_death and age_now > 1:
        lo = max(p.birth + 30, REF - 8 * 365)
        p.deceased = lo + int(r() * (REF - 1 - lo))


def _draw_marital(r: Rand, age: float) -> str:
    """A V3 marital status code, by age band."""
    if age < 18:
        return "S"
    m = r()
    if age < 30:
        return "S" if m < 0.7 else "M"
    if age < 70:
        return "M" if m < 0.55 else ("S" if m < 0.75 else ("D" if m < 0.93 else "W"))
    return "M" if m < 0.5 else ("W" if m < 0.85 else ("D" if m < 0.95 else "S"))
