"""How a second registration of the same person differs from the first: realistic data-entry variation.

A duplicate copies the person and applies 1-3 variations (none for ``EXACT_DUPLICATE_SHARE`` of them):
typos, nicknames, married names, dropped second surnames or accents, swapped birth day and month,
moves, missing or mistyped SSNs. Each variation is recorded as a ``field:how`` difference, which is
the ground truth that duplicate detection is scored against (:class:`~chartkeeper.demo.truth.DuplicatePair`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import NamedTuple

from chartkeeper.demo import names as N
from chartkeeper.demo.clock import MAX_BIRTH, MIN_BIRTH, REF
from chartkeeper.demo.people import ACCENTS, Person
from chartkeeper.demo.rand import Rand, pick, weighted

EXACT_DUPLICATE_SHARE = 0.15

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
_HISPANIC_SURNAMES = frozenset(N.SURNAMES["hispanic"])
# Variations that exclude each other (and themselves: each applies at most once).
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


class _Source(NamedTuple):
    """What the variations read from the original person (before any variation changed it)."""

    birth: date
    first_family: str


def typo(r: Rand, s: str) -> str:
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
            t = s[:i] + pick(r, nb) + s[i + 1 :]
        if t != s and t.strip() == t and "  " not in t:
            return t
    return s + "e"


def variant(r: Rand, src: Person) -> tuple[Person, list[str]]:
    """A second registration's view of ``src`` with 1-3 realistic differences (none if exact)."""
    p = src.copy()
    diffs: list[str] = []
    if r() < EXACT_DUPLICATE_SHARE:
        return p, diffs
    ops = _candidates(p)
    source = _Source(date.fromordinal(p.birth), p.family.partition(" ")[0])
    n_ops = 1 if r() < 0.5 else (2 if r() < 0.7 else 3)
    done: list[str] = []
    for _ in range(n_ops):
        op = weighted(r, [o for o in ops if o[0] not in done])
        done.extend(_VARIANT_CONFLICTS.get(op, (op,)))
        _APPLY[op](r, p, diffs, source)
    return p, diffs


def _candidates(p: Person) -> list[tuple[str, float]]:
    """The variations that make sense for ``p``, with their weights (the order matters: one draw picks)."""
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
    if p.sex == "female" and (REF - p.birth) > 18 * 365:
        ops.append(("family-married", 1.2))
    first_fam, _, second_fam = p.family.partition(" ")
    if first_fam in _HISPANIC_SURNAMES and second_fam in _HISPANIC_SURNAMES:
        ops.append(("family-partial", 1.0))
    if N.STREET_SUFFIXES[p.suffix][0] != N.STREET_SUFFIXES[p.suffix][1]:
        ops.append(("address-abbreviated", 0.6))
    if p.family.translate(ACCENTS) != p.family or p.given[0].translate(ACCENTS) != p.given[0]:
        ops.append(("accents-dropped", 1.5))
    bd = date.fromordinal(p.birth)
    if bd.day <= 12 and bd.day != bd.month:
        ops.append(("birth-swap", 1.2))
    return ops


# --- the variations ---------------------------------------------------------------------------------
def _given_typo(r: Rand, p: Person, diffs: list[str], src: _Source) -> None:
    p.given[0] = typo(r, p.given[0])
    diffs.append("given:typo")


def _family_typo(r: Rand, p: Person, diffs: list[str], src: _Source) -> None:
    p.family = typo(r, p.family)
    diffs.append("family:typo")


def _given_nickname(r: Rand, p: Person, diffs: list[str], src: _Source) -> None:
    p.given[0] = pick(r, N.NICKNAMES[p.given[0]])
    diffs.append("given:nickname")


def _middle_dropped(r: Rand, p: Person, diffs: list[str], src: _Source) -> None:
    p.given = p.given[:1]
    diffs.append("given:middle-dropped")


def _middle_initial(r: Rand, p: Person, diffs: list[str], src: _Source) -> None:
    p.given = [p.given[0], p.given[1][0]] if len(p.given) > 1 else p.given
    diffs.append("given:middle-initial")


def _family_married(r: Rand, p: Person, diffs: list[str], src: _Source) -> None:
    new = pick(r, N.SURNAMES["general"] if r() < 0.6 else N.SURNAMES[p.origin])
    if new == p.family:
        new = pick(r, N.SURNAMES["general"])
    if r() < 0.25:
        new = f"{p.family}-{new}"
    p.maiden = p.family if r() < 0.5 else None
    p.family = new
    diffs.append("family:married-name")


