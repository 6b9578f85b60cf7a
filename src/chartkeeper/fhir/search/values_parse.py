"""Parsing one search value of each parameter type into the IR (see ``ir.py``).

Every function raises ``BadValue`` with a message fit for an OperationOutcome; the query
parser adds which parameter it was. Values are normalized with the very functions that
wrote the index rows (``normalize.py``), so a query and a row always agree on form.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from chartkeeper.fhir.search.ir import (
    PREFIXES,
    Prefix,
    RangeValue,
    ReferenceValue,
    StringValue,
    TokenValue,
    UriValue,
)
from chartkeeper.fhir.search.normalize import date_range, normalize_string
from chartkeeper.fhir.search.params import resource_types

_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_DAY_US = 86_400_000_000


class BadValue(ValueError):
    """A search value that cannot be parsed; the message says why."""


class Unsupported(ValueError):
    """A known parameter, modifier or feature this server does not implement."""


def split_unescaped(text: str, sep: str) -> list[str]:
    """Split on ``sep`` not preceded by a backslash; escapes are kept for the next step."""
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for ch in text:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            current.append(ch)
            escaped = True
        elif ch == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def unescape(text: str) -> str:
    r"""``\,`` ``\|`` ``\$`` ``\\`` become the plain character (FHIR search escaping)."""
    if "\\" not in text:
        return text
    return re.sub(r"\\(.)", r"\1", text)


def parse_string(raw: str) -> StringValue:
    text = unescape(raw)
    normalized = normalize_string(text)
    if not normalized:
        raise BadValue("a string value must not be empty")
    return StringValue(normalized=normalized, raw=text)


def parse_token(raw: str) -> TokenValue:
    """``code``, ``system|code``, ``|code`` (no system) or ``system|`` (any code)."""
    parts = split_unescaped(raw, "|")
    if len(parts) == 1:
        code = unescape(parts[0])
        if not code:
            raise BadValue("a token value must not be empty")
        return TokenValue(system=None, code=code)
    if len(parts) > 2:
        raise BadValue(f"{raw!r} is not a token: use system|code")
    system, code = unescape(parts[0]), unescape(parts[1])
    if not system and not code:
        raise BadValue("a token value needs a system or a code")
    return TokenValue(system=system, code=code or None)


def parse_token_text(raw: str) -> TokenValue:
    """``:text``: the start of a coding's display or a CodeableConcept's text (case-insensitive)."""
    text = unescape(raw).strip()
    if not text:
        raise BadValue("a :text value must not be empty")
    if not text.isascii():
        raise BadValue(":text supports ASCII text only (displays are not accent-normalized in the index)")
    return TokenValue(system=None, code=None, text=text.lower())


def parse_reference(raw: str, type_modifier: str | None, targets: tuple[str, ...]) -> ReferenceValue:
    """``Type/id``, ``id`` (with an optional ``:Type`` modifier) or an absolute URL."""
    text = unescape(raw)
    if not text:
        raise BadValue("a reference value must not be empty")
    if "://" in text or text.startswith("urn:"):
        if type_modifier is not None:
            raise BadValue(f"a :{type_modifier} reference takes an id, not a URL")
        return ReferenceValue(target_type=None, target_id=None, url=text)
    history = text.find("/_history/")
    if history >= 0:
        text = text[:history]
    rtype, slash, rid = text.rpartition("/")
    if slash:
        if rtype not in resource_types() or "/" in rtype:
            raise BadValue(f"{text!r} is not Type/id with an R4 resource type")
        if type_modifier is not None and type_modifier != rtype:
            raise BadValue(f"{text!r} contradicts the :{type_modifier} modifier")
    else:
        rtype = type_modifier or ""
    if not _ID.fullmatch(rid):
        raise BadValue(f"{rid!r} is not a valid resource id")
    if rtype and targets and rtype not in targets:
        raise BadValue(f"this parameter refers to {', '.join(targets)}, not {rtype}")
    return ReferenceValue(target_type=rtype or None, target_id=rid)


def parse_uri(raw: str) -> UriValue:
    text = unescape(raw)
    if not text:
        raise BadValue("a uri value must not be empty")
    return UriValue(uri=text)


def split_prefix(raw: str) -> tuple[Prefix, str]:
    """``ge2020`` -> ("ge", "2020"); no prefix means ``eq``."""
    head = raw[:2]
    if head in PREFIXES and len(raw) > 2:
        return head, raw[2:]  # type: ignore[return-value]  # checked membership above
    return "eq", raw


def parse_date(raw: str, now_us: int) -> RangeValue:
    """A date/dateTime with an optional prefix: the inclusive microsecond range it covers.

    ``ap`` widens the range by 10 % of its distance from ``now_us`` (at least a day), so the
    same query parsed at the same moment always means the same thing.
    """
    prefix, text = split_prefix(unescape(raw))
    found = date_range(text)
    if found is None:
        raise BadValue(f"{text!r} is not a FHIR date, dateTime or instant")
    low, high = found
    if prefix == "ap":
        slack = max(abs(now_us - low) // 10, _DAY_US)
        low, high = low - slack, high + slack
    return RangeValue(prefix=prefix, low=low, high=high)


def _decimal(text: str) -> Decimal:
    if not _DECIMAL.fullmatch(text):
        raise BadValue(f"{text!r} is not a decimal number")
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only valid decimals
        raise BadValue(f"{text!r} is not a decimal number") from exc


def number_range(prefix: Prefix, text: str) -> tuple[float, float, float]:
    """(value, low, high): for ``eq``/``ne`` the half-open precision range ``[low, high)``
    (``100`` means 99.5 to 100.5, ``100.0`` 99.95 to 100.05, ``1e2`` 50 to 150); for ``ap``
    the closed range value ±10 %; other prefixes compare against the value itself."""
    number = _decimal(text)
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)  # finite: the pattern admits no NaN or Infinity
    if prefix == "ap":
        slack = abs(number) / 10
        low, high = number - slack, number + slack
    else:
        half = Decimal(5).scaleb(exponent - 1)
        low, high = number - half, number + half
    try:
        return float(number), float(low), float(high)
    except OverflowError as exc:  # pragma: no cover - float() gives inf rather than raising
        raise BadValue(f"{text!r} is out of range") from exc


def parse_number(raw: str) -> RangeValue:
    prefix, text = split_prefix(unescape(raw))
    value, low, high = number_range(prefix, text)
    _finite(text, value, low, high)
    return RangeValue(prefix=prefix, low=low, high=high, value=value)


def parse_quantity(raw: str) -> RangeValue:
    """``[prefix]number[|system|code]``; ``number||code`` matches the code or unit in any system."""
    parts = [unescape(p) for p in split_unescaped(raw, "|")]
    if len(parts) not in (1, 3):
        raise BadValue(f"{raw!r} is not a quantity: use [prefix]number|system|code")
    prefix, text = split_prefix(parts[0])
    value, low, high = number_range(prefix, text)
    _finite(text, value, low, high)
    system = parts[1] or None if len(parts) == 3 else None
    code = parts[2] or None if len(parts) == 3 else None
    if system is not None and code is None:
        raise BadValue(f"{raw!r} names a unit system without a unit code")
    return RangeValue(prefix=prefix, low=low, high=high, value=value, system=system, code=code)


def _finite(text: str, *numbers: float) -> None:
    if any(n in (float("inf"), float("-inf")) for n in numbers):
        raise BadValue(f"{text!r} is out of range")
