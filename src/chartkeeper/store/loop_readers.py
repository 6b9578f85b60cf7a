"""The reading connection an event loop's thread keeps between reads (``Store.reading_one``).

The API runs a read by id and the token check on the event loop when the database is on this
host (``api.inline``): two one-statement reads per request, one after the other on one
thread. Checking a connection out of the pool for each and back in, and on PostgreSQL
switching it to autocommit and back, cost more CPU than the statements: about an eighth of a
server process's time. The loop's thread keeps one connection instead. Only that thread uses
it, one read at a time (a read nested in another takes a pooled connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

from sqlalchemy.engine import Connection, Engine


def on_event_loop() -> bool:
    """Whether this thread is running an event loop (asyncio's own test, without the
    exception ``get_running_loop`` raises elsewhere)."""
    return asyncio._get_running_loop() is not None


class _HeldReader:
    """One event loop thread's reading connection."""

    def __init__(self) -> None:
        self.conn: Connection | None = None
        self.busy = False

    def take(self, engine: Engine) -> Connection | None:
        if self.busy:
            return None
        if self.conn is None:
            self.conn = engine.connect()
        self.busy = True
        return self.conn

    def give_back(self) -> None:
        """End the read: roll back what the statement began (SQLite's deferred BEGIN: its
        snapshot must not outlive the read); a connection that cannot is dropped."""
        self.busy = False
        if self.conn is not None and self.conn.in_transaction():
            try:
                self.conn.rollback()
            except Exception:
                self.drop()
                raise

    def drop(self) -> None:
        self.busy = False
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # already broken: nothing more to learn
                conn.close()


class LoopReaders:
    """The held readers of a Store, one per event loop thread."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._all: list[_HeldReader] = []
        self._lock = threading.Lock()

    def get(self) -> _HeldReader:
        reader: _HeldReader | None = getattr(self._local, "reader", None)
        if reader is None:
            reader = self._local.reader = _HeldReader()
            with self._lock:
                self._all.append(reader)
        return reader

    def close_all(self) -> None:
        with self._lock:
            readers, self._all = self._all, []
        for reader in readers:
            reader.drop()
