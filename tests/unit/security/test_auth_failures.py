"""FailureAuditor: the first failures per source and window are recorded, the rest summarized."""

from __future__ import annotations

from chartkeeper.security.auth_failures import FailureAuditor
from chartkeeper.security.caller import Caller
from chartkeeper.security.ports import AccessEvent, MemoryAuditSink
from chartkeeper.security.scopes import ScopeSet


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _failure(address: str | None, reason: str = "token expired") -> AccessEvent:
    who = Caller("client/_", "client", "?", ScopeSet(), source_address=address)
    return AccessEvent(who, "authenticate", "denied", detail=reason)


def _auditor(sink: MemoryAuditSink, clock: Clock, **kw: int) -> FailureAuditor:
    return FailureAuditor(sink, per_window=3, window_seconds=60, clock=clock, wall_clock=clock, **kw)


def test_each_source_gets_its_own_budget_and_a_summary_when_its_window_ends() -> None:
    sink, clock = MemoryAuditSink(), Clock()
    auditor = _auditor(sink, clock)
    for _ in range(10):
        auditor.record(_failure("10.0.0.1"))
    auditor.record(_failure("10.0.0.2", "malformed token"))
    assert len(sink.events) == 4  # 3 from .1, 1 from .2
    clock.now += 61
    auditor.record(_failure("10.0.0.1"))  # a new window: the summary of the old one, then this
    details = [e.detail or "" for e in sink.events[4:]]
    assert details[0].startswith("7 more failed authentication(s) from 10.0.0.1")
    assert "token expired (7)" in details[0]
    assert details[1] == "token expired"
    auditor.flush()
    assert len(sink.events) == 6  # .2 suppressed nothing, .1's new window nothing: no summary


def test_a_quiet_source_is_summarized_by_the_next_failure_from_anyone() -> None:
    sink, clock = MemoryAuditSink(), Clock()
    auditor = _auditor(sink, clock)
    for _ in range(5):
        auditor.record(_failure("10.0.0.1"))
    clock.now += 120
    auditor.record(_failure("10.0.0.9"))
    summary, own = sink.events[-2:]
    assert own.caller.source_address == "10.0.0.9" and own.detail == "token expired"
    assert (summary.detail or "").startswith("2 more failed authentication(s) from 10.0.0.1")
    assert summary.caller.source_address == "10.0.0.1" and summary.outcome == "denied"


def test_many_sources_share_one_bucket_past_the_limit() -> None:
    sink, clock = MemoryAuditSink(), Clock()
    auditor = _auditor(sink, clock, max_sources=5)
    for n in range(100):
        auditor.record(_failure(f"10.0.1.{n}"))
    assert len(sink.events) == 5 + 3  # five tracked sources, then three for all the others
    auditor.flush()
    assert (sink.events[-1].detail or "").startswith("92 more failed authentication(s) from other sources")


def test_a_failing_sink_never_raises() -> None:
    class Broken:
        def record(self, event: AccessEvent) -> None:
            raise OSError("disk full")

    FailureAuditor(Broken()).record(_failure(None))
