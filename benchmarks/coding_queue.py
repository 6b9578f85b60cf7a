"""The coding queue, the DNFB report and the queue counts: stored review against from scratch.

Loads a demo population (``chartkeeper.demo.loader.load_demo``) into a SQLite file under /tmp
(kept and reused: ``--db``), then times, through ``CodingService`` with an in-memory audit sink:

* **from scratch** (the peer, in the same run): what every visit cost before the stored review:
  every encounter read and validated (``Snapshot.load`` + ``review_snapshot``), then the page;
* **cold**: the stored review emptied before each run, so the call reviews and stores everyone;
* **warm**: nothing changed since the last call;
* **warm, one patient changed**: one Encounter's status written before each run (a different
  patient each time), so the call reviews that one patient again.

Also the fingerprint query alone, and the load average before and after (the machine is shared).
Prints one JSON object.

    python benchmarks/coding_queue.py [--patients 3000] [--seed 1] [--runs 5] [--db PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from chartkeeper.coding.compartments import TYPES
from chartkeeper.coding.service import CodingService
from chartkeeper.coding.validate import default_validator
from chartkeeper.demo.loader import load_demo
from chartkeeper.security.caller import local_caller
from chartkeeper.security.ports import MemoryAuditSink
from chartkeeper.store import coding_review as sql
from chartkeeper.store.repository import Store
from chartkeeper.store.resources import resource_write

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import coding_oracle  # noqa: E402  (the from-scratch computation the tests hold the stored review to)

AS_OF = date(2030, 1, 1)
PAGE = 50


def timed(fn: Callable[[], Any], runs: int, before: Callable[[], None] | None = None) -> dict[str, float]:
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)}


def load(db: Path, patients: int, seed: int) -> tuple[Store, float | None]:
    fresh = not db.exists()
    store = Store.open(f"sqlite:///{db}")
    store.init()
    if not fresh:
        return store, None
    start = time.perf_counter()
    report = load_demo(store, patients, seed, workers=1)
    assert report.rejected == 0
    return store, round(time.perf_counter() - start, 1)


class Toggler:
    """Writes one Encounter's status before each timed run: a different patient every time."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.ids = [v.res_id for v in store.iter_current("Encounter")][::97]
        self.n = 0

    def __call__(self) -> None:
        encounter = self.store.read("Encounter", self.ids[self.n % len(self.ids)])
        encounter["status"] = "in-progress" if encounter.get("status") == "finished" else "finished"
        self.store.apply([resource_write("Encounter", encounter["id"], encounter)])
        self.n += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", type=Path, default=None)
    args = parser.parse_args()
    db = args.db or Path(f"/tmp/ck-coding-queue-{args.patients}-{args.seed}.db")
    load_before = os.getloadavg()
    store, load_seconds = load(db, args.patients, args.seed)
    op = local_caller("bench")
    service = CodingService(store, MemoryAuditSink())
    default_validator()  # the code set and edits loaded once, outside every timing

    def clear() -> None:
        with store.transaction() as conn:
            sql.clear(conn)

    calls: dict[str, Callable[[], Any]] = {
        "counts": lambda: service.counts(op),
        "queue page 1": lambda: service.queue_page(op, 1, PAGE),
        "dnfb page 1": lambda: service.dnfb_page(op, AS_OF, 1, PAGE),
    }
    scratch: dict[str, Callable[[], Any]] = {
        "counts": lambda: coding_oracle.from_scratch(store, op, AS_OF),
        "queue page 1": lambda: coding_oracle.from_scratch(store, op, AS_OF).queue[:PAGE],
        "dnfb page 1": lambda: coding_oracle.from_scratch(store, op, AS_OF).dnfb[:PAGE],
    }
    runs = args.runs
    toggle = Toggler(store)
    results: dict[str, Any] = {}
    for name, call in calls.items():
        results[name] = {
            "from scratch (peer)": timed(scratch[name], max(1, runs // 2)),
            "stored, cold (everyone reviewed and stored)": timed(call, max(1, runs // 2), before=clear),
            "stored, warm (nothing changed)": timed(call, runs),
            "stored, warm (one patient changed)": timed(call, runs, before=toggle),
        }
    with store.reading() as conn:
        stamps = timed(lambda: sql.stamps(conn, TYPES), runs)
        heads = sql.heads(conn)
        size = sum(len(text) for _fp, text in sql.bodies(conn, list(heads)).values())
    totals = service.counts(op)
    counts = store.count_by_type()
    expected = coding_oracle.from_scratch(store, op, AS_OF)
    assert service.queue_page(op, 1, 10**7).rows == expected.queue  # the figures are of equal answers
    print(
        json.dumps(
            {
                "database": str(db),
                "demo": {"patients": args.patients, "seed": args.seed, "load_seconds": load_seconds},
                "record": {t: counts.get(t, 0) for t in TYPES},
                "queue": {"queued": totals.queued, "dnfb": totals.unbilled, "ready": totals.ready},
                "stored_rows": len(heads),
                "stored_reviews_bytes": size,
                "runs": runs,
                "calls": results,
                "fingerprint query (stamps, all compartments)": stamps,
                "loadavg_before": [round(x, 2) for x in load_before],
                "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            },
            indent=2,
        )
    )
    store.close()


if __name__ == "__main__":
    main()
