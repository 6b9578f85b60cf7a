"""A process's copy of the accounts its bearer tokens name, kept only while it is vouched for.

Every request with a bearer token looks up its user or client, so that a disabled account's
tokens stop working at once and lost roles narrow the scopes. On PostgreSQL that look-up is a
round trip that holds the process's event loop (``api.inline``); it was 18 % of a read's
samples under load, and with this copy two server processes served 1,098-1,190 reads/s
instead of 979-1,062 (ADR 0027). The copy is kept only while something vouches that every change to the accounts
reaches it: ``set_live(True)`` from a change listener (``store.change_notices``) once it hears
the accounts' channel, ``invalidate()`` on every notice, ``set_live(False)`` as soon as the
listener cannot vouch. Without a live listener every look-up reads the database, as before.

A look-up that races a change must not store what it read before the change: the copy has a
generation, bumped by every ``invalidate``, and a row read under one generation is kept only
if the generation has not moved by the time it is stored (checked and stored under one lock).
The generation is read before the database is, and PostgreSQL sends the notice only after the
change commits, so a row read before the commit always sees the bump.

Only the token check uses it; sign-in (passwords, lockouts, failed-attempt counts) always
reads the row itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

#: More names than this (a flood of tokens of many accounts) and the copy starts again.
MAX_ENTRIES = 10_000


class AccountCache:
    """Users and clients by (kind, name); thread-safe."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], object] = {}
        self._generation = 0
        self._live = False
        self.hits = 0
        self.misses = 0

    @property
    def live(self) -> bool:
        return self._live

    def set_live(self, live: bool) -> None:
        """Vouched for (True) or not (False); either way what was kept is dropped, since
        changes may have gone unheard before listening began or after it stopped."""
        with self._lock:
            self._live = live
            self._generation += 1
            self._entries.clear()

    def invalidate(self) -> None:
        """An account changed (which one, the notice does not say): drop every copy."""
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def get(self, kind: str, name: str, load: Callable[[], T | None]) -> T | None:
        """The account ``load`` reads, from the copy when it is vouched for. Unknown names
        (``None``) are not kept: they are rare, and a flood of them must not fill memory."""
        key = (kind, name)
        if self._live:
            found = self._entries.get(key)
            if found is not None:
                self.hits += 1
                return found  # type: ignore[return-value]
        generation = self._generation
        value = load()
        self.misses += 1
        if value is not None:
            with self._lock:
                if self._live and self._generation == generation:
                    if len(self._entries) >= self.max_entries:
                        self._entries.clear()
                    self._entries[key] = value
        return value
