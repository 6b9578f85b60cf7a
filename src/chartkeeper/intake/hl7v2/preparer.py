"""Preparing MLLP messages in worker processes, several per round trip.

One ``ProcessPoolExecutor.submit`` per message costs the listener's event-loop process a
pickled call, the executor's queue-feeder and result threads, a future and a cross-thread
wake-up per message, each competing for the GIL with the writer thread. Messages that
arrive together (from any connection) are instead sent in chunks, spread over the workers
and answered in one result each. A chunk holds at most ``max_chunk`` (4) messages: with
chunks of up to 16, clients that each wait for their ACK tend to sit in the same stage
together (workers busy, then the writer, then idle workers); a first run on a loaded
machine showed lower rates with them. Small chunks keep preparing and writing overlapped.
The prepared message comes back without its raw bytes (the listener already has them), so
they are not pickled twice.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from functools import partial

from chartkeeper.intake.hl7v2.process import V2Prepared, prepare_v2


def prepare_many(items: list[tuple[bytes, str]]) -> list[V2Prepared]:
    """``prepare_v2`` for each (raw, source), in a worker; the raw bytes are left out of the answer."""
    out = []
    for raw, source in items:
        prepared = prepare_v2(raw, source)
        prepared.raw = b""
        out.append(prepared)
    return out


class ChunkedPreparer:
    """Collect the messages that arrive in one pass of the event loop; prepare them in chunks."""

    def __init__(self, pool: Executor, workers: int, max_chunk: int = 4) -> None:
        self.pool = pool
        self.workers = max(1, workers)
        self.max_chunk = max_chunk
        self._pending: list[tuple[bytes, str, asyncio.Future[V2Prepared]]] = []
        self._scheduled = False

    async def prepare(self, raw: bytes, source: str) -> V2Prepared:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[V2Prepared] = loop.create_future()
        self._pending.append((raw, source, future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush, loop)
        return await future

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        self._scheduled = False
        pending, self._pending = self._pending, []
        size = min(self.max_chunk, max(1, -(-len(pending) // self.workers)))  # spread over the workers
        for start in range(0, len(pending), size):
            chunk = pending[start : start + size]
            try:
                done = asyncio.wrap_future(
                    self.pool.submit(prepare_many, [(raw, source) for raw, source, _ in chunk]), loop=loop
                )
            except Exception as exc:  # the pool is shut down or broken: every waiting message fails
                _fail(chunk, exc)
                continue
            done.add_done_callback(partial(_deliver, chunk))


def _deliver(
    chunk: list[tuple[bytes, str, asyncio.Future[V2Prepared]]], done: asyncio.Future[list[V2Prepared]]
) -> None:
    if done.cancelled():
        _fail(chunk, asyncio.CancelledError())
        return
    error = done.exception()
    if error is not None:
        _fail(chunk, error)
        return
    for (raw, _, future), prepared in zip(chunk, done.result(), strict=True):
        prepared.raw = raw
        if not future.done():
            future.set_result(prepared)


def _fail(chunk: list[tuple[bytes, str, asyncio.Future[V2Prepared]]], error: BaseException) -> None:
    for _, _, future in chunk:
        if not future.done():
            future.set_exception(error)