def _family_partial(r: Rand, p: Person, diffs: list[str], src: _Source) -> None:
    p.family = src.first_family
    diffs.append("family:second-surname-dropped")


def _accents_dropped(r: Rand, p: Person, diffs: list[str], src: _Source) -> None:
    p.family = p.family.translate(ACCENTS)
    p.given = [g.translate(ACCENTS) for g in p.given]
    diffs.append("name:accents-dropped")


def _birth_swap(r: Rand, p: Person, diffs: list[str], src: _Source) -> None:
    bd = src.birth
    p.birth = date(bd.year, bd.day, bd.month).toordinal()
    diffs.append("birthDate:day-month-swapped")


def _birth_typo(r: Rand, p: Person, diffs: list[str], src: _Source) -> None:
    bd = src.birth
    y = bd.year
    y2 = y - y % 100 + (y % 10) * 10 + (y % 100) // 10  # 1978 -> 1987
    if y2 != y and MIN_BIRTH <= date(y2, bd.month, min(bd.day, 28)).toordinal() <= MAX_BIRTH:
        p.birth = date(y2, bd.month, min(bd.day, 28)).toordinal()
        diffs.append("birthDate:year-digits-transposed")
    else:
        p.birth = p.birth + (1 if bd.day < 28 else -1)
        diffs.append("birthDate:day-off-by-one")


def _address_moved(r: Rand, p: Person, diffs: list[str], src: _Source) -> None:
    p.city = pick(r, N.LOCAL_CITIES) if r() < 0.8 else pick(r, N.OTHER_CITIES)
    p.street_no = 1 + int((r() ** 2) * 4999)
    p.street = pick(r, N.STREET_NAMES)
    p.suffix = int(r() * len(N.STREET_SUFFIXES))
    p.unit = f"Apt {1 + int(r() * 40)}" if r() < 0.18 else None
    diffs.append("address:moved")
    if r() < 0.5:
        p.phone = f"{p.city[3]}-555-{int(r() * 10000):04d}"
        diffs.append("telecom:phone-changed")


def _address_abbreviated(r: Rand, p: Person, diffs: list[str], src: _Source) -> None:
    diffs.append("address:street-abbreviated")  # applied when the Patient is written


def _phone_changed(r: Rand, p: Person, diffs: list[str], src: _Source) -> None:
    if "telecom:phone-changed" not in diffs:
        p.phone = f"{p.area}-555-{int(r() * 10000):04d}"
        diffs.append("telecom:phone-changed")


def _ssn_missing(r: Rand, p: Person, diffs: list[str], src: _Source) -> None:
    if p.ssn is not None and "ssn:typo" not in diffs:
        p.ssn = None
        diffs.append("ssn:missing")


def _ssn_typo(r: Rand, p: Person, diffs: list[str], src: _Source) -> None:
    """Two adjacent digits transposed (or, when they are equal, the last digit changed)."""
    if p.ssn is not None and "ssn:missing" not in diffs:
        s = p.ssn
        i = (0, 1, 2, 4, 5, 7, 8, 9, 10)[int(r() * 8)]
        j = i + 1 if s[i + 1] != "-" else i + 2
        t = s[:i] + s[j] + s[i + 1 : j] + s[i] + s[j + 1 :]
        if t == s:
            t = s[:-1] + str((int(s[-1]) + 1) % 10)
        p.ssn = t
        diffs.append("ssn:typo")


_APPLY: dict[str, Callable[[Rand, Person, list[str], _Source], None]] = {
    "given-typo": _given_typo,
    "family-typo": _family_typo,
    "given-nickname": _given_nickname,
    "middle-dropped": _middle_dropped,
    "middle-initial": _middle_initial,
    "family-married": _family_married,
    "family-partial": _family_partial,
    "accents-dropped": _accents_dropped,
    "birth-swap": _birth_swap,
    "birth-typo": _birth_typo,
    "address-moved": _address_moved,
    "address-abbreviated": _address_abbreviated,
    "phone-changed": _phone_changed,
    "ssn-missing": _ssn_missing,
    "ssn-typo": _ssn_typo,
}
