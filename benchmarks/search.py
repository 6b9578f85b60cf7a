"""Latency of the hot FHIR searches on a loaded database (e.g. ``chartkeeper demo`` data).

Prints one JSON object: per search, p50/p95/max milliseconds over ``--samples`` runs with
values drawn from the data itself (a patient's family name and birth date; a patient's id,
one of its Observation codes and a date), against the 25 ms p95 target. Load the data first:

    chartkeeper --db URL demo --patients 10000 --out DIR && chartkeeper --db URL ingest DIR
    python benchmarks/search.py --db URL [--samples 200]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable

from chartkeeper.fhir.search.query import parse_search
from chartkeeper.store.repository import Store

TARGET_P95_MS = 25.0


def _sample_patients(store: Store, n: int, rng: random.Random) -> list[dict]:
    page = store.search(parse_search("Patient", [("_count", "1000"), ("_sort", "_id")]))
    patients = [m.content for m in page.matches if m.content]
    return rng.sample(patients, min(n, len(patients)))


def _timed(run: Callable[[], int]) -> tuple[float, int]:
    start = time.perf_counter()
    found = run()
    return (time.perf_counter() - start) * 1000, found


def _summary(times: list[float], found: list[int]) -> dict[str, float]:
    ordered = sorted(times)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(p95, 2),
        "max_ms": round(ordered[-1], 2),
        "mean_matches": round(statistics.mean(found), 1),
        "meets_target": p95 <= TARGET_P95_MS,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    store = Store.open(args.db)
    rng = random.Random(7)
    patients = _sample_patients(store, args.samples, rng)
    results: dict[str, object] = {
        "db": store.dialect,
        "samples": len(patients),
        "target_p95_ms": TARGET_P95_MS,
    }
    times: dict[str, list[float]] = {"patient_family_birthdate": [], "observation_patient_code_date": []}
    found: dict[str, list[int]] = {k: [] for k in times}
    for patient in patients:
        family = patient["name"][0]["family"]
        query = parse_search("Patient", [("family", family), ("birthdate", patient["birthDate"])])
        ms, n = _timed(lambda q=query: len(store.search(q).matches))
        times["patient_family_birthdate"].append(ms)
        found["patient_family_birthdate"].append(n)
        first = store.search(
            parse_search("Observation", [("patient", patient["id"]), ("_count", "1")])
        ).matches
        code = first[0].content["code"]["coding"][0] if first and first[0].content else {"code": "none"}
        obs = parse_search(
            "Observation",
            [
                ("patient", patient["id"]),
                ("code", f"{code.get('system', '')}|{code['code']}"),
                ("date", "ge2020"),
            ],
        )
        ms, n = _timed(lambda q=obs: len(store.search(q).matches))
        times["observation_patient_code_date"].append(ms)
        found["observation_patient_code_date"].append(n)
    for name in times:
        results[name] = _summary(times[name], found[name])
    store.close()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
