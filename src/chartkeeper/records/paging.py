"""History and $everything parameters: ``_since``, ``_at``, ``_count``, ``_type`` and page cursors."""

from __future__ import annotations

import re
from dataclasses import dataclass

from chartkeeper.errors import InvalidInput
from chartkeeper.fhir.search.normalize import date_range

DEFAULT_COUNT = 50
MAX_COUNT = 1000
#: A snapshot token (``secrets.token_urlsafe``) in a page cursor.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True, slots=True)
class PageRequest:
    """What the caller asked for, parsed; ``cursor`` is opaque to clients (from a next link)."""

    count: int = DEFAULT_COUNT
    since: int | None = None
    at: tuple[int, int] | None = None
    types: frozenset[str] | None = None
    cursor: str | None = None


def parse_count(value: str | None) -> int:
    """``_count``: a positive integer, capped at MAX_COUNT (larger asks get MAX_COUNT)."""
    if value is None:
        return DEFAULT_COUNT
    if not value.isdigit() or int(value) < 1:
        raise InvalidInput(f"_count must be a positive integer, not {value!r}")
    return min(int(value), MAX_COUNT)


def parse_since(value: str | None) -> int | None:
    """``_since`` (an instant): versions written at or after its start."""
    if value is None:
        return None
    found = date_range(value)
    if found is None:
        raise InvalidInput(f"_since must be a FHIR instant, not {value!r}")
    return found[0]


def parse_at(value: str | None) -> tuple[int, int] | None:
    """``_at`` (a date/dateTime): the range its precision covers ("2026" is the whole year)."""
    if value is None:
        return None
    found = date_range(value)
    if found is None:
        raise InvalidInput(f"_at must be a FHIR date or dateTime, not {value!r}")
    return found


def parse_types(value: str | None, known: frozenset[str]) -> frozenset[str] | None:
    if value is None:
        return None
    types = frozenset(t.strip() for t in value.split(",") if t.strip())
    unknown = sorted(types - known)
    if unknown:
        raise InvalidInput(f"_type names unknown resource types: {', '.join(unknown)}")
    return types


def history_cursor(last_updated: int, version_pk: int) -> str:
    return f"{last_updated}.{version_pk}"


def parse_history_cursor(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    head, _, tail = value.partition(".")
    if not (head.isdigit() and tail.isdigit()):
        raise InvalidInput(f"not a history page cursor: {value!r}")
    return int(head), int(tail)


def offset_cursor(offset: int, snapshot: str | None) -> str:
    """A position in a list of keys, with the token of the snapshot it is kept in, if any."""
    return f"{offset}.{snapshot}" if snapshot else str(offset)


def parse_offset_cursor(value: str | None) -> tuple[int, str | None]:
    """(offset, snapshot token or None) of an ``offset_cursor``."""
    if value is None:
        return 0, None
    head, dot, token = value.partition(".")
    if not head.isdigit() or (dot and not _TOKEN.fullmatch(token)):
        raise InvalidInput(f"not a page cursor: {value!r}")
    return int(head), token or None
