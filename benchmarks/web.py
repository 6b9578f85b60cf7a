"""Server-side render time of the workspace: the chart of a patient with 1,000+ resources and a
patient search by misspelled name among N demo patients (default 10,000), on SQLite.

The chart is that of the patient with the most resources (the demo follows every 500th
registration closely: 1,200-2,400 resources); the search is for that patient's given name and
family name with two letters swapped ("Haely" for "Haley").

The requests go through the whole app in-process (FastAPI TestClient: routing, session, the
services, audit, Jinja) so the figure is what the server spends, without the network.
Prints one JSON object with p50/p95 per page and the targets (chart <= 200 ms, search <= 100 ms).

    python benchmarks/web.py [--patients 10000] [--runs 40] [--db sqlite:///path (loaded on first use, reused after)]
        [--gc-freeze]

``--gc-freeze`` moves everything alive after the first (warm-up) requests out of the cyclic
garbage collector's reach (``gc.freeze()``), as a server process can after start-up: a chart
allocates ~100,000 objects, and without it every few requests a full collection walks the
whole heap (the code sets, validator and search tables), which is the p95 tail.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import quote_plus

from api import top_patients  # benchmarks/api.py, beside this script
from fastapi.testclient import TestClient

from chartkeeper.api.app import production_app
from chartkeeper.config import Settings
from chartkeeper.demo.loader import load_demo
from chartkeeper.security.service import SecurityService
from chartkeeper.store.models import AccessFilter, EverythingScope
from chartkeeper.store.repository import Store

PASSWORD = "benchmark password"
TARGETS_MS = {"chart": 200.0, "search": 100.0}


def biggest_patient(store: Store) -> tuple[str, str]:
    """(id, misspelled "given family") of the patient with the most resources."""
    top = top_patients(store, 1)[0]
    patient = store.read("Patient", top.patient_id)
    name = patient["name"][0]
    family = name["family"]
    typo = family[:-3] + family[-2] + family[-3] + family[-1] if len(family) > 3 else family + "e"
    return top.patient_id, f"{name['given'][0]} {typo}"


def _p50_p95(samples: list[float], prefix: str = "") -> dict[str, float]:
    samples = sorted(samples)
    return {
        f"{prefix}p50_ms": round(statistics.median(samples), 1),
        f"{prefix}p95_ms": round(samples[int(len(samples) * 0.95) - 1], 1),
    }


def timed(client: TestClient, url: str, runs: int) -> dict[str, float]:
    """Wall-clock time per request, and the CPU time this process spent on it (all threads):
    on a machine shared with other work the wall clock mostly measures waiting for a core,
    the CPU time what the request costs."""
    client.get(url)  # warm
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        assert response.status_code == 200, response.text[-300:]
    return {**_p50_p95(wall), **_p50_p95(cpu, "cpu_")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--db", default=None)
    parser.add_argument("--gc-freeze", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ck-web-bench-"))
    store = Store.open(args.db or f"sqlite:///{tmp / 'bench.db'}")
    store.init()
    started = time.perf_counter()
    if not store.count_by_type().get("Patient"):
        load_demo(store, args.patients)
    load_seconds = time.perf_counter() - started
    security = SecurityService(store)
    security.initialize()
    if security.accounts.get_user("bench") is None:
        security.accounts.add_user("bench", ["clerk"], password=PASSWORD)
    app = production_app(Settings(database_url="unused", export_dir=str(tmp / "export")), store)
    chart_id, misspelled = biggest_patient(store)
    chart, search = f"/patients/{chart_id}", f"/patients?name={quote_plus(misspelled)}"
    with TestClient(app) as client:
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
        assert token is not None
        client.post("/login", data={"csrf": token.group(1), "username": "bench", "password": PASSWORD})
        if args.gc_freeze:
            client.get(chart)
            client.get(search)
            gc.collect()
            gc.freeze()
        figures = {
            "chart": timed(client, chart, args.runs),
            "search": timed(client, search, args.runs),
        }
    result = {
        "database": store.dialect,
        "demo_patients": args.patients,
        "gc_frozen": args.gc_freeze,
        "load_seconds": round(load_seconds, 1),
        "load_average": os.getloadavg(),
        "search_text": misspelled,
        "chart_resources": len(
            store.everything_keys(EverythingScope(chart_id, AccessFilter(types=None, patient_ids=None)))
        ),
        **figures,
        "targets_ms": TARGETS_MS,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
