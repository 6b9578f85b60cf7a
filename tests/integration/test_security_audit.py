"""The audit trail on real databases: valid searchable AuditEvents, a chain that catches tampering,
and one contract for AuditTrail and MemoryAuditSink."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from chartkeeper.fhir.conditional import parse_criteria
from chartkeeper.fhir.search.extract import hash_identity
from chartkeeper.fhir.validation import validate_resource
from chartkeeper.security.audit import AuditTrail
from chartkeeper.security.audit_batch import QUIET_AFTER_S, GroupCommitAuditTrail
from chartkeeper.security.caller import Caller, local_caller
from chartkeeper.security.ports import AccessEvent, AuditSink, MemoryAuditSink
from chartkeeper.security.scopes import ScopeSet
from chartkeeper.store.repository import Store
from chartkeeper.store.schema import audit_chain, idx_date, resource, resource_version

ALICE = Caller(
    subject="user/alice",
    kind="user",
    display="Alice Auditor",
    scopes=ScopeSet.parse("user/Observation.rs"),
    roles=frozenset({"coder"}),
    source_address="203.0.113.9",
    purpose_of_use="HOPERAT",
)


def _events() -> list[AccessEvent]:
    return [
        AccessEvent(ALICE, "read", "success", ("Observation/o1/_history/2",), ("p1",)),
        AccessEvent(
            ALICE,
            "search-type",
            "success",
            ("Observation/o1", "Observation/o2"),
            ("p1", "p2"),
            query="Observation?code=1234-5",
        ),
        AccessEvent(
            ALICE, "delete", "denied", ("Patient/p2",), ("p2",), detail="scope does not allow delete"
        ),
        AccessEvent(local_caller("ops"), "export", "failed", operation="$export", detail="disk full"),
        AccessEvent(ALICE, "login", "denied", detail="wrong username or password"),
    ]


def _trail_events(store: Store) -> Callable[[], list[dict[str, Any]]]:
    def read() -> list[dict[str, Any]]:
        found = [v.content for v in store.iter_current("AuditEvent")]
        return sorted((c for c in found if c), key=lambda c: c["recorded"])

    return read


def _memory_events(sink: MemoryAuditSink) -> Callable[[], list[dict[str, Any]]]:
    from chartkeeper.security.audit_event import build_audit_event

    return lambda: [build_audit_event(e, str(n), n) for n, e in enumerate(sink.events)]


@pytest.mark.parametrize("kind", ["trail", "group", "memory"])
def test_audit_sink_contract(store: Store, kind: str) -> None:
    """Every sink keeps every event, in order, with who, what, outcome and patients."""
    sink: AuditSink
    if kind == "trail":
        sink = AuditTrail(store)
        recorded = _trail_events(store)
    elif kind == "group":
        sink = GroupCommitAuditTrail(AuditTrail(store))
        recorded = _trail_events(store)
    else:
        memory = MemoryAuditSink()
        sink, recorded = memory, _memory_events(memory)
    for event in _events():
        sink.record(event)
    events = recorded()
    assert len(events) == 5
    assert [e["outcome"] for e in events] == ["0", "0", "4", "8", "4"]
    assert [e["action"] for e in events] == ["R", "E", "D", "E", "E"]
    assert [e["subtype"][0]["code"] for e in events] == [
        "read",
        "search-type",
        "delete",
        "operation",
        "110122",
    ]
    assert events[0]["agent"][0]["altId"] == "user/alice"
    assert events[0]["agent"][0]["network"] == {"address": "203.0.113.9", "type": "2"}
    assert events[0]["agent"][0]["purposeOfUse"][0]["coding"][0]["code"] == "HOPERAT"
    patients = [x["what"]["reference"] for x in events[1]["entity"] if x["role"]["code"] == "1"]
    assert patients == ["Patient/p1", "Patient/p2"]
    assert events[3]["outcomeDesc"] == "$export disk full"
    for event in events:
        assert [i for i in validate_resource(event) if i.is_error] == []


def test_audit_events_are_indexed_for_search(store: Store) -> None:
    trail = AuditTrail(store)
    for event in _events():
        trail.record(event)
    by_patient = store.find_ids(parse_criteria("AuditEvent?patient=Patient/p2"), limit=10)
    assert len(by_patient) == 2
    by_agent = store.find_ids(parse_criteria("AuditEvent?altid=user/alice"), limit=10)
    assert len(by_agent) == 4
    by_outcome = store.find_ids(parse_criteria("AuditEvent?outcome=4"), limit=10)
    assert len(by_outcome) == 2
    with store.reading() as conn:
        dates = conn.execute(
            select(idx_date.c.low).where(idx_date.c.hash_identity == hash_identity("AuditEvent", "date"))
        ).all()
    assert len(dates) == 5


def _trail_with(store: Store, n: int) -> AuditTrail:
    trail = AuditTrail(store)
    for i in range(n):
        trail.record(AccessEvent(ALICE, "read", "success", (f"Observation/o{i}",), ("p1",)))
    report = trail.verify_chain()
    assert report.ok and report.records == n and report.head != "0" * 64
    return trail


def test_chain_detects_an_edited_audit_event(store: Store) -> None:
    trail = _trail_with(store, 4)
    with store.transaction() as conn:
        pk = conn.execute(select(audit_chain.c.audit_id).where(audit_chain.c.seq == 2)).scalar_one()
        row = conn.execute(
            select(resource_version.c.pk, resource_version.c.content).where(resource_version.c.res_id == pk)
        ).one()
        edited = dict(row.content, outcome="0", outcomeDesc="nothing happened")
        edited["agent"] = [dict(edited["agent"][0], altId="user/mallory")]
        conn.execute(update(resource_version).where(resource_version.c.pk == row.pk).values(content=edited))
    report = trail.verify_chain()
    assert not report.ok
    assert len(report.problems) == 1 and "record 2" in report.problems[0] and "changed" in report.problems[0]


def test_chain_detects_a_removed_record(store: Store) -> None:
    trail = _trail_with(store, 4)
    with store.transaction() as conn:
        conn.execute(delete(audit_chain).where(audit_chain.c.seq == 2))
    report = trail.verify_chain()
    assert not report.ok and any("removed or reordered" in p for p in report.problems)
    assert report.unchained == 1


def test_chain_detects_a_deleted_audit_event(store: Store) -> None:
    trail = _trail_with(store, 3)
    with store.transaction() as conn:
        audit_id = conn.execute(select(audit_chain.c.audit_id).where(audit_chain.c.seq == 3)).scalar_one()
        conn.execute(delete(resource_version).where(resource_version.c.res_id == audit_id))
        conn.execute(delete(resource).where(resource.c.res_id == audit_id))
    report = trail.verify_chain()
    assert report.problems == [f"record 3 (AuditEvent/{audit_id}): the AuditEvent is missing or deleted"]


def test_chain_detects_reordering(store: Store) -> None:
    trail = _trail_with(store, 4)
    with store.transaction() as conn:
        rows = {r.seq: r for r in conn.execute(select(audit_chain).where(audit_chain.c.seq.in_([2, 3])))}
        conn.execute(
            update(audit_chain)
            .where(audit_chain.c.seq == 2)
            .values(audit_id="tmp", hash="tmp", prev_hash="tmp")
        )
        for seq, other in ((3, 2), (2, 3)):
            r = rows[other]
            conn.execute(
                update(audit_chain)
                .where(audit_chain.c.seq == seq)
                .values(audit_id=r.audit_id, hash=r.hash, prev_hash=r.prev_hash)
            )
    report = trail.verify_chain()
    assert not report.ok and any("removed or reordered" in p for p in report.problems)


def test_chain_detects_an_audit_event_added_outside_the_trail(store: Store) -> None:
    from chartkeeper.security.audit import audit_write
    from chartkeeper.security.audit_event import build_audit_event

    trail = _trail_with(store, 2)
    forged = build_audit_event(AccessEvent(ALICE, "read", "success"), "forged-1", 0)
    store.apply([audit_write(forged)])
    report = trail.verify_chain()
    assert not report.ok and report.unchained == 1


def test_record_in_commits_or_rolls_back_with_the_write(store: Store) -> None:
    trail = AuditTrail(store)
    event = AccessEvent(ALICE, "create", "success", ("Observation/o9",), ("p1",))
    with store.transaction() as conn:
        trail.record_in(conn, event)
    with pytest.raises(RuntimeError), store.transaction() as conn:
        trail.record_in(conn, event)
        raise RuntimeError("the write failed")
    trail.record(event)
    report = trail.verify_chain()
    assert report.ok and report.records == 2


def test_group_commit_records_every_concurrent_event_in_one_chain(store: Store) -> None:
    group = GroupCommitAuditTrail(AuditTrail(store), max_batch=8)
    events = _events() * 8
    threads = [threading.Thread(target=group.record, args=(e,)) for e in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report = group.verify_chain()
    assert report.ok, report.problems
    assert report.records == len(events) == len(_trail_events(store)())
    assert len(events) / 8 <= group.batches <= len(events)


class _FailingTrail(AuditTrail):
    def append_locked(self, conn: Any, head: Any, prepared: Any) -> None:
        super().append_locked(conn, head, prepared)
        if any(audit["outcome"] == "8" for audit, _write in prepared):
            raise RuntimeError("disk full")


def test_a_failed_group_commit_fails_every_waiter_and_writes_nothing(store: Store) -> None:
    group = GroupCommitAuditTrail(_FailingTrail(store))
    serious = next(e for e in _events() if e.outcome == "failed")
    with pytest.raises(RuntimeError, match="disk full"):
        group.record(serious)
    assert _trail_events(store)() == [] and group.verify_chain().records == 0
    group.record(_events()[0])  # leadership was handed back: the next record works
    assert len(_trail_events(store)()) == 1


def test_deferred_records_wait_for_settle_and_share_commits(store: Store) -> None:
    """On an event loop, inside ``deferring()``, ``record`` only queues: the writer thread
    commits, and ``settle`` returns once the AuditEvent is in the chain."""
    group = GroupCommitAuditTrail(AuditTrail(store), max_batch=8)
    events = _events() * 6

    async def one(event: AccessEvent) -> None:
        with group.deferring() as pending:
            group.record(event)
        (queued,) = pending
        assert not queued.settled  # the loop has not run since: no commit can have reached it
        await group.settle(pending)
        assert queued.settled

    async def many() -> None:
        await asyncio.gather(*(one(event) for event in events))

    asyncio.run(many())
    group.close()
    report = group.verify_chain()
    assert report.ok, report.problems
    assert report.records == len(events) == len(_trail_events(store)())
    assert len(events) / 8 <= group.batches <= len(events)


def test_a_failed_deferred_commit_is_raised_by_settle(store: Store) -> None:
    group = GroupCommitAuditTrail(_FailingTrail(store))
    serious = next(e for e in _events() if e.outcome == "failed")

    async def run() -> None:
        with group.deferring() as pending:
            group.record(serious)
        with pytest.raises(RuntimeError, match="disk full"):
            await group.settle(pending)
        with group.deferring() as pending:  # leadership was handed back
            group.record(_events()[0])
        await group.settle(pending)

    asyncio.run(run())
    group.close()
    assert len(_trail_events(store)()) == 1 and group.verify_chain().ok


def test_records_deferred_from_a_pool_thread_are_settled_on_the_loop(store: Store) -> None:
    """The API's reads on PostgreSQL run in the thread pool under ``deferring()``: a record
    made there only queues (the pool thread does not wait for the commit) and ``settle`` on
    the loop returns once it is in the chain. A thread outside any deferring block still
    waits for its own commit."""
    group = GroupCommitAuditTrail(AuditTrail(store), max_batch=4)
    events = _events() * 4

    async def one(event: AccessEvent) -> None:
        with group.deferring() as pending:
            await asyncio.to_thread(group.record, event)  # copies the context, as starlette does
        (queued,) = pending
        await group.settle(pending)
        assert queued.settled and queued.error is None

    async def many() -> None:
        await asyncio.gather(*(one(event) for event in events))

    asyncio.run(many())
    group.record(_events()[0])  # no deferring block: committed before it returns
    assert len(_trail_events(store)()) == len(events) + 1
    group.close()
    assert group.verify_chain().ok


def test_a_lone_record_on_a_quiet_loop_is_committed_there(store: Store) -> None:
    """With ``quiet`` saying the process serves nothing else, a record made on the event loop
    with no batch being written is committed by the loop itself: settled before the block
    ends, no writer thread started. Once the loop is not quiet, the writer thread commits,
    and goes on doing so until it has been idle for ``QUIET_AFTER_S``."""
    group = GroupCommitAuditTrail(AuditTrail(store))
    busy = False
    group.quiet = lambda: not busy

    async def lone() -> bool:
        with group.deferring() as pending:
            group.record(_events()[0])
        on_loop = pending[0].settled  # committed before the loop ran anything else
        await group.settle(pending)
        return on_loop

    async def run() -> None:
        nonlocal busy
        for event in _events():
            with group.deferring() as pending:
                group.record(event)
            assert pending[0].settled
            await group.settle(pending)
        busy = True
        assert not await lone()  # the writer thread's
        busy = False
        assert not await lone()  # the writer thread was busy a moment ago: still its own
        await asyncio.sleep(QUIET_AFTER_S * 2)
        assert await lone()

    asyncio.run(run())
    assert group.written_on_loop == len(_events()) + 1
    assert group._writer is not None  # started for the records made while busy only
    group.close()
    report = group.verify_chain()
    assert report.ok and report.records == len(_events()) + 3, report.problems


@pytest.mark.postgres
def test_a_quiet_loop_never_waits_for_a_chain_another_process_holds(pg_database_url: str) -> None:
    """The loop only tries the chain's lock: held elsewhere (here by this test's transaction,
    in a server by another process), the record goes to the writer thread and the loop is
    free at once; the AuditEvent is committed when the chain is released."""
    store = Store.open(pg_database_url)
    store.init()
    group = GroupCommitAuditTrail(AuditTrail(store))
    group.quiet = lambda: True

    async def run() -> None:
        with store.transaction() as conn:
            AuditTrail(store).lock(conn)
            with group.deferring() as pending:
                group.record(_events()[0])  # returns: it did not wait for the lock held here
            assert not pending[0].settled and group.written_on_loop == 0
            waiting = asyncio.ensure_future(group.settle(pending))
            await asyncio.sleep(0.2)
            assert not waiting.done()  # the writer thread waits for the chain meanwhile
        await waiting  # released: committed

    try:
        asyncio.run(run())
        group.close()
        report = group.verify_chain()
        assert report.ok and report.records == 1, report.problems
    finally:
        store.close()


def test_records_that_queue_while_the_writer_waits_for_the_chain_join_its_batch(store: Store) -> None:
    """The group commit takes its batch after it has become the chain's appender: another
    writer (here this test's own transaction; in a server, the other processes) holds the
    chain, and everything queued meanwhile goes into the one transaction that follows."""
    group = GroupCommitAuditTrail(AuditTrail(store))
    events = _events() * 3
    threads = [threading.Thread(target=group.record, args=(event,)) for event in events]
    with store.transaction() as conn:
        AuditTrail(store).lock(conn)  # the chain is taken: the first record's writer waits
        for thread in threads:
            thread.start()
        for _ in range(500):  # until every record is queued (the leader's own included)
            if len(group._queue) == len(events):
                break
            threading.Event().wait(0.01)
        assert len(group._queue) == len(events)
    for thread in threads:
        thread.join(timeout=60)
    assert group.batches == 1
    report = group.verify_chain()
    assert report.ok and report.records == len(events), report.problems


class _UnlockableTrail(AuditTrail):
    """The chain cannot be taken (the database went away before the batch was chosen)."""

    def lock(self, conn: Any, expected: int = 0) -> Any:
        raise RuntimeError("database unavailable")


def test_a_writer_that_fails_before_taking_its_batch_fails_what_waits(store: Store) -> None:
    group = GroupCommitAuditTrail(_UnlockableTrail(store))
    with pytest.raises(RuntimeError, match="database unavailable"):
        group.record(_events()[0])  # not left waiting for a batch that is never written
    assert group._queue == [] and group.batches == 0
