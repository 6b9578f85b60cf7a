"""One write transaction at a time on an SQLite file, queued in the kernel.

SQLite lets one writer in at a time; a second one (another thread, or another
``chartkeeper serve`` worker process) that finds the file locked waits in SQLite's busy
handler, which sleeps 1, 2, 5, 10, 15, 20, 25 ... ms between tries. A writer that commits
again at once, as the audit trail's writer does under load, wins nearly every time: with two
server processes one process's AuditEvents, and with them its requests, starved (one process
used 10.5 s of CPU in a 10 s run, the other 0.9 s). The gate queues write transactions on an
``flock`` of a file beside the database (and a lock among the process's threads) before they
BEGIN IMMEDIATE, so a waiting writer is woken the moment the lock is free instead of after
its next sleep; SQLite's own lock and busy timeout still apply behind it (to writers that do
not pass the gate, such as the ingest writer's long-lived connection, or other programs).

A transaction nested in another on the same thread passes the gate (SQLite decides, as
before: its BEGIN IMMEDIATE waits for the outer one and fails after the busy timeout). One
gate per database file per process, shared by every Store opened on it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path

_gates: dict[str, WriterGate] = {}
_gates_lock = threading.Lock()


class WriterGate:
    def __init__(self, lock_file: Path) -> None:
        self._fd: int | None
        try:
            self._fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError:  # a read-only folder: no gate, SQLite's busy handler alone (as before)
            self._fd = None
        self._threads = threading.Lock()
        self._local = threading.local()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        depth: int = getattr(self._local, "depth", 0)
        if depth or self._fd is None:
            self._local.depth = depth + 1
            try:
                yield
            finally:
                self._local.depth = depth
            return
        with self._threads:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            self._local.depth = 1
            try:
                yield
            finally:
                self._local.depth = 0
                fcntl.flock(self._fd, fcntl.LOCK_UN)


def gate_for(database: str | None) -> WriterGate | None:
    """The process's gate for an SQLite database file (None for in-memory databases)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database).expanduser().resolve()
    key = str(path)
    with _gates_lock:
        gate = _gates.get(key)
        if gate is None:
            gate = _gates[key] = WriterGate(path.with_name(path.name + "-writer.lock"))
        return gate
