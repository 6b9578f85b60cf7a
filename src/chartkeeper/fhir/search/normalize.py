"""Normal forms that index rows and search queries must share: strings and date ranges.

Search code should call the same functions on query values, so that ``name=jose`` finds
"José" and ``date=2020-03`` compares against the same microsecond ranges the index holds.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta, timezone

#: 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z in microseconds since the epoch: the
#: open ends of a Period and the clamp for anything outside FHIR's year range.
MIN_MICROS = -62135596800000000
MAX_MICROS = 253402300799999999

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_DAY_US = 86400 * 1000000

#: Entries per memo table (dates and strings repeat a lot within a patient's record); a full
#: table is simply cleared, which keeps memory per worker process to a few MB.
_CACHE_MAX = 50_000


def normalize_string(value: str) -> str:
    """Case-folded, accents removed (NFKD minus combining marks), whitespace collapsed.

    Idempotent: normalizing a normalized string returns it unchanged.
    """
    if value.isascii():
        return " ".join(value.lower().split())
    out = value
    for _ in range(4):  # casefold and NFKD can feed each other; stop at the fixed point
        nxt = _fold(out)
        if nxt == out:
            break
        out = nxt
    return out


def _fold(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    folded = unicodedata.normalize("NFKD", stripped.casefold())
    folded = "".join(c for c in folded if unicodedata.category(c) != "Mn")
    return " ".join(folded.split())


_string_cache: dict[str, str] = {}


def index_string(value: str) -> tuple[str, str]:
    """(normalized, exact) for a string index row. Values are not cut here: the store owns
    its column widths and must cut queries the same way it cuts rows."""
    norm = _string_cache.get(value)
    if norm is None:
        norm = normalize_string(value)
        if len(_string_cache) >= _CACHE_MAX:
            _string_cache.clear()
        _string_cache[value] = norm
    return norm, value


_range_cache: dict[str, tuple[int, int] | None] = {}


def date_range(value: str) -> tuple[int, int] | None:
    """The inclusive microsecond range a FHIR date/dateTime/instant covers, or None if invalid.

    The precision written is the range: "2020" covers the year, "2020-03-15T10:20" the minute,
    "...:30.5" a tenth of a second. A time without a zone is taken as UTC. Results are clamped
    to [MIN_MICROS, MAX_MICROS].
    """
    hit = _range_cache.get(value)
    if hit is not None or value in _range_cache:
        return hit
    result = _parse_range(value)
    if len(_range_cache) >= _CACHE_MAX:
        _range_cache.clear()
    _range_cache[value] = result
    return result


def _parse_range(value: str) -> tuple[int, int] | None:
    n = len(value)
    if n < 4 or not value.isascii() or not value[:4].isdigit():
        return None
    try:
        year = int(value[:4])
        if n == 4:
            start = datetime(year, 1, 1, tzinfo=UTC)
            end = _next_year(year)
        elif n == 7 and value[4] == "-" and value[5:7].isdigit():
            month = int(value[5:7])
            start = datetime(year, month, 1, tzinfo=UTC)
            end = _next_year(year) if month == 12 else datetime(year, month + 1, 1, tzinfo=UTC)
        elif n == 10 and _is_date(value):
            start = datetime(year, int(value[5:7]), int(value[8:10]), tzinfo=UTC)
            low = (start - _EPOCH) // _US
            return _clamp(low, low + _DAY_US - 1)
        elif n > 10 and value[10] in "Tt " and _is_date(value[:10]):
            return _datetime_range(value)
        else:
            return None
    except (ValueError, OverflowError):
        return None
    low = (start - _EPOCH) // _US
    high = MAX_MICROS if end is None else (end - _EPOCH) // _US - 1
    return _clamp(low, high)


def _is_date(value: str) -> bool:
    """``YYYY-MM-DD`` shape with ASCII digits (the caller checked the string is ASCII)."""
    return value[4] == "-" and value[7] == "-" and value[5:7].isdigit() and value[8:10].isdigit()


def _next_year(year: int) -> datetime | None:
    return None if year >= 9999 else datetime(year + 1, 1, 1, tzinfo=UTC)


def _datetime_range(value: str) -> tuple[int, int] | None:
    date_part, rest = value[:10], value[11:]
    # split off the zone: Z, +hh:mm or -hh:mm
    tz: timezone = UTC
    if rest.endswith(("Z", "z")):
        rest = rest[:-1]
    elif (
        len(rest) >= 6
        and rest[-6] in "+-"
        and rest[-3] == ":"
        and rest[-5:-3].isdigit()
        and rest[-2:].isdigit()
    ):
        sign = 1 if rest[-6] == "+" else -1
        hours, minutes = int(rest[-5:-3]), int(rest[-2:])
        if hours > 14 or minutes > 59:
            return None
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
        rest = rest[:-6]
    frac = ""
    if "." in rest:
        rest, frac = rest.split(".", 1)
        if not frac.isdigit():
            return None
    pieces = rest.split(":")
    if len(pieces) not in (2, 3) or not all(len(p) == 2 and p.isdigit() for p in pieces):
        return None
    hour, minute = int(pieces[0]), int(pieces[1])
    second = int(pieces[2]) if len(pieces) == 3 else 0
    if frac and len(pieces) != 3:
        return None
    micros = int((frac + "000000")[:6]) if frac else 0
    second = min(second, 59)  # a leap second (60) stays inside its minute
    start = datetime(
        int(date_part[:4]), int(date_part[5:7]), int(date_part[8:10]), hour, minute, second, micros, tz
    )
    low = (start - _EPOCH) // _US
    if len(pieces) == 2:
        width = 60_000_000
    elif not frac:
        width = 1_000_000
    else:
        width = 10 ** max(0, 6 - len(frac))
    return _clamp(low, low + width - 1)


def _clamp(low: int, high: int) -> tuple[int, int]:
    low = min(max(low, MIN_MICROS), MAX_MICROS)
    high = min(max(high, MIN_MICROS), MAX_MICROS)
    return (low, high) if low <= high else (high, low)
