"""Calendar checks and FHIRPath-style comparison of FHIR date/dateTime/instant strings.

Why a module of its own: the spec regexes accept ``1999-02-31``, so every date needs a calendar
check after the regex, and invariants such as per-1 (Period start <= end) need FHIRPath's
comparison rules, where values of different precision that agree at the common precision
compare as *unknown* (and an unknown invariant result is a failure, as in the reference
validator).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

_DAYS_IN_MONTH = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_leap_year(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def day_is_valid(value: str) -> bool:
    """Whether the day of a regex-valid ``YYYY-MM-DD...`` string exists in that month.

    Fast path: days up to 28 exist in every month, so only the last days need the calendar.
    """
    if len(value) < 10:
        return True
    day = int(value[8:10])
    if day <= 28:
        return True
    month = int(value[5:7])
    if month == 2:
        return day == 29 and is_leap_year(int(value[0:4]))
    return day <= _DAYS_IN_MONTH[month]


def _parse(value: str) -> tuple[int, tuple[int, ...], datetime | None] | None:
    """(precision, date parts, aware datetime when a time is present) or None when unparseable.

    precision: 1 year, 2 month, 3 day, 4 time (seconds and fractions are one precision in FHIRPath).
    """
    try:
        if len(value) <= 10:
            parts = tuple(int(p) for p in value.split("-"))
            return len(parts), parts, None
        date_part, time_part = value.split("T", 1)
        parts = tuple(int(p) for p in date_part.split("-"))
        tz_minutes = 0
        if time_part.endswith("Z"):
            clock = time_part[:-1]
        else:
            sign_at = max(time_part.rfind("+"), time_part.rfind("-"))
            clock, tz = time_part[:sign_at], time_part[sign_at:]
            tz_minutes = (int(tz[1:3]) * 60 + int(tz[4:6])) * (-1 if tz[0] == "-" else 1)
        hh, mm, ss = clock.split(":")
        seconds = float(ss)
        whole = int(seconds)
        micro = round((seconds - whole) * 1_000_000)
        if whole == 60:  # leap second: compare as the last instant of the minute
            whole, micro = 59, 999_999
        moment = datetime(
            parts[0],
            parts[1],
            parts[2],
            int(hh),
            int(mm),
            whole,
            min(micro, 999_999),
            tzinfo=timezone(timedelta(minutes=tz_minutes)),
        )
        return 4, parts, moment
    except (ValueError, IndexError):
        return None


def compare(a: str, b: str) -> int | None:
    """-1 / 0 / 1 like ``a <=> b``, or None when FHIRPath says the comparison is unknown.

    Unknown: the values agree at their common precision but one is more precise
    (``2023-06-21`` vs ``2023-06-21T06:20:00Z``). Raises ValueError when a side is not a
    date/dateTime at all (the primitive check reports that; invariants then stay silent).
    """
    if len(a) == len(b) and (len(a) <= 10 or a[-1] == b[-1] == "Z" or (a[-6:] == b[-6:] and a[-6] in "+-")):
        # fast path: same precision, same time zone, same fraction digits -> ISO text order is time order
        return (a > b) - (a < b)
    pa = _parse(a)
    pb = _parse(b)
    if pa is None or pb is None:
        raise ValueError(f"not comparable as dates: {a!r}, {b!r}")
    prec_a, parts_a, moment_a = pa
    prec_b, parts_b, moment_b = pb
    if moment_a is not None and moment_b is not None:
        return (moment_a > moment_b) - (moment_a < moment_b)
    common = min(prec_a, prec_b, 3)
    left, right = parts_a[:common], parts_b[:common]
    if left != right:
        return -1 if left < right else 1
    return 0 if prec_a == prec_b else None
