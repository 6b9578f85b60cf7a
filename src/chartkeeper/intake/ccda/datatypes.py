"""HL7 v3 datatypes (TS, IVL_TS, CD, PQ, II, PN, AD, TEL) → FHIR R4 datatypes.

Each function returns None when the element is absent or carries only a nullFlavor, and raises
``DataError`` for a value that is present but wrong; the section mappers add where it was.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from chartkeeper.intake.ccda.codesystems import code_system_uri, identifier_system, root_uri
from chartkeeper.intake.ccda.xmlsafe import Element, attr, find, find_all, is_null, local_name, text_of

JSON = dict[str, Any]

_TS = re.compile(
    r"^(?P<y>\d{4})(?P<m>\d{2})?(?P<d>\d{2})?(?P<H>\d{2})?(?P<M>\d{2})?(?P<S>\d{2})?"
    r"(?P<f>\.\d{1,9})?(?P<tz>[+-]\d{4})?$"
)
_FHIR_CODE = re.compile(r"^[^\s]+( [^\s]+)*$")


_LARGEST = Decimal(10) ** 15  # FHIR decimals are exchanged as JSON numbers: keep them exact


class DataError(ValueError):
    """A value in the document that is present but cannot be read."""


def ts(element: Element | None, name: str = "effectiveTime") -> str | None:
    """An HL7 TS ``@value`` → FHIR dateTime (a time without a zone is cut to its date)."""
    if is_null(element):
        return None
    assert element is not None
    value = attr(element, "value")
    return ts_value(value, name) if value else None


def ts_value(value: str, name: str = "effectiveTime") -> str:
    match = _TS.match(value)
    if not match or (match["H"] and not match["d"]):
        raise DataError(f"{name}/@value {value!r} is not an HL7 timestamp")
    year, month, day = match["y"], match["m"], match["d"]
    try:
        if day:
            date(int(year), int(month), int(day))
        elif month and not 1 <= int(month) <= 12:
            raise ValueError
    except ValueError as exc:
        raise DataError(f"{name}/@value {value!r} is not a real date") from exc
    if not month:
        return year
    if not day:
        return f"{year}-{month}"
    day_text = f"{year}-{month}-{day}"
    if not match["H"] or not match["tz"]:
        return day_text
    hour, minute, second = match["H"], match["M"] or "00", match["S"] or "00"
    zone = match["tz"]
    if int(hour) > 23 or int(minute) > 59 or int(second) > 59 or int(zone[1:3]) > 14 or int(zone[3:]) > 59:
        raise DataError(f"{name}/@value {value!r} is not a real time")
    fraction = match["f"] or ""
    return f"{day_text}T{hour}:{minute}:{second}{fraction}{zone[:3]}:{zone[3:]}"


def is_instant(value: str | None) -> bool:
    """A dateTime precise enough for FHIR ``instant`` (seconds and a zone)."""
    return value is not None and "T" in value


def period(element: Element | None, name: str = "effectiveTime") -> JSON | None:
    """IVL_TS → Period (a single ``@value`` gives start only); None when nothing is known."""
    if is_null(element):
        return None
    assert element is not None
    out: JSON = {}
    point = ts(element, name)
    if point:
        out["start"] = point
    low = ts(find(element, "low"), f"{name}/low")
    high = ts(find(element, "high"), f"{name}/high")
    if low:
        out["start"] = low
    if high:
        out["end"] = high
    if "start" in out and "end" in out and out["end"] < out["start"] and len(out["end"]) == len(out["start"]):
        raise DataError(f"{name}: high {out['end']} is before low {out['start']}")
    return out or None


def point_or_period(element: Element | None, name: str = "effectiveTime") -> tuple[str | None, JSON | None]:
    """(dateTime, None) for a point in time, (None, Period) for an interval, (None, None) if unknown."""
    if is_null(element):
        return None, None
    assert element is not None
    if attr(element, "value"):
        return ts(element, name), None
    return None, period(element, name)


def coding(element: Element) -> JSON | None:
    code = attr(element, "code")
    system_oid = attr(element, "codeSystem")
    if code is None or element.get("nullFlavor") is not None:
        return None
    if not _FHIR_CODE.match(code):
        raise DataError(f"{local_name(element)}/@code {code!r} is not a valid code")
    out: JSON = {}
    if system_oid:
        system = code_system_uri(system_oid)
        if system is None:
            raise DataError(f"{local_name(element)}/@codeSystem {system_oid!r} is not an OID")
        out["system"] = system
    out["code"] = code
    display = attr(element, "displayName")
    if display:
        out["display"] = " ".join(display.split())
    return out


def concept(element: Element | None) -> JSON | None:
    """CD/CE/CV (with translations and originalText) → CodeableConcept; None when it says nothing."""
    if element is None:
        return None
    codings = [c for c in [coding(element), *(coding(t) for t in find_all(element, "translation"))] if c]
    out: JSON = {}
    if codings:
        out["coding"] = codings
    original = find(element, "originalText")
    text = text_of(original) if original is not None and find(original, "reference") is None else None
    if text:
        out["text"] = text
    elif not codings:
        return None
    return out


def decimal_value(raw: str | None, name: str) -> int | float | None:
    if raw is None:
        return None
    try:
        number = Decimal(raw)
    except InvalidOperation as exc:
        raise DataError(f"{name}/@value {raw!r} is not a number") from exc
    if not number.is_finite():
        raise DataError(f"{name}/@value {raw!r} is not a finite number")
    if abs(number) >= _LARGEST:
        raise DataError(f"{name}/@value {raw!r} is out of range")
    return int(number) if number == number.to_integral_value() and "." not in raw else float(number)


def quantity(element: Element | None, name: str = "value") -> JSON | None:
    """PQ → Quantity with a UCUM unit (``1`` and no unit mean a plain number)."""
    if is_null(element):
        return None
    assert element is not None
    value = decimal_value(attr(element, "value"), name)
    if value is None:
        return None
    out: JSON = {"value": value}
    unit = attr(element, "unit")
    if unit and unit != "1":
        out.update(unit=unit, system="http://unitsofmeasure.org", code=unit)
    return out


def identifier(element: Element) -> JSON | None:
    """II → Identifier: root+extension → system ``urn:oid:root`` and value; root alone is the value."""
    if element.get("nullFlavor") is not None:
        return None
    root = attr(element, "root")
    extension = attr(element, "extension")
    if root is None:
        return {"value": extension} if extension else None
    if extension is not None:
        system = identifier_system(root)
        if system is None:
            return {"value": extension}
        return {"system": system, "value": extension}
    uri = root_uri(root)
    return {"system": "urn:ietf:rfc:3986", "value": uri} if uri else None


def identifiers(parent: Element, path: str = "id") -> list[JSON]:
    return [found for e in find_all(parent, path) if (found := identifier(e))]


_NAME_USE = {"L": "official", "P": "nickname", "C": "official", "ASGN": "usual", "A": "anonymous"}
_ADDR_USE = {
    "H": "home",
    "HP": "home",
    "HV": "home",
    "WP": "work",
    "DIR": "work",
    "PUB": "work",
    "TMP": "temp",
}
_TEL_USE = {
    "H": "home",
    "HP": "home",
    "HV": "home",
    "WP": "work",
    "MC": "mobile",
    "PG": "mobile",
    "TMP": "temp",
}


def human_name(element: Element) -> JSON | None:
    if element.get("nullFlavor") is not None:
        return None
    out: JSON = {}
    family = [t for e in find_all(element, "family") if (t := text_of(e))]
    given = [t for e in find_all(element, "given") if (t := text_of(e))]
    prefix = [t for e in find_all(element, "prefix") if (t := text_of(e))]
    suffix = [t for e in find_all(element, "suffix") if (t := text_of(e))]
    use = _NAME_USE.get((attr(element, "use") or "").split(" ")[0])
    if use:
        out["use"] = use
    if family:
        out["family"] = " ".join(family)
    if given:
        out["given"] = given
    if prefix:
        out["prefix"] = prefix
    if suffix:
        out["suffix"] = suffix
    if not (family or given or prefix or suffix):
        text = text_of(element)
        if not text:
            return None
        out["text"] = text
    return out


def names(parent: Element, path: str = "name") -> list[JSON]:
    return [found for e in find_all(parent, path) if (found := human_name(e))]


def address(element: Element) -> JSON | None:
    if element.get("nullFlavor") is not None:
        return None
    out: JSON = {}
    use = _ADDR_USE.get((attr(element, "use") or "").split(" ")[0])
    if use:
        out["use"] = use
    lines = [t for e in find_all(element, "streetAddressLine") if (t := text_of(e))]
    if lines:
        out["line"] = lines
    for tag, key in (
        ("city", "city"),
        ("state", "state"),
        ("postalCode", "postalCode"),
        ("country", "country"),
    ):
        value = text_of(find(element, tag))
        if value:
            out[key] = value
    return out if set(out) - {"use"} else None


def addresses(parent: Element, path: str = "addr") -> list[JSON]:
    return [found for e in find_all(parent, path) if (found := address(e))]


def contact_point(element: Element) -> JSON | None:
    value = attr(element, "value")
    if value is None or element.get("nullFlavor") is not None:
        return None
    scheme, sep, rest = value.partition(":")
    scheme = scheme.lower() if sep else ""
    systems = {"tel": "phone", "mailto": "email", "fax": "fax", "http": "url", "https": "url"}
    system = systems.get(scheme, "other")
    shown = value if system == "url" else (rest.strip() if sep else value)
    if not shown:
        return None
    out: JSON = {"system": system, "value": shown}
    use = _TEL_USE.get((attr(element, "use") or "").split(" ")[0])
    if use:
        out["use"] = use
    return out


def telecoms(parent: Element, path: str = "telecom") -> list[JSON]:
    return [found for e in find_all(parent, path) if (found := contact_point(e))]


def put(target: JSON, key: str, value: Any) -> None:
    """Set ``key`` only when ``value`` says something (FHIR forbids empty values and arrays)."""
    if value is not None and value != [] and value != {} and value != "":
        target[key] = value
