"""FHIR ``instant`` values for server-managed timestamps, kept as integer microseconds."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from functools import lru_cache

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def now_us() -> int:
    return time.time_ns() // 1000


@lru_cache(maxsize=4096)
def format_instant(micros: int) -> str:
    """``2026-11-29T10:40:00.123456Z``: an exact round trip for ``_since`` and history.

    Every resource read formats its lastUpdated; resources written in one transaction share
    it, hence the cache, and ``time.gmtime`` is half the cost of datetime + strftime."""
    seconds, fraction = divmod(micros, 1_000_000)
    t = time.gmtime(seconds)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (  # noqa: UP031 (fastest form, on every read)
        t.tm_year,
        t.tm_mon,
        t.tm_mday,
        t.tm_hour,
        t.tm_min,
        t.tm_sec,
        fraction,
    )


def parse_instant(text: str) -> int:
    """An ISO instant or dateTime (a date alone means its midnight UTC) to microseconds."""
    value = text.strip().replace("Z", "+00:00")
    if len(value) == 10:
        value += "T00:00:00+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
