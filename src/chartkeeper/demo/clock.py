"""The population's fixed calendar: the reference date and fast date/dateTime strings.

History is dated relative to :data:`REFERENCE_DATE`, never "today", so that output is deterministic.
Days are handled as proleptic ordinals (ints) and turned into FHIR strings only when written.
"""

from __future__ import annotations

from datetime import date

from chartkeeper.demo import vocab as V

REFERENCE_DATE = date(2025, 6, 30)
REF = REFERENCE_DATE.toordinal()
MIN_BIRTH = date(1925, 1, 1).toordinal()
MAX_BIRTH = date(2024, 12, 31).toordinal()
HISTORY_DAYS = 3652
TZ = "-05:00"
COVID_START = date.fromisoformat(V.COVID_START).toordinal()
COVID_VACCINE_START = date(2021, 1, 1).toordinal()
SHINGRIX_START = date(2018, 1, 1).toordinal()

_DATE_CACHE: dict[int, str] = {}
_TIMES: tuple[str, ...] = tuple(f"T{m // 60:02d}:{m % 60:02d}:00{TZ}" for m in range(1440))


def ds(o: int) -> str:
    """ISO date of a proleptic ordinal, cached (there are only ~40,000 distinct days in play)."""
    s = _DATE_CACHE.get(o)
    if s is None:
        s = date.fromordinal(o).isoformat()
        _DATE_CACHE[o] = s
    return s


def dt(o: int, minute: int) -> str:
    """dateTime/instant at minute-of-day ``minute`` (may exceed a day) of day ``o``, US Eastern (fixed).

    The hottest helper of the generator (about ten calls per visit), hence the cache fast path.
    """
    if minute >= 1440:
        o += minute // 1440
        minute %= 1440
    try:
        return _DATE_CACHE[o] + _TIMES[minute]
    except KeyError:
        return ds(o) + _TIMES[minute]
