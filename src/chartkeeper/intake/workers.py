"""A bounded, ordered map over worker processes.

Results come back in input order (the store sees files in a stable order) and at most
``in_flight`` units are out at once, so memory stays flat however large the input.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    """One worker per core. The writer (this process) mostly waits on SQLite, so on 2 cores two
    workers beside it measured faster (1.33 s for the Synthea set) than one (1.72 s)."""
    return max(1, len(os.sched_getaffinity(0)))


def ordered_map(
    func: Callable[[T], R],
    items: Iterable[T],
    workers: int,
    warm_up: Callable[[], Any] | None = None,
) -> Iterator[tuple[T, R]]:
    """(item, func(item)) in order, computed in ``workers`` processes (inline when 0)."""
    if warm_up is not None:
        warm_up()  # load definitions before forking: children share them copy-on-write
    if workers <= 0:
        for item in items:
            yield item, func(item)
        return
    context = multiprocessing.get_context("fork")
    in_flight = workers * 4 + 2
    with context.Pool(processes=workers) as pool:
        pending: deque[tuple[T, Any]] = deque()
        for item in items:
            pending.append((item, pool.apply_async(func, (item,))))
            if len(pending) >= in_flight:
                head, result = pending.popleft()
                yield head, result.get()
        while pending:
            head, result = pending.popleft()
            yield head, result.get()
