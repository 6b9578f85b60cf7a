"""Per-stage CPU cost of ingest preparation (the worker-process part), in µs per resource.

Runs the pieces of ``chartkeeper.intake.prepare.prepare_document`` one stage at a time over
every bundle of the shared Synthea set, warms up once, takes the best of ``--runs`` runs per
stage, and prints one JSON object. Pin it to one core for stable numbers:

    taskset -c 1 .venv/bin/python benchmarks/prep_stages.py [--runs 3] [--data DIR]
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from chartkeeper.fhir.bundle import plan_bundle, resolve_plan, scan_conditional_references
from chartkeeper.fhir.resource import fingerprint, without_server_meta
from chartkeeper.fhir.search.extract import extract_index_values
from chartkeeper.fhir.validation import parse_json_issues, validate_resource
from chartkeeper.intake.models import DocumentUnit
from chartkeeper.intake.prepare import prepare_document
from chartkeeper.store.writer import index_rows

ROOT = Path(__file__).resolve().parents[1]
SYNTHEA = ROOT.parent / "shared" / "data" / "synthea-r4"


def load(folder: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted(folder.glob("*.json")) if p.name != "COUNTS.json"]


def best(runs: int, fn: Callable[[], Any], collect: bool = False) -> float:
    """Best of ``runs`` timings after a warm-up; the cyclic GC is off unless ``collect``.

    The stages are timed without the GC because its cost depends on everything else alive in
    the process (here: all bundles at once); ``prepare_document`` is timed both ways.
    """
    fn()  # warm-up
    times = []
    for _ in range(runs):
        gc.collect()
        if not collect:
            gc.disable()
        try:
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
        finally:
            gc.enable()
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, default=SYNTHEA)
    args = parser.parse_args()
    raws = load(args.data)
    result: dict[str, Any] = {"bundles": len(raws), "runs": args.runs}

    # First, before any stage has seen the data: prepare_document over patients the process has
    # not met (after warming up on the first few), as a worker meets them. Memo tables of dates
    # and strings only help within a patient here, whereas the warmed-up runs below hit them.
    warm, unseen = raws[:5], raws[5:]
    for raw in warm:
        prepare_document(DocumentUnit("bench", raw))
    unseen_count = sum(len(orjson.loads(raw)["entry"]) for raw in unseen)
    gc.collect()
    started = time.perf_counter()
    for raw in unseen:
        prepare_document(DocumentUnit("bench", raw))
    first_pass = (time.perf_counter() - started) / unseen_count * 1e6

    # Inputs for each stage, prepared outside the timed region.
    bundles = [orjson.loads(raw) for raw in raws]
    planned = []
    for bundle in bundles:
        plan = plan_bundle(bundle)
        scan_conditional_references(plan)
        resolve_plan(plan, None)
        planned.append(plan)
    resources = [e.resource for plan in planned for e in plan.entries if e.resource is not None]
    count = len(resources)
    stored = [without_server_meta(r) for r in resources]
    indexes = [extract_index_values(r) for r in stored]
    types = [str(r["resourceType"]) for r in stored]
    # plan/resolve mutate the bundle (ids, references): give each run fresh copies
    fresh: list[list[Any]] = []

    def parse() -> None:
        for raw in raws:
            parse_json_issues(raw)

    def bundle_validate() -> None:
        for bundle in bundles:
            validate_resource(bundle, entries=False)

    def plan_stage() -> None:
        for bundle in fresh.pop():
            plan = plan_bundle(bundle)
            scan_conditional_references(plan)
            resolve_plan(plan, None)

    def validate() -> None:
        for resource in resources:
            validate_resource(resource)

    def extract() -> None:
        for resource in stored:
            extract_index_values(resource)

    def fp() -> None:
        for resource in stored:
            fingerprint(resource)

    def dumps() -> None:
        for resource in stored:
            orjson.dumps(resource).decode()

    def rows() -> None:
        for res_type, index in zip(types, indexes, strict=True):
            index_rows(res_type, index)

    def total() -> None:
        for raw in raws:
            prepare_document(DocumentUnit("bench", raw))

    stages: dict[str, Callable[[], None]] = {
        "parse": parse,
        "bundle_validate": bundle_validate,
        "plan": plan_stage,
        "validate": validate,
        "extract": extract,
        "fingerprint": fp,
        "dumps": dumps,
        "index_rows": rows,
        "prepare_document": total,
    }
    result["resources"] = count
    per_stage: dict[str, float] = {}
    for name, fn in stages.items():
        if name == "plan":
            fresh[:] = [[orjson.loads(raw) for raw in raws] for _ in range(args.runs + 1)]
        per_stage[name] = round(best(args.runs, fn) / count * 1e6, 2)
    per_stage["sum_of_stages"] = round(sum(v for k, v in per_stage.items() if k != "prepare_document"), 2)
    per_stage["prepare_document_with_gc"] = round(best(args.runs, total, collect=True) / count * 1e6, 2)
    per_stage["prepare_document_unseen_with_gc"] = round(first_pass, 2)
    result["us_per_resource"] = per_stage
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
