"""HL7 v2 data types → FHIR data types (V2-to-FHIR "datatype maps": DTM, CX, XPN, XAD, XTN, CWE).

Each function takes a parsed segment and a field position, so that a bad value is reported
as ``PID-7: '19991399' is not a date`` rather than somewhere deep in FHIR.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from chartkeeper.fhir.validation.primitives import is_plausible_oid
from chartkeeper.intake.hl7v2.errors import V2Error
from chartkeeper.intake.hl7v2.parse import Segment
from chartkeeper.intake.hl7v2.vocab import code_system

_DTM = re.compile(
    r"^(\d{4})(\d{2})?(\d{2})?(?:(\d{2})(\d{2})?(\d{2})?(?:\.(\d{1,4}))?)?(?:([+-])(\d{2})(\d{2}))?$"
)
_OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


class DateTimeV2:
    """A parsed DTM: the FHIR string at its own precision, and an instant for ordering.

    Shared between messages by the parse cache: never modified after it is made.
    """

    __slots__ = ("fhir", "has_time", "micros")

    def __init__(self, fhir: str, micros: int, has_time: bool) -> None:
        self.fhir = fhir
        self.micros = micros
        self.has_time = has_time

    @property
    def date(self) -> str:
        return self.fhir[:10]


def parse_dtm(value: str, where: str, default_offset: str = "+00:00") -> DateTimeV2:
    """``YYYY[MM[DD[HH[MM[SS[.S…]]]]]][±ZZZZ]`` → FHIR dateTime.

    FHIR needs a time zone whenever there is a time: a time without an offset takes the
    message's own offset (MSH-7's, as HL7 says the sender's zone is implied), else UTC.
    """
    parsed = _parse_dtm(value.strip(), default_offset)
    if isinstance(parsed, str):
        raise V2Error(*_split(where), parsed)
    return parsed


@lru_cache(maxsize=8192)
def _parse_dtm(value: str, default_offset: str) -> DateTimeV2 | str:
    """The parse itself, or the error's reason; cached, as a message repeats its times
    (every OBX-14 of a panel, OBR-7 and OBR-22, MSH-7 and EVN-2) and feeds repeat them."""
    match = _DTM.match(value)
    if match is None:
        return f"{_shown(value)} is not a date/time"
    year, month, day, hour, minute, second, frac, sign, oh, om = match.groups()
    try:
        when = datetime(
            int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0), int(second or 0)
        )
        offset = f"{sign}{oh}:{om}" if sign else default_offset
        tz = timezone(
            (1 if offset[0] == "+" else -1) * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))
        )
    except ValueError as exc:
        return f"{_shown(value)} is not a date/time ({exc})"
    micros = int(when.replace(tzinfo=tz).astimezone(UTC).timestamp() * 1_000_000)
    if hour is None:
        fhir = year + (f"-{month}" if month else "") + (f"-{day}" if day else "")
        return DateTimeV2(fhir, micros, False)
    fraction = f".{frac}" if frac else ""
    fhir = f"{year}-{month}-{day}T{hour}:{minute or '00'}:{second or '00'}{fraction}{offset}"
    return DateTimeV2(fhir, micros, True)


def _shown(value: str) -> str:
    """A value quoted for an error message, cut short: reasons go into ACKs and the quarantine."""
    return repr(value if len(value) <= 40 else value[:40] + "...")


def _split(where: str) -> tuple[str, int | None]:
    seg, _, num = where.partition("-")
    return seg, int(num.split(".")[0]) if num else None


def dtm(seg: Segment, n: int, offset: str, comp: int = 1) -> DateTimeV2 | None:
    value = seg.get(n, comp)
    return parse_dtm(value, f"{seg.name}-{n}", offset) if value else None


def date_only(seg: Segment, n: int) -> str | None:
    """A date (birth date, expiry): the date part of a DTM, which must be a whole date."""
    value = seg.get(n)
    if not value:
        return None
    try:
        parsed = parse_dtm(value, f"{seg.name}-{n}")
    except V2Error as exc:
        raise V2Error(seg.name, n, f"{_shown(value)} is not a date") from exc
    return parsed.date


def decimal(value: str, seg: Segment, n: int) -> float | int:
    """An NM value; more than 18 digits would not survive JSON (64-bit integers, doubles)."""
    if not _DECIMAL.match(value.strip()):
        raise V2Error(seg.name, n, f"{_shown(value)} is not a number")
    if sum(c.isdigit() for c in value) > 18:
        raise V2Error(seg.name, n, f"{_shown(value)} has more than 18 digits")
    try:
        number = Decimal(value.strip())
    except InvalidOperation as exc:
        raise V2Error(seg.name, n, f"{_shown(value)} is not a number") from exc
    return int(number) if number == number.to_integral_value() and "." not in value else float(number)


def stable_id(*parts: str) -> str:
    """A FHIR id derived from identifying values: the same identifier gives the same resource."""
    digest = hashlib.sha256("\x1f".join(p.strip().upper() for p in parts).encode()).hexdigest()
    return f"v2-{digest[:40]}"


def authority(comps: list[list[str]], comp: int) -> tuple[str, str]:
    """An HD (assigning authority) component: (namespace, universal id)."""
    hd = comps[comp - 1] if comp <= len(comps) else []
    namespace = hd[0].strip() if hd else ""
    universal = hd[1].strip() if len(hd) > 1 else ""
    return namespace, universal


def system_uri(namespace: str, universal: str) -> str | None:
    """An identifier system from an HD: ``urn:oid:`` / ``urn:uuid:`` when the value is one.

    Implausibly short OIDs (``1.23``) are judged as FHIR's validator judges them: not a
    system; the namespace then goes into ``assigner.display``.
    """
    for candidate in (universal, namespace):
        if _OID.match(candidate) and is_plausible_oid(f"urn:oid:{candidate}"):
            return f"urn:oid:{candidate}"
        if _UUID.match(candidate):
            return f"urn:uuid:{candidate.lower()}"
    return None


def _comp(rep: list[list[str]], n: int) -> str:
    if n > len(rep) or not rep[n - 1]:
        return ""
    value = rep[n - 1][0].strip()
    return "" if value == '""' else value


def identifier(rep: list[list[str]]) -> dict[str, Any] | None:
    """CX → Identifier (value, system from the assigning authority, type from CX-5)."""
    value = _comp(rep, 1)
    if not value:
        return None
    out: dict[str, Any] = {"value": value}
    namespace, universal = authority(rep, 4)
    system = system_uri(namespace, universal)
    if system:
        out["system"] = system
    if namespace or (universal and not system):
        out["assigner"] = {"display": namespace or universal}
    id_type = _comp(rep, 5)
    if id_type:
        out["type"] = {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": id_type}]
        }
    return out


def identifier_key(rep: list[list[str]]) -> str:
    """The assigning authority and value that make an identifier unique (for stable ids)."""
    namespace, universal = authority(rep, 4)
    return f"{universal or namespace}|{_comp(rep, 1)}"


_NAME_USE = {"L": "official", "D": "usual", "M": "maiden", "N": "nickname", "A": "anonymous", "B": "old"}


def human_name(rep: list[list[str]], start: int = 1) -> dict[str, Any] | None:
    """XPN (start=1) or the name part of XCN (start=2) → HumanName."""
    family = _comp(rep, start)
    given = [g for g in (_comp(rep, start + 1), _comp(rep, start + 2)) if g]
    suffix = [s for s in (_comp(rep, start + 3), _comp(rep, start + 5)) if s]
    prefix = [p for p in (_comp(rep, start + 4),) if p]
    name: dict[str, Any] = {}
    use = _NAME_USE.get(_comp(rep, start + 6))
    if use:
        name["use"] = use
    if family:
        name["family"] = family
    if given:
        name["given"] = given
    if prefix:
        name["prefix"] = prefix
    if suffix:
        name["suffix"] = suffix
    return name if (family or given) else None


_ADDRESS_USE = {"H": "home", "B": "work", "O": "work", "C": "temp", "BA": "old", "M": "home"}


def address(rep: list[list[str]]) -> dict[str, Any] | None:
    """XAD → Address."""
    street = " ".join(x.strip() for x in (rep[0] if rep else []) if x.strip() and x.strip() != '""')
    lines = [x for x in (street, _comp(rep, 2)) if x]
    out: dict[str, Any] = {}
    if lines:
        out["line"] = lines
    for key, n in (("city", 3), ("state", 4), ("postalCode", 5), ("country", 6)):
        value = _comp(rep, n)
        if value:
            out[key] = value
    if not out:
        return None
    kind = _comp(rep, 7)
    if kind in _ADDRESS_USE:
        out["use"] = _ADDRESS_USE[kind]
    if kind == "M":
        out["type"] = "postal"
    return out


_TELECOM_USE = {"PRN": "home", "ORN": "home", "VHN": "home", "WPN": "work", "EMR": "home", "PRS": "mobile"}


def telecom(rep: list[list[str]], default_use: str | None = None) -> dict[str, Any] | None:
    """XTN → ContactPoint: e-mail from XTN-4, else (area) local ext, else XTN-1."""
    equipment = _comp(rep, 3)
    email = _comp(rep, 4)
    area, local, ext = _comp(rep, 6), _comp(rep, 7), _comp(rep, 8)
    if equipment in ("Internet", "X.400", "NET") or (not equipment and "@" in email):
        value, system = email or _comp(rep, 1), "email"
    else:
        value = (f"({area}) " if area else "") + local if local else _comp(rep, 1)
        if value and ext:
            value += f" ext. {ext}"
        system = {"FX": "fax", "BP": "pager", "CP": "phone", "PH": "phone"}.get(equipment, "phone")
    if not value:
        return None
    out: dict[str, Any] = {"system": system, "value": value}
    use = "mobile" if equipment == "CP" else _TELECOM_USE.get(_comp(rep, 2), default_use)
    if use:
        out["use"] = use
    return out


def coding(code: str, display: str, system_name: str) -> dict[str, Any] | None:
    code = " ".join(code.split())
    if not code:
        return None
    out: dict[str, Any] = {}
    system = code_system(system_name)
    if system:
        out["system"] = system
    out["code"] = code
    if display:
        out["display"] = display
    return out


def codeable(rep: list[list[str]]) -> dict[str, Any] | None:
    """CE/CWE/CNE → CodeableConcept (the primary and alternate codings, text from CWE-9/-2)."""
    codings = [
        c
        for c in (
            coding(_comp(rep, 1), _comp(rep, 2), _comp(rep, 3)),
            coding(_comp(rep, 4), _comp(rep, 5), _comp(rep, 6)),
        )
        if c
    ]
    text = _comp(rep, 9) or _comp(rep, 2) or (_comp(rep, 1) if not codings else "")
    out: dict[str, Any] = {}
    if codings:
        out["coding"] = codings
    if text:
        out["text"] = text
    return out or None


def field_codeable(seg: Segment, n: int) -> dict[str, Any] | None:
    reps = seg.reps(n)
    return codeable(reps[0]) if reps else None
