"""FHIR ``instant`` values for server-managed timestamps, kept as integer microseconds."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def now_us() -> int:
    return time.time_ns() // 1000


def format_instant(micros: int) -> str:
    """``2026-11-29T10:40:00.123456Z``: an exact round trip for ``_since`` and history."""
    moment = _EPOCH + timedelta(microseconds=micros)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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
