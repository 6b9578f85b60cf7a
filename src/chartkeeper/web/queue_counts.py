"""How many items wait in each queue, for the overview (through the queues' own services).

The duplicates count asks ``MpiService.queue`` for up to ``DUPLICATE_COUNT_CAP`` pairs (it has
no count of its own) and says "200 or more" beyond; the coding counts come from
``CodingService.counts``: the stored review the coding queue and the DNFB report are read from,
summed (no encounter is validated again unless its patient's record changed).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from chartkeeper.web.pages import User
from chartkeeper.web.queue_services import coding, mpi

DUPLICATE_COUNT_CAP = 200


@dataclass(frozen=True, slots=True)
class QueueCount:
    """One row of the overview: the queue, where it is, how many items and what they are."""

    name: str
    href: str
    count: str
    unit: str


def duplicate_count(request: Request, user: User) -> QueueCount:
    found = len(mpi(request).queue(user.caller, limit=DUPLICATE_COUNT_CAP))
    count = f"{DUPLICATE_COUNT_CAP} or more" if found >= DUPLICATE_COUNT_CAP else str(found)
    return QueueCount("Possible duplicates", "/queues/duplicates", count, "pairs to review")


def coding_counts(request: Request, user: User) -> list[QueueCount]:
    totals = coding(request).counts(user.caller)
    return [
        QueueCount("Coding", "/queues/coding", str(totals.queued), "encounters to code"),
        QueueCount(
            "Discharged, not final billed (DNFB)",
            "/queues/dnfb",
            str(totals.unbilled),
            "finished encounters not ready to bill",
        ),
    ]
