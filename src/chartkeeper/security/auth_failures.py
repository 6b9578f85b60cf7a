"""Auditing failed authentication without letting a flood of it flood the audit trail.

Every rejected bearer token and refused token request is an AccessEvent (outcome denied), but
each one costs an audited write, so a client hammering the API with a bad token could make
the server write without limit. Per source address and window (``window_seconds``), the first
``per_window`` failures are recorded one by one; the rest are only counted, and one summary
AuditEvent ("N more failed authentications from ADDR ... suppressed") is recorded when that
source's window is over: at its next failure, at the next failure from anyone after it (a
sweep at most once a second), or when the server stops (``flush``). So the trail holds at most
``per_window + 1`` records per source per window, and never loses the fact or the count.

At most ``max_sources`` addresses are tracked at once; past that, new addresses share one
bucket (``*``), so a spray from many addresses is bounded too. The state is per process:
``chartkeeper serve --workers N`` allows N times as many records.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from chartkeeper.fhir.instant import format_instant
from chartkeeper.security.ports import AccessEvent, AuditSink

log = logging.getLogger(__name__)

PER_WINDOW = 10
WINDOW_SECONDS = 60.0
MAX_SOURCES = 10_000
_SWEEP_SECONDS = 1.0
_OVERFLOW = "*"


@dataclass
class _Window:
    started: float
    recorded: int = 0
    suppressed: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    last: AccessEvent | None = None  # the last suppressed event: who the summary names


class FailureAuditor:
    """Records failed-authentication AccessEvents through ``sink``, bounded per source."""

    def __init__(
        self,
        sink: AuditSink,
        *,
        per_window: int = PER_WINDOW,
        window_seconds: float = WINDOW_SECONDS,
        max_sources: int = MAX_SOURCES,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.sink = sink
        self.per_window, self.window_seconds, self.max_sources = per_window, window_seconds, max_sources
        self._clock, self._wall = clock, wall_clock
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}
        self._last_sweep = clock()

    def record(self, event: AccessEvent) -> None:
        """Record ``event`` now, or count it into its source's summary. Never raises: a denied
        request stays denied even when the audit store is down (the failure is logged)."""
        now = self._clock()
        due: list[AccessEvent] = []
        write = False
        with self._lock:
            key = event.caller.source_address or "-"
            if key not in self._windows and len(self._windows) >= self.max_sources:
                due.extend(self._sweep(now))
                if len(self._windows) >= self.max_sources:
                    key = _OVERFLOW
            window = self._windows.get(key)
            if window is not None and now - window.started >= self.window_seconds:
                summary = self._summary(key, window)
                if summary is not None:
                    due.append(summary)
                window = None
            if window is None:
                window = self._windows[key] = _Window(now)
            if window.recorded < self.per_window:
                window.recorded += 1
                write = True
            else:
                window.suppressed += 1
                reason = event.detail or "?"
                if reason in window.reasons or len(window.reasons) < 5:
                    window.reasons[reason] = window.reasons.get(reason, 0) + 1
                window.last = event
            if now - self._last_sweep >= _SWEEP_SECONDS:
                due.extend(self._sweep(now))
        if write:  # after the summaries: they are of windows that ended before it
            due.append(event)
        for item in due:
            self._write(item)

    def flush(self) -> None:
        """Record the summaries of every window still counting (at shutdown)."""
        with self._lock:
            due = [s for k, w in self._windows.items() if (s := self._summary(k, w)) is not None]
            self._windows.clear()
        for item in due:
            self._write(item)

    def _sweep(self, now: float) -> list[AccessEvent]:
        """Summaries of the windows that are over; their sources are forgotten."""
        self._last_sweep = now
        due = []
        for key in [k for k, w in self._windows.items() if now - w.started >= self.window_seconds]:
            summary = self._summary(key, self._windows.pop(key))
            if summary is not None:
                due.append(summary)
        return due

    def _summary(self, key: str, window: _Window) -> AccessEvent | None:
        if not window.suppressed or window.last is None:
            return None
        since = format_instant(int((self._wall() - (self._clock() - window.started)) * 1_000_000))
        reasons = ", ".join(f"{reason} ({n})" for reason, n in window.reasons.items())
        where = "other sources" if key == _OVERFLOW else key
        detail = (
            f"{window.suppressed} more failed authentication(s) from {where} not recorded one by one "
            f"in the {self.window_seconds:g} s from {since}: {reasons}"
        )
        last = window.last
        return AccessEvent(last.caller, last.action, last.outcome, detail=detail)

    def _write(self, event: AccessEvent) -> None:
        try:
            self.sink.record(event)
        except Exception:  # the request is refused anyway; never turn a 401 into a 500
            log.exception("could not audit a failed authentication")
