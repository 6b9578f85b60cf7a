"""A Patient resource → one flat comparison record: the columns the matching model compares.

Normalising here (accents, case, abbreviations, digits of phones and SSNs) rather than in the
model's SQL keeps the comparisons simple, identical on every backend (DuckDB, Spark) and
identical between the batch scan and the real-time lookup, which both call :func:`features`.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

import jellyfish

SSN_SYSTEM = "http://hl7.org/fhir/sid/us-ssn"

#: The comparison record's columns, in order (``unique_id`` is the Patient id).
COLUMNS = (
    "unique_id",
    "given_name",
    "middle_name",
    "family_name",
    "maiden_name",
    "given_phonetic",
    "family_phonetic",
    "birth_date",
    "birth_year",
    "sex",
    "house_number",
    "street",
    "city",
    "postal_code",
    "phone",
    "email",
    "ssn",
)

# USPS street-suffix abbreviations, expanded so "12 Oak St" and "12 Oak Street" compare equal.
_SUFFIXES = {
    "st": "street",
    "str": "street",
    "ave": "avenue",
    "av": "avenue",
    "rd": "road",
    "dr": "drive",
    "ln": "lane",
    "ct": "court",
    "blvd": "boulevard",
    "pl": "place",
    "cir": "circle",
    "ter": "terrace",
    "hwy": "highway",
    "pkwy": "parkway",
    "sq": "square",
    "apt": "apartment",
    "ste": "suite",
    "n": "north",
    "s": "south",
    "e": "east",
    "w": "west",
}
_NOT_LETTERS = re.compile(r"[^a-z ]+")
_NOT_ALNUM = re.compile(r"[^a-z0-9 ]+")
_NOT_DIGITS = re.compile(r"\D+")
_SPACES = re.compile(r"\s+")


def fold(text: str | None) -> str:
    """Lower case, accents removed, punctuation dropped, spaces collapsed: how clerks differ."""
    if not text:
        return ""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return _SPACES.sub(" ", _NOT_LETTERS.sub(" ", plain.replace("'", ""))).strip()


def _or_none(text: str) -> str | None:
    return text or None


def phonetic(name: str | None) -> str | None:
    """Metaphone of the first word: catches Smith/Smyth, Catherine/Kathryn."""
    if not name:
        return None
    first = name.split(" ")[0]
    return jellyfish.metaphone(first) or None


def _official_name(patient: dict[str, Any]) -> dict[str, Any]:
    names = [n for n in patient.get("name") or [] if isinstance(n, dict)]
    for use in ("official", "usual", None):
        for name in names:
            if use is None or name.get("use") == use:
                return name
    return {}


def _maiden(patient: dict[str, Any]) -> str | None:
    for name in patient.get("name") or []:
        if isinstance(name, dict) and name.get("use") == "maiden":
            return _or_none(fold(name.get("family")))
    return None


def normalise_street(line: str | None) -> str:
    words = _NOT_ALNUM.sub(" ", fold_keep_digits(line)).split()
    return " ".join(_SUFFIXES.get(w, w) for w in words)


def fold_keep_digits(text: str | None) -> str:
    if not text:
        return ""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _address(patient: dict[str, Any]) -> tuple[str | None, str | None, str | None, str | None]:
    """(house number, street, city, postal code) of the home (else first) address."""
    addresses = [a for a in patient.get("address") or [] if isinstance(a, dict)]
    if not addresses:
        return None, None, None, None
    home = next((a for a in addresses if a.get("use") == "home"), addresses[0])
    lines = [str(x) for x in home.get("line") or [] if x]
    street = normalise_street(lines[0] if lines else "")  # later lines: unit, building, locality
    number = None
    words = street.split()
    if words and any(ch.isdigit() for ch in words[0]):
        number, street = words[0], " ".join(words[1:])
    postal = _NOT_DIGITS.sub("", str(home.get("postalCode") or ""))[:5] or None
    if postal is None and home.get("postalCode"):
        postal = fold_keep_digits(str(home["postalCode"])).replace(" ", "") or None
    return number, _or_none(street), _or_none(fold(home.get("city"))), postal


def _telecom(patient: dict[str, Any], system: str) -> str | None:
    for item in patient.get("telecom") or []:
        if isinstance(item, dict) and item.get("system") == system and item.get("value"):
            value = str(item["value"])
            if system == "phone":
                digits = _NOT_DIGITS.sub("", value)[-10:]
                return digits or None
            return value.strip().lower()
    return None


def _is_ssn(ident: dict[str, Any]) -> bool:
    """The US SSN system, or any identifier typed SS (v2-0203: a social security number)."""
    if ident.get("system") == SSN_SYSTEM:
        return True
    codings = (ident.get("type") or {}).get("coding") or []
    return any(isinstance(c, dict) and c.get("code") == "SS" for c in codings)


def _ssn(patient: dict[str, Any]) -> str | None:
    for ident in patient.get("identifier") or []:
        if isinstance(ident, dict) and _is_ssn(ident) and ident.get("value"):
            digits = _NOT_DIGITS.sub("", str(ident["value"]))
            return digits or None
    return None


def _birth(patient: dict[str, Any]) -> tuple[str | None, str | None]:
    """A full birth date as YYYY-MM-DD (partial dates keep only their year)."""
    raw = str(patient.get("birthDate") or "")
    if len(raw) >= 10:
        try:
            date.fromisoformat(raw[:10])
        except ValueError:
            return None, raw[:4]
        return raw[:10], raw[:4]
    return None, (raw[:4] or None)


def features(patient: dict[str, Any]) -> dict[str, str | None]:
    """The comparison record of one Patient (every value a string or None)."""
    name = _official_name(patient)
    given = [fold(g) for g in name.get("given") or [] if g]
    first = given[0] if given else ""
    middle = " ".join(given[1:])
    family = fold(name.get("family"))
    birth, year = _birth(patient)
    number, street, city, postal = _address(patient)
    gender = patient.get("gender")
    return {
        "unique_id": str(patient.get("id")),
        "given_name": _or_none(first),
        "middle_name": _or_none(middle),
        "family_name": _or_none(family),
        "maiden_name": _maiden(patient),
        "given_phonetic": phonetic(first),
        "family_phonetic": phonetic(family),
        "birth_date": birth,
        "birth_year": year,
        "sex": gender if gender in ("male", "female", "other") else None,
        "house_number": number,
        "street": street,
        "city": city,
        "postal_code": postal,
        "phone": _telecom(patient, "phone"),
        "email": _telecom(patient, "email"),
        "ssn": _ssn(patient),
    }
