"""What real-time matching adds to a write: the FHIR API's Patient create, and a bulk ingest.

Prints one JSON object. A SQLite store gets N demo registrations (the demo generator's
Patients, ``benchmarks/mpi.py``), an ``mpi scan`` trains the model and builds the index; then:

* ``POST /fhir/Patient`` of fresh near-duplicates (one typo in the family name) through two
  apps on the same store, one with the MPI's listener as ``production_app`` wires it (matching
  in a background thread) and one without (the peer), requests interleaved so both see the
  same load: response p50/p95 of each, how long after the request the Patient was matched
  (queued), and how many of the originals the matched path queued.
* ``chartkeeper ingest`` of an NDJSON file of ``--bulk`` further near-duplicates, with and
  without matching (the CLI's ``--no-mpi``), each into a copy of the same store.

    python benchmarks/mpi_live.py [--patients 10000] [--creates 100] [--bulk 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from fastapi.testclient import TestClient

from chartkeeper.api import create_app
from chartkeeper.config import Settings
from chartkeeper.intake.prepare import resource_write
from chartkeeper.intake.service import ingest
from chartkeeper.mpi.live import LiveMatching
from chartkeeper.mpi.service import MpiService
from chartkeeper.security.caller import Caller, local_caller
from chartkeeper.security.ports import MemoryAuditSink
from chartkeeper.store.repository import Store

CALLER = local_caller("benchmark")


class _Static:
    def caller_from_bearer(self, token: str, source_address: str | None) -> Caller:
        return CALLER


def _near_duplicate(original: dict[str, Any], new_id: str | None) -> dict[str, Any]:
    copy = {k: v for k, v in original.items() if k not in ("meta", "id")}
    if new_id:
        copy["id"] = new_id
    copy["identifier"] = [{"system": "urn:oid:1.2.3.9", "value": f"NEW-{new_id or id(copy)}"}]
    names = copy.get("name") or [{}]
    if names[0].get("family"):
        family = names[0]["family"]
        copy["name"] = [{**names[0], "family": family[:-1] + family[-1].upper() + "e"}, *names[1:]]
    return copy


def _pct(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 1),
        "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
    }


def load(url: str, n: int) -> None:
    from mpi import demo_patients  # benchmarks/mpi.py

    store = Store.open(url)
    store.init()
    batch = []
    for pat in demo_patients(n):
        batch.append(resource_write("Patient", pat["id"], pat))
        if len(batch) == 5000:
            store.apply(batch)
            batch = []
    store.apply(batch)
    MpiService(store, MemoryAuditSink()).scan(CALLER)
    store.close()


def api_creates(url: str, count: int) -> dict[str, Any]:
    store = Store.open(url)
    service = MpiService(store, MemoryAuditSink())
    live = LiveMatching(service, background=True)  # as production_app wires it
    settings = Settings(database_url="unused")
    apps = {
        "with_mpi": create_app(
            settings, store=store, authenticator=_Static(), audit=MemoryAuditSink(), patients_written=live
        ),
        "without_mpi": create_app(settings, store=store, authenticator=_Static(), audit=MemoryAuditSink()),
    }
    originals = [v.content for _, v in zip(range(count * 2), store.iter_current("Patient"), strict=False)]
    times: dict[str, list[float]] = {name: [] for name in apps}
    matched_after: list[float] = []
    queued = 0
    headers = {"Authorization": "Bearer x"}
    with (
        TestClient(apps["with_mpi"], headers=headers) as matched,
        TestClient(apps["without_mpi"], headers=headers) as plain,
    ):
        for warm in (matched, plain):  # first request: route compilation, the scorer's SQL
            warm.post("/fhir/Patient", json=_near_duplicate(originals[0] or {}, None))
        for n, original in enumerate(originals[1:]):
            assert original is not None
            name, client = ("with_mpi", matched) if n % 2 == 0 else ("without_mpi", plain)
            started = time.perf_counter()
            answer = client.post("/fhir/Patient", json=_near_duplicate(original, None))
            times[name].append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 201, answer.text
            if name == "with_mpi":
                live.drain()  # the background match of this Patient, measured from the request
                matched_after.append((time.perf_counter() - started) * 1000)
                new_id = answer.json()["id"]
                queued += any(
                    original["id"] in (i.a, i.b) and new_id in (i.a, i.b) for i in service.queue(CALLER, 1000)
                )
    live.close()
    store.close()
    out: dict[str, Any] = {name: _pct(values) for name, values in times.items()}
    out["matched_after_ms"] = _pct(matched_after)
    out["match_ms_mean"] = round(1000 * live.stats.seconds / max(live.stats.patients, 1), 1)
    out["added_ms"] = {k: round(out["with_mpi"][k] - out["without_mpi"][k], 1) for k in ("p50", "p95")}
    out["creates_each"] = len(times["with_mpi"])
    out["originals_queued"] = queued
    return out


def bulk(url: str, workdir: Path, count: int) -> dict[str, Any]:
    store = Store.open(url)
    originals = [v.content for v in store.iter_current("Patient")][-count:]
    store.close()
    path = workdir / "near.ndjson"
    path.write_bytes(
        b"".join(orjson.dumps(_near_duplicate(o or {}, f"bulk-{n}")) + b"\n" for n, o in enumerate(originals))
    )
    out: dict[str, Any] = {"patients": len(originals)}
    source = Path(url.removeprefix("sqlite:///"))
    for name in ("without_mpi", "with_mpi"):
        copy = workdir / f"{name}.db"
        shutil.copy(source, copy)
        target = Store.open(f"sqlite:///{copy}")
        live = LiveMatching(MpiService(target, MemoryAuditSink())) if name == "with_mpi" else None
        started = time.perf_counter()
        report = ingest(target, [path], workers=1, patients_written=live, merger=live)
        seconds = time.perf_counter() - started
        assert report.rejected == 0
        out[name] = {"seconds": round(seconds, 2), "patients_per_s": round(len(originals) / seconds)}
        if live is not None:
            out[name]["mpi"] = live.stats.as_json()
            out[name]["splink_calls"] = len(live.service.matcher.timing.score_ms)
        target.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--creates", type=int, default=100, help="API creates per app")
    parser.add_argument("--bulk", type=int, default=2_000, help="near-duplicates in the bulk ingest")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ck-mpi-live-") as tmp:
        workdir = Path(tmp)
        url = f"sqlite:///{workdir / 'base.db'}"
        started = time.perf_counter()
        load(url, args.patients)
        out: dict[str, Any] = {
            "patients": args.patients,
            "setup_seconds": round(time.perf_counter() - started, 1),
            "load_average": os.getloadavg()[0],
        }
        out["api_patient_create_ms"] = api_creates(url, args.creates)
        out["bulk_ingest"] = bulk(url, workdir, args.bulk)
        out["load_average_after"] = os.getloadavg()[0]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
