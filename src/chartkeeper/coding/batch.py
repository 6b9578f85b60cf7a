"""Code suggestion for a whole file of phrases, on every core of the machine.

A coder's batch (a DNFB worklist's diagnosis texts, a legacy system's uncoded problem list) is
thousands of independent phrases, each a few milliseconds of pure-Python CPU work, so one
process uses one core however many the machine has. The phrases are therefore split among
worker processes **forked after the suggester is loaded**: the workers share its ~160 MB of
tables with the parent (copy on write) and start at once, instead of each loading the code
set again. Before the fork the loaded objects are moved out of the garbage collector's sight
(``gc.freeze``), so collections in the workers do not touch, and so copy, the shared pages.

The output is the same as one process gives, in the input's order: each phrase is suggested on
its own and the suggester's caches (typo corrections, leaf facts) only remember what they
would compute again. Where ``fork`` does not exist (Windows, macOS' default is ``spawn``, which
would reload everything per worker) or the batch is too small to pay for the workers, the
phrases are suggested in this process.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from itertools import islice

from chartkeeper.coding.models import Suggestion
from chartkeeper.coding.suggest import Suggester

#: Fewer phrases than this per worker are not worth a process: forking and collecting cost
#: about as much as suggesting that many phrases (~5 ms each) in place.
MIN_PER_WORKER = 100
#: Phrases sent to a worker at a time: large enough that sending costs little, small enough
#: that the workers finish together and the output streams.
CHUNK = 50

# What the forked workers suggest with: set in the parent just before the fork, read in the
# children (so one batch at a time per process, as the CLI runs it). A module global because
# the workers' tasks cannot carry a suggester (pickling it would copy the tables the fork
# shares).
_shared: tuple[Suggester, int] | None = None


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, which containers narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def plan_workers(phrases: int, workers: int | None) -> int:
    """How many worker processes a batch of ``phrases`` gets: ``workers`` when given (0 or None
    means one per available core), fewer when the batch is small, 1 (this process) where
    ``fork`` does not exist."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1  # pragma: no cover - not on Linux
    wanted = workers if workers else available_cores()
    return max(1, min(wanted, phrases // MIN_PER_WORKER))


def suggest_all(
    suggester: Suggester, phrases: Sequence[str], limit: int, workers: int | None = None
) -> Iterator[list[Suggestion]]:
    """The ``limit`` best codes for each phrase, in the phrases' order, spread over ``workers``
    processes (``plan_workers``). Yields one list per phrase as soon as it and those before it
    are done, so a caller can stream them out."""
    count = plan_workers(len(phrases), workers)
    if count <= 1:
        for phrase in phrases:
            yield suggester.suggest(phrase, limit)
        return
    global _shared
    _shared = (suggester, limit)
    gc.collect()
    gc.freeze()
    try:
        # an executor, not multiprocessing.Pool: when a worker dies (out of memory, a signal) the
        # executor fails every pending phrase with BrokenProcessPool; the pool would wait forever
        # for the dead worker's share
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(count, mp_context=context) as pool:
            for done in pool.map(_suggest_chunk, _chunks(phrases, CHUNK)):
                yield from done
    finally:
        gc.unfreeze()
        _shared = None


def _chunks(phrases: Sequence[str], size: int) -> Iterator[list[str]]:
    it = iter(phrases)
    while chunk := list(islice(it, size)):
        yield chunk


def _suggest_chunk(chunk: list[str]) -> list[list[Suggestion]]:
    """A worker's share: runs in a forked child, on the suggester the parent loaded."""
    assert _shared is not None, "suggest_all sets the suggester before forking"
    suggester, limit = _shared
    return [suggester.suggest(phrase, limit) for phrase in chunk]
