"""A registration's clinical history: its visit schedule, and the transaction Bundle of its chart.

A first registration covers up to 10 years before the reference date (or death), with 5-40 visits,
more for the chronically ill, and 120-240 for a patient followed closely (``Chart.frequent``: the
charts of thousands of resources a records department must still open quickly); a duplicate registration covers a short slice of that time with 1-5
visits. A person who dies does so at the end of a final admission of their first registration.
``SPARSE_RATE`` of registrations are planted with an incomplete Patient (see :mod:`~chartkeeper.demo.patient`).
"""

from __future__ import annotations

from chartkeeper.demo.builders import Resource, transaction
from chartkeeper.demo.chart import Chart
from chartkeeper.demo.clock import HISTORY_DAYS, REF
from chartkeeper.demo.encounters import encounter
from chartkeeper.demo.patient import patient

SPARSE_RATE = 0.03
FREQUENT_VISITS = 120


def build_chart(c: Chart) -> Resource:
    """Generate the registration's Patient and history; return them as one transaction Bundle."""
    p, r, truth = c.p, c.r, c.truth
    sparse = r() < SPARSE_RATE
    c.res.append(patient(c, sparse))
    if truth is not None:
        if sparse:
            truth.sparse_patient_ids.append(c.pid)
        if p.deceased is not None:
            truth.deceased_patient_ids.append(c.pid)
    dies_here = p.deceased is not None and not c.dup
    days, end = _visit_days(c, dies_here)
    _visits(c, days, end, dies_here)
    if dies_here:
        for req, _ in c.active_meds.values():
            req["status"] = "stopped"
    return transaction(f"{c.heads['Bundle']}000000", c.res, truth)


def _visit_days(c: Chart, dies_here: bool) -> tuple[list[int], int]:
    """The sorted visit days (may repeat: a visit that overlaps the previous one moves later) and the
    last day of the registration's history."""
    p, r = c.p, c.r
    end = p.deceased if p.deceased is not None else REF - 1
    lo = max(p.birth, end - HISTORY_DAYS)
    if c.dup:
        span = min(end - lo, 60 + int(r() * 1000))
        lo = lo + int(r() * max(0, end - lo - span))
        end = lo + span
        n = 1 + int(r() * 5)
    else:
        n = 5 + int(35 * r() ** 4.5) + min(4, len(p.chronic) // 2)
    if c.frequent:
        n = FREQUENT_VISITS + n * FREQUENT_VISITS // 40
    n = max(1, min(FREQUENT_VISITS * 2 if c.frequent else 40, n, (end - lo) // 3 + 1))
    days = sorted(lo + int(r() * (end - lo + 1)) for _ in range(n))
    if dies_here:
        days[-1] = max(lo, end - int(r() * 6))  # the final admission, ending in death
        days.sort()
    return days, end


def _visits(c: Chart, days: list[int], end: int, dies_here: bool) -> None:
    """Generate the visits in order, each documenting the chronic conditions that began before it."""
    p, r = c.p, c.r
    chronic = p.chronic
    next_chronic = 0
    prev_end = -1
    for idx, planned in enumerate(days):
        day = prev_end + 1 if planned <= prev_end else planned
        if day > end:
            break
        final = dies_here and idx == len(days) - 1
        age = (day - p.birth) / 365.25
        if final:
            cls = "IMP"
        else:
            u = r()
            p_imp = 0.035 + (0.04 if age >= 65 else 0.0) + 0.006 * len(chronic)
            cls = "IMP" if u < p_imp else ("EMER" if u < p_imp + 0.10 else "AMB")
        new_chronic: list[tuple[str, int]] = []
        while next_chronic < len(chronic) and chronic[next_chronic][1] <= day:
            new_chronic.append(chronic[next_chronic])
            next_chronic += 1
        prev_end = encounter(c, cls, day, age, new_chronic, idx == 0, final, end)
