"""Checks of FHIR primitive values as they appear in JSON.

One small function per primitive type, each taking the JSON value and returning ``None`` when
it is fine or ``(issue code, message)`` when not. They are the hottest code of the validator
(every leaf of every resource passes through one), so they do the cheapest test first, compile
their regexes once, and allocate only when reporting a problem. Where a cheap string test
proves what the regex would (see ``_TEXT_PATTERN``) the regex is skipped, and the valid dates
and URIs met lately are remembered (a bounded set per check), since they recur constantly.

The regexes are the spec's own (``regex`` extension of each ``<type>.value`` in
profiles-types.json), handed over by :mod:`structure`; Java regex semantics are kept by
compiling with ``re.ASCII`` (``\\s`` is ASCII white space there).
"""

from __future__ import annotations

import binascii
import math
import re
from collections.abc import Callable, Mapping

from chartkeeper.fhir.validation.dates import day_is_valid
from chartkeeper.fhir.validation.xhtml import check_div

# (issue code, message); a code starting "warning:" makes the issue a warning instead of an error
Problem = tuple[str, str]
WARNING = "warning:"
Check = Callable[[object], "Problem | None"]

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
MAX_STRING = 1024 * 1024  # "FHIR strings SHALL NOT exceed 1MB in size"
_DATES_REMEMBERED = 4096
_URIS_REMEMBERED = 4096

_UUID_RE = re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_OID_RE = re.compile(r"urn:oid:[0-2](\.(0|[1-9][0-9]*))+")
_ABSOLUTE_URI_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+", re.ASCII)
_B64_RE = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_B64_WS = str.maketrans("", "", " \t\r\n")


