"""Paging snapshots of ``Patient/[id]/$everything``: the key list of a first page, kept for its
next pages.

Why: finding a large chart's keys (its compartment, then what the compartment references) is
the dearest step of a page. A chart of 2,400 resources read 1,000 at a time found them three
times, once per page, about a third of the whole read on PostgreSQL. The first page now keeps
the list under a random token that its next link carries; the next pages take their slice of
it and only check, by primary key, that each resource is still current, in the compartment and
within the caller's reach (``Store.still_in_everything``). Paging also becomes stable: a
resource added to the chart while a client pages does not shift the pages after it (FHIR asks
servers to keep paging consistent where they can).

A snapshot lives in one server process, for ``TTL_S`` seconds, among at most ``CAPACITY``;
a next page that finds none (expired, evicted, another process) finds the keys again, as
every page did before. A snapshot answers only a request with the same scope (patient, the
caller's access filter, ``_since``, ``_type``), so a token cannot widen what a caller sees.
"""

from __future__ import annotations

import secrets
import threading
import time
from array import array
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from chartkeeper.store.models import EverythingScope

#: How long a snapshot is kept after it was made, and how many one process keeps (the least
#: recently used go first). 256 snapshots of a 2,500-resource chart are about 5 MB.
TTL_S = 600.0
CAPACITY = 256


@dataclass(frozen=True, slots=True)
class Snapshot:
    scope: EverythingScope
    keys: array[int]
    made: float


class PageSnapshots:
    """Key lists of first pages, by token; thread-safe (pages are served from a thread pool)."""

    def __init__(self, ttl_s: float = TTL_S, capacity: int = CAPACITY) -> None:
        self.ttl_s = ttl_s
        self.capacity = capacity
        self._kept: OrderedDict[str, Snapshot] = OrderedDict()
        self._lock = threading.Lock()

    def keep(self, scope: EverythingScope, keys: Sequence[int]) -> str:
        """Keep ``keys`` for ``scope``; the token for the next links."""
        token = secrets.token_urlsafe(12)
        snapshot = Snapshot(scope, array("q", keys), time.monotonic())
        with self._lock:
            self._kept[token] = snapshot
            while len(self._kept) > self.capacity:
                self._kept.popitem(last=False)
        return token

    def find(self, token: str, scope: EverythingScope) -> Sequence[int] | None:
        """The keys kept under ``token`` for exactly this scope, or None (unknown, expired, or
        asked with another patient, access, ``_since`` or ``_type``)."""
        now = time.monotonic()
        with self._lock:
            snapshot = self._kept.get(token)
            if snapshot is None:
                return None
            if now - snapshot.made > self.ttl_s:
                del self._kept[token]
                return None
            self._kept.move_to_end(token)
        return snapshot.keys if snapshot.scope == scope else None

    def __len__(self) -> int:
        return len(self._kept)
