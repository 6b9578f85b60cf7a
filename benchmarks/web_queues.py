"""Server-side render time of the work-queue pages, against the service calls they are made of.

Loads the Synthea sample (41 patients, 779 encounters) and ``--people`` synthetic registrations
with 10% re-registrations, scans them with the MPI, and times each page through the whole app
in-process (FastAPI TestClient: session, services, audit, Jinja), next to the bare service call
the page is built on (the peer: what the page adds on top of it), and ``CodingService.validate``
of everyone (what each coding page cost before the stored review). Prints one JSON object with
the load average before and after (the machine is shared).

    python benchmarks/web_queues.py [--people 400] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from chartkeeper.api.app import production_app
from chartkeeper.coding.service import CodingService
from chartkeeper.coding.validate import default_validator
from chartkeeper.config import Settings
from chartkeeper.intake.service import ingest
from chartkeeper.mpi.service import MpiService
from chartkeeper.security.audit import AuditTrail
from chartkeeper.security.caller import local_caller
from chartkeeper.security.ports import MemoryAuditSink
from chartkeeper.security.service import SecurityService
from chartkeeper.store.repository import Store

ROOT = Path(__file__).resolve().parents[1]
SYNTHEA = ROOT.parent / "shared" / "data" / "synthea-r4"
sys.path.insert(0, str(ROOT / "tests"))
from mpi_people import population, write  # noqa: E402  (the tests' synthetic registrations)

PASSWORD = "benchmark password"


def ms(fn: Callable[[], Any], runs: int) -> dict[str, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)}


def client_for(app: Any, username: str) -> TestClient:
    client = TestClient(app)
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    client.post("/login", data={"csrf": token.group(1), "username": username, "password": PASSWORD})
    return client


def get(client: TestClient, url: str) -> Callable[[], None]:
    def run() -> None:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=400)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    load_before = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="ck-queues-bench-"))
    store = Store.open(f"sqlite:///{tmp / 'bench.db'}")
    store.init()
    ingest(store, [p for p in SYNTHEA.glob("*.json") if p.name != "COUNTS.json"], workers=1)
    people, _ = population(args.people, args.people // 10)
    write(store, people)
    op = local_caller("bench")
    mpi = MpiService(store, MemoryAuditSink())
    mpi.scan(op)
    security = SecurityService(store, AuditTrail(store))
    security.initialize()
    security.accounts.add_user("clerk", ["clerk"], password=PASSWORD)
    security.accounts.add_user("coder", ["coder"], password=PASSWORD)
    app = production_app(Settings(database_url="unused", export_dir=str(tmp / "export")), store)
    coding = CodingService(store, MemoryAuditSink())
    default_validator()  # the code set loaded once, outside the timing
    started = time.perf_counter()
    coding.counts(op)  # the first use reviews and stores every patient
    first_use_ms = round((time.perf_counter() - started) * 1000, 1)
    encounter = coding.queue(op, limit=1)[0].encounter_id
    pair = mpi.queue(op, limit=1)[0].pair_id
    clerk, coder = client_for(app, "clerk"), client_for(app, "coder")
    runs = args.runs
    result = {
        "patients": len(people) + 41,
        "open_pairs": len(mpi.queue(op, limit=10_000)),
        "runs": runs,
        "pages": {
            "overview (coder)": ms(get(coder, "/queues"), runs),
            "coding queue": ms(get(coder, "/queues/coding"), runs),
            "coding encounter": ms(get(coder, f"/queues/coding/{encounter}"), runs),
            "dnfb": ms(get(coder, "/queues/dnfb"), runs),
            "duplicates": ms(get(clerk, "/queues/duplicates"), runs),
            "duplicate pair": ms(get(clerk, f"/queues/duplicates/{pair}"), runs),
        },
        "services": {
            "CodingService.counts (first use: every patient reviewed and stored)": first_use_ms,
            "CodingService.validate (all)": ms(lambda: coding.validate(op), runs),
            "CodingService.counts (stored review)": ms(lambda: coding.counts(op), runs),
            "MpiService.queue (50)": ms(lambda: mpi.queue(op, limit=50), runs),
        },
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }
    store.close()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
