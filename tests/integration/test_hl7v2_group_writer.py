"""The MLLP listener's group writer, on SQLite and PostgreSQL: what committed groups leave in
the message log (every message's bytes and source as received) and the per-resource message
times, and how a re-sent group is logged."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from chartkeeper.intake.hl7v2.process import V2Prepared, prepare_v2
from chartkeeper.intake.hl7v2.writer import GroupWriter
from chartkeeper.store.repository import Store
from chartkeeper.store.schema import hl7_message, hl7_resource_time

from hl7v2_samples import oru

# a sender's address and a message as they may come: a tab, a backslash and a newline in the
# source, an escape sequence and a non-ASCII name in the bytes
AWKWARD_SOURCE = "peer\t10.0.0.7:2575\\lab\nline"


def _submit_all(store: Store, prepared: list[V2Prepared]) -> list[str]:
    async def send() -> list[str]:
        writer = GroupWriter(store)
        writer.start()
        try:
            outcomes = await asyncio.gather(*(writer.submit(p) for p in prepared))
        finally:
            writer.stop()
        return [outcome.ack_code for outcome in outcomes]

    return asyncio.run(send())


def test_a_group_logs_every_message_byte_for_byte_and_times_every_resource(store: Store) -> None:
    raws = [oru(cid=f"G{n}", mrn=str(n % 3)).replace("Doe^Jane", "Müller^Zoë").encode() for n in range(9)]
    prepared = [prepare_v2(raw, AWKWARD_SOURCE) for raw in raws]
    assert all(p.rejection is None for p in prepared)

    assert _submit_all(store, prepared) == ["AA"] * 9

    with store.engine.connect() as conn:
        logged = conn.execute(
            select(
                hl7_message.c.control_id, hl7_message.c.source, hl7_message.c.status, hl7_message.c.content
            )
        ).all()
        times = {
            (row.res_type, row.res_id): row.message_time for row in conn.execute(select(hl7_resource_time))
        }
    assert sorted(row.control_id for row in logged) == sorted(f"G{n}" for n in range(9))
    by_id = {row.control_id: row for row in logged}
    for n, raw in enumerate(raws):
        row = by_id[f"G{n}"]
        assert bytes(row.content) == raw
        assert row.source == AWKWARD_SOURCE
        assert row.status == "applied"
    written = {(w.res_type, w.res_id) for p in prepared for w in p.writes}
    assert set(times) == written
    assert set(times.values()) == {prepared[0].message_time}

    # the same messages again: acknowledged, logged as duplicates, nothing new timed
    again = [prepare_v2(raw, AWKWARD_SOURCE) for raw in raws]
    assert _submit_all(store, again) == ["AA"] * 9
    with store.engine.connect() as conn:
        statuses = [row.status for row in conn.execute(select(hl7_message.c.status))]
        count = len(conn.execute(select(hl7_resource_time.c.res_id)).all())
    assert sorted(statuses) == ["applied"] * 9 + ["duplicate"] * 9
    assert count == len(written)


def test_a_failure_after_the_commit_does_not_stop_the_writer(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anything that breaks after a group's commit (here the statistics keeper) is logged; the
    group keeps its answers and the next messages are still written and answered."""
    calls = []

    def broken(resources: int) -> None:
        calls.append(resources)
        if len(calls) == 1:
            raise RuntimeError("a bug after the commit")

    monkeypatch.setattr(store.statistics, "wrote", broken)
    first = [prepare_v2(oru(cid="F1").encode(), "test")]
    later = [prepare_v2(oru(cid=f"F{n}", mrn=str(n)).encode(), "test") for n in (2, 3)]

    async def send() -> tuple[list[str], list[str]]:
        writer = GroupWriter(store)
        writer.start()
        try:
            before = [(await writer.submit(p)).ack_code for p in first]
            after = [(await asyncio.wait_for(writer.submit(p), 30)).ack_code for p in later]
        finally:
            writer.stop()
        return before, after

    assert asyncio.run(send()) == (["AA"], ["AA", "AA"])
    assert len(calls) == 3
    with store.engine.connect() as conn:
        applied = sorted(row.control_id for row in conn.execute(select(hl7_message.c.control_id)))
    assert applied == ["F1", "F2", "F3"]
