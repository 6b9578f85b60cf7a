"""Change notices from PostgreSQL: a thread that LISTENs on a channel and says when it changed.

A trigger (migration 0010) runs ``pg_notify`` on a channel after every statement that changes
the account tables, whoever runs it: the API, the CLI in another process, plain SQL. PostgreSQL
delivers a notice when the changing transaction commits, to every session listening then. So a
process that keeps a copy of those rows can drop it on each notice, provided it knows the
listening session is alive: ``ChangeListener`` tells its owner ``on_live(True)`` once LISTEN is
in place (and the trigger is there to send), ``on_live(False)`` the moment the session is lost
or unchecked, and checks the session with a round trip every ``check_every`` seconds in which
nothing arrived. While it is not live the owner must not trust its copy.

SQLite has no such notices; its readers are in-process and cheap, so nothing is cached there.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

#: The channel of ``app_user`` and ``api_client`` changes (migration 0010's trigger).
ACCOUNTS_CHANNEL = "chartkeeper_accounts"
#: The triggers that send on it: without them, a notice-kept copy would never be dropped.
ACCOUNTS_TRIGGERS = ("chartkeeper_app_user_changed", "chartkeeper_api_client_changed")


class ChangeListener:
    """Listens on ``channel`` in a daemon thread of its own, over a connection of its own.

    ``on_change()`` is called for every notice (several may come for one commit);
    ``on_live(bool)`` when listening starts and when it stops (connection lost, check failed,
    ``close``). Both run in the listener's thread and must be quick."""

    def __init__(
        self,
        engine: Engine,
        channel: str,
        *,
        on_change: Callable[[], None],
        on_live: Callable[[bool], None],
        triggers: tuple[str, ...] = (),
        check_every: float = 0.5,
        retry_after: float = 1.0,
    ) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("change notices need PostgreSQL")
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", channel):
            raise ValueError(f"not a plain channel name: {channel!r}")
        self.engine = engine
        self.channel = channel
        self.triggers = triggers
        self.check_every = check_every
        self.retry_after = retry_after
        self._on_change = on_change
        self._on_live = on_live
        self._stop = threading.Event()
        self._stop.set()  # not started
        self._live = threading.Event()
        self._live_lock = threading.Lock()

    def start(self) -> ChangeListener:
        """Start listening (again after ``close``: an app's lifespan may run more than once).
        Each start has its own thread and stop signal; a closed one's thread ends by itself."""
        with self._live_lock:
            if not self._stop.is_set():
                return self
            self._stop = stop = threading.Event()
        threading.Thread(target=self._run, args=(stop,), name=f"listen-{self.channel}", daemon=True).start()
        return self

    def wait_live(self, timeout: float) -> bool:
        """True once listening (tests and start-up checks)."""
        return self._live.wait(timeout)

    def close(self) -> None:
        """Stop listening; the owner is told ``on_live(False)`` before this returns. The thread
        is not waited for: it ends within ``check_every`` seconds, and can no longer go live."""
        with self._live_lock:
            self._stop.set()
            self._set_live(False)

    # -- the thread ----------------------------------------------------------------------------
    def _run(self, stop: threading.Event) -> None:
        warned = False
        while not stop.is_set():
            conn = None
            try:
                conn = self._connect()
                if not self._triggers_present(conn):
                    if not warned:
                        log.warning("no change triggers for %s: copies are not kept", self.channel)
                        warned = True
                    stop.wait(self.retry_after * 30)
                    continue
                with self._live_lock:
                    if stop.is_set():
                        break
                    self._set_live(True)
                self._listen(conn, stop)
            except Exception as exc:  # any failure means: not live, try again
                if not stop.is_set():
                    log.warning(
                        "listening on %s stopped (%s: %s); retrying", self.channel, type(exc).__name__, exc
                    )
            finally:
                with self._live_lock:
                    if stop is self._stop:  # not a run that a later start replaced
                        self._set_live(False)
                if conn is not None:
                    with contextlib.suppress(Exception):  # already gone
                        conn.close()
            stop.wait(self.retry_after)

    def _connect(self) -> Any:
        """A connection of the engine's own settings, taken out of its pool for good."""
        proxied = self.engine.raw_connection()
        conn: Any = proxied.driver_connection
        proxied.detach()
        try:
            conn.rollback()
            conn.autocommit = True
            conn.execute(f'LISTEN "{self.channel}"')
        except Exception:
            conn.close()
            raise
        return conn

    def _triggers_present(self, conn: Any) -> bool:
        if not self.triggers:
            return True
        found = conn.execute(
            "SELECT count(DISTINCT tgname) FROM pg_trigger WHERE tgname = ANY(%s)", (list(self.triggers),)
        ).fetchone()
        return bool(found and found[0] == len(self.triggers))

    def _listen(self, conn: Any, stop: threading.Event) -> None:
        while not stop.is_set():
            heard = False
            for _notice in conn.notifies(timeout=self.check_every):
                heard = True
                self._on_change()
            if not heard:  # quiet: make sure the session is still there to hear
                conn.execute("SELECT 1")

    def _set_live(self, live: bool) -> None:
        """Under ``_live_lock``."""
        if live == self._live.is_set():
            return
        if live:
            self._live.set()
        else:
            self._live.clear()
        self._on_live(live)