def json_type_name(value: object) -> str:
    """How a JSON value is named in messages ('a string', 'an object' ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def wrong_json_type(value: object, wanted: str) -> Problem:
    return ("structure", f"must be {wanted}, not {json_type_name(value)}")


def _string_check(type_name: str, regex: re.Pattern[str]) -> Check:
    no_space = regex.pattern in _NO_SPACE_PATTERNS

    def check(value: object) -> Problem | None:
        if type(value) is not str:
            return wrong_json_type(value, "a JSON string")
        if no_space and value and value.isprintable() and " " not in value:
            return None
        if not value:
            return ("value", f"empty {type_name} (a property with no value must be left out)")
        if regex.fullmatch(value) is None:
            return ("value", f"not a valid {type_name}: {value[:100]!r}")
        return None

    return check


# Patterns whose ASCII-mode meaning has a cheaper exact equivalent (taken only when the data
# file holds exactly these): text rejects only \v and \f; uri, url, canonical and code accept
# any non-empty string without ASCII white space (code also single inner white space, left to
# the regex); ``isprintable()`` is false for every ASCII white space but the blank.
_TEXT_PATTERN = r"[ \r\n\t\S]+"
_NO_SPACE_PATTERNS = (r"\S*", r"[^\s]+(\s[^\s]+)*")


def _text_check(type_name: str, regex: re.Pattern[str]) -> Check:
    plain_text = regex.pattern == _TEXT_PATTERN

    def check(value: object) -> Problem | None:
        if type(value) is not str:
            return wrong_json_type(value, "a JSON string")
        if plain_text and value and "\v" not in value and "\f" not in value and len(value) <= MAX_STRING:
            return None
        if not value:
            return ("value", f"empty {type_name} (a property with no value must be left out)")
        if len(value) > MAX_STRING:
            return ("value", f"{type_name} longer than 1 MB ({len(value):,} characters)")
        if regex.fullmatch(value) is None:
            # the spec regex excludes control characters; the reference validator only warns
            return (WARNING + "value", f"{type_name} holds control characters: {value[:100]!r}")
        return None

    return check


def _date_check(type_name: str, regex: re.Pattern[str], extra: str = "") -> Check:
    # The same dates recur (a period's start is the encounter's start, issued = effective ...):
    # remember the valid ones, forgetting them all now and then to bound the memory.
    seen: set[str] = set()

    def check(value: object) -> Problem | None:
        if type(value) is not str:
            return wrong_json_type(value, "a JSON string")
        if value in seen:
            return None
        if regex.fullmatch(value) is None or not day_is_valid(value):
            return ("value", f"not a valid {type_name}{extra}: {value[:100]!r}")
        if len(seen) >= _DATES_REMEMBERED:
            seen.clear()
        seen.add(value)
        return None

    return check


def _uri_check(type_name: str, regex: re.Pattern[str], canonical: bool = False) -> Check:
    no_space = regex.pattern in _NO_SPACE_PATTERNS
    seen: set[str] = set()  # valid values met lately: code systems and the like recur all the time

    def check(value: object) -> Problem | None:
        if type(value) is not str:
            return wrong_json_type(value, "a JSON string")
        if value in seen:
            return None
        problem = uri_problem(value)
        if problem is None:
            if len(seen) >= _URIS_REMEMBERED:
                seen.clear()
            seen.add(value)
        return problem

    def uri_problem(value: str) -> Problem | None:
        if not value:
            return ("value", f"empty {type_name} (a property with no value must be left out)")
        if not (no_space and value.isprintable() and " " not in value) and regex.fullmatch(value) is None:
            return ("value", f"not a valid {type_name} (white space is not allowed): {value[:100]!r}")
        if value.startswith("urn:"):
            if value.startswith("urn:uuid:") and _UUID_RE.fullmatch(value) is None:
                return ("value", f"not a valid urn:uuid (UUIDs must be valid and lower case): {value!r}")
            if value.startswith("urn:oid:") and not is_plausible_oid(value):
                return ("value", f"not a valid urn:oid: {value!r}")
        elif canonical and value[0] != "#" and _ABSOLUTE_URI_RE.fullmatch(value) is None:
            return ("value", f"canonical URLs must be absolute unless they are #fragments: {value!r}")
        return None

    return check


def is_plausible_oid(value: str) -> bool:
    """``urn:oid:`` + a valid OID whose root is not implausibly short (as the reference validator judges)."""
    if _OID_RE.fullmatch(value) is None:
        return False
    oid = value[8:]
    return oid.rfind(".") >= 4 or oid.startswith("1.3")


def _check_id(value: object) -> Problem | None:
    if type(value) is not str:
        return wrong_json_type(value, "a JSON string")
    if _ID_RE.fullmatch(value) is not None:
        return None
    if not value:
        return ("value", "empty id (a property with no value must be left out)")
    if len(value) > 64:
        return ("value", f"invalid id: too long ({len(value)} characters, at most 64)")
    return ("value", f"invalid id: characters other than A-Z a-z 0-9 - . in {value[:100]!r}")


def _check_boolean(value: object) -> Problem | None:
    if type(value) is bool:
        return None
    return wrong_json_type(value, "a JSON boolean (true or false)")


def _int_check(type_name: str, low: int) -> Check:
    def check(value: object) -> Problem | None:
        if type(value) is not int:
            if type(value) is float and value.is_integer():
                return ("value", f"not a valid {type_name} (no decimal point allowed): {value!r}")
            return wrong_json_type(value, f"a JSON number holding an {type_name}")
        if value < low or value > INT32_MAX:
            return ("value", f"{type_name} out of range {low}..{INT32_MAX}: {value}")
        return None

    return check


def _check_decimal(value: object) -> Problem | None:
    kind = type(value)
    if kind is float:
        if not math.isfinite(value):  # type: ignore[arg-type]
            return ("value", f"not a valid decimal: {value!r}")
        return None
    if kind is int:
        return None
    return wrong_json_type(value, "a JSON number")


def _check_base64(value: object) -> Problem | None:
    if type(value) is not str:
        return wrong_json_type(value, "a JSON string")
    if not value:
        return ("value", "empty base64Binary (a property with no value must be left out)")
    compact = (
        value.translate(_B64_WS)
        if (" " in value or "\n" in value or "\r" in value or "\t" in value)
        else value
    )
    if len(compact) % 4 or _B64_RE.fullmatch(compact) is None:
        return ("value", f"not a valid base64 value: {value[:100]!r}")
    try:
        binascii.a2b_base64(compact, strict_mode=True)
    except binascii.Error:
        return ("value", f"not a valid base64 value: {value[:100]!r}")
    return None


def _check_xhtml(value: object) -> Problem | None:
    if type(value) is not str:
        return wrong_json_type(value, "a JSON string")
    return check_div(value)


_ID_RE = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def build_checks(regexes: Mapping[str, str | None]) -> dict[str, Check]:
    """One check per primitive type name, using the spec's regexes."""

    def rx(name: str) -> re.Pattern[str]:
        pattern = regexes.get(name)
        assert pattern is not None, f"no regex for primitive {name}"
        return re.compile(pattern, re.ASCII)

    return {
        "boolean": _check_boolean,
        "integer": _int_check("integer", INT32_MIN),
        "unsignedInt": _int_check("unsignedInt", 0),
        "positiveInt": _int_check("positiveInt", 1),
        "decimal": _check_decimal,
        "string": _text_check("string", rx("string")),
        "markdown": _text_check("markdown", rx("markdown")),
        "code": _string_check("code (no leading, trailing or double white space)", rx("code")),
        "id": _check_id,
        "oid": _string_check("oid", rx("oid")),
        "uuid": _string_check("uuid", rx("uuid")),
        "uri": _uri_check("uri", rx("uri")),
        "url": _uri_check("url", rx("url")),
        "canonical": _uri_check("canonical", rx("canonical"), canonical=True),
        "base64Binary": _check_base64,
        "date": _date_check("date", rx("date")),
        "dateTime": _date_check("dateTime", rx("dateTime"), " (a time needs seconds and a time zone)"),
        "instant": _date_check("instant", rx("instant"), " (needs date, time to the second and time zone)"),
        "time": _string_check("time", rx("time")),
        "xhtml": _check_xhtml,
    }
