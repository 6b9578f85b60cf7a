"""The listener's chunked preparation: messages arriving together share worker round trips,
and each caller still gets its own message's result."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from chartkeeper.intake.hl7v2.preparer import ChunkedPreparer

from hl7v2_samples import oru


class CountingPool(ThreadPoolExecutor):
    def __init__(self) -> None:
        super().__init__(max_workers=2)
        self.calls: list[int] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.calls.append(len(args[0]))
        return super().submit(fn, *args, **kwargs)


def test_messages_arriving_together_share_round_trips_and_keep_their_results() -> None:
    pool = CountingPool()
    preparer = ChunkedPreparer(pool, workers=2)
    raws = [oru(f"P{i}", mrn=str(i)).encode() for i in range(9)]
    raws[4] = raws[4].replace(b"19700214|F", b"19991399|F")  # this one is rejected (PID-7)

    async def run() -> list[Any]:
        return await asyncio.gather(*(preparer.prepare(raw, f"conn{i}") for i, raw in enumerate(raws)))

    try:
        results = asyncio.run(run())
    finally:
        pool.shutdown()
    assert pool.calls == [4, 4, 1]  # chunks of at most 4, not nine calls
    assert [r.control_id for r in results] == [f"P{i}" for i in range(9)]
    assert [r.source for r in results] == [f"conn{i}" for i in range(9)]
    assert [r.raw for r in results] == raws  # given back by the listener, not pickled back
    assert [r.rejection is not None for r in results] == [i == 4 for i in range(9)]


def test_a_small_burst_is_spread_over_the_workers() -> None:
    pool = CountingPool()
    preparer = ChunkedPreparer(pool, workers=2)

    async def run() -> list[Any]:
        return await asyncio.gather(*(preparer.prepare(oru(f"S{i}").encode(), "c") for i in range(3)))

    try:
        results = asyncio.run(run())
    finally:
        pool.shutdown()
    assert pool.calls == [2, 1] and [r.control_id for r in results] == ["S0", "S1", "S2"]


def test_a_broken_pool_fails_every_waiting_message() -> None:
    pool = ThreadPoolExecutor(max_workers=1)
    pool.shutdown()
    preparer = ChunkedPreparer(pool, workers=1)

    async def run() -> list[Any]:
        return await asyncio.gather(
            preparer.prepare(b"x", "a"), preparer.prepare(b"y", "b"), return_exceptions=True
        )

    results = asyncio.run(run())
    assert len(results) == 2 and all(isinstance(r, RuntimeError) for r in results)
