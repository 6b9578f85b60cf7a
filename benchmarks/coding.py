"""Benchmark of the coding package; prints one JSON object.

Usage::

    .venv/bin/python benchmarks/coding.py [--sample 1000] [--folds 2] [--batch 5000] [--seed 7]

* Accuracy of suggestion on phrases it was not built from: index rows without subterms and
  tabular inclusion terms are drawn at random and split into folds; for each fold a suggester is
  compiled *without* those rows and terms (the shipped one has them all) and asked for each
  phrase. A prediction counts when it equals the labelled code or, for a label ending in ``-``
  (or one that still needs characters, such as a 7th), extends it. Top-1 and top-5.
  The learned ranking is trained first, as the shipped one is (seed 13, 12,000 index rows and
  every inclusion term, ADR 0031) but without any phrase measured here; the hand-weighted sum
  it replaced is measured on the same suggesters, for comparison.
* Problem list: top-1 / top-5 of the shipped suggester on ``benchmarks/data/problem-list.tsv``,
  134 phrases as clinicians write them ("CAP", "s/p CABG", "BMI 42"), each labelled with the code
  a coder assigns (no target in the issue; the held-out phrases above are the code set's own
  words, these are a chart's).
* Latency: per-phrase time of the shipped suggester on the same phrases (p50, p95, max).
* Batch: ``chartkeeper code suggest --file`` on 5,000 phrases, whole process (load included).
* Load: code-set load time and memory, and suggester load time and memory, in fresh processes.

Targets (issue 7): top-1 ≥ 0.80, top-5 ≥ 0.95, p95 ≤ 20 ms, batch ≤ 30 s, load ≤ 1 s and ≤ 200 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from chartkeeper.coding.codeset import default_codeset  # noqa: E402
from chartkeeper.coding.ranker_training import (  # noqa: E402
    SHIPPED_SAMPLE,
    SHIPPED_SEED,
    draw,
    hit,
    split_folds,
    train_ranker,
)
from chartkeeper.coding.suggest import Suggester, build_suggester, default_suggester  # noqa: E402

__all__ = ["draw", "hit", "score", "split_folds"]  # also used by coding_ceiling.py

#: The draw the ranking is trained on: the shipped model's (tools/build_coding_data.py), here
#: without any phrase this run measures.
TRAIN_SEED, TRAIN_SAMPLE = SHIPPED_SEED, SHIPPED_SAMPLE

LOAD_SNIPPETS = {
    "codeset": "from chartkeeper.coding.codeset import default_codeset as f",
    "suggester": "from chartkeeper.coding.suggest import default_suggester as f",
}


def evaluate(sample: int, folds: int, seed: int) -> tuple[dict[str, Any], list[str]]:
    """Accuracy of the learned ranking (trained here without the measured phrases) and, on the
    same held-out suggesters, of the hand-weighted sum it replaced."""
    index_cases, tabular_cases = draw(sample, seed)
    measured = frozenset([(p, c) for _r, p, c in index_cases] + list(tabular_cases))
    t0 = time.perf_counter()
    ranker = train_ranker(TRAIN_SEED, TRAIN_SAMPLE, exclude=measured)
    train_seconds = time.perf_counter() - t0
    results: dict[str, dict[str, list[tuple[bool, bool]]]] = {
        "learned": {"index": [], "inclusion": []},
        "hand": {"index": [], "inclusion": []},
    }
    build_seconds = []
    for idx, inc, held in split_folds(index_cases, tabular_cases, folds):
        t0 = time.perf_counter()
        suggester = build_suggester(held)
        build_seconds.append(time.perf_counter() - t0)
        for name, model in (("learned", ranker), ("hand", None)):
            suggester.ranker = model
            for _row, phrase, code in idx:
                results[name]["index"].append(score(suggester, phrase, code))
            for term, code in inc:
                results[name]["inclusion"].append(score(suggester, term, code))
    out: dict[str, Any] = {
        "folds": folds,
        "fold_build_seconds": [round(s, 1) for s in build_seconds],
        "ranker_training": {
            **{k: ranker.trained_on[k] for k in ("seed", "sample", "phrases", "candidates")},
            "left_out_as_measured_here": ranker.trained_on["left_out"],
            "seconds": round(train_seconds, 1),
        },
    }
    for name, by_kind in results.items():
        every: list[tuple[bool, bool]] = []
        block: dict[str, Any] = {}
        for kind, marks in by_kind.items():
            every.extend(marks)
            block[kind] = _rates(marks)
        block["all"] = _rates(every)
        if name == "learned":
            out.update(block)
        else:
            out["hand_weighted_sum"] = block
    phrases = [p for _r, p, _c in index_cases] + [t for t, _c in tabular_cases]
    return out, phrases


def score(suggester: Suggester, phrase: str, code: str) -> tuple[bool, bool]:
    """(top-1 hit, top-5 hit) of one labelled phrase."""
    codes = [s.code for s in suggester.suggest(phrase, 5)]
    return (bool(codes) and hit(code, codes[0])), any(hit(code, c) for c in codes)


def _rates(marks: list[tuple[bool, bool]]) -> dict[str, Any]:
    n = len(marks) or 1
    return {
        "phrases": len(marks),
        "top1": round(sum(a for a, _ in marks) / n, 4),
        "top5": round(sum(b for _, b in marks) / n, 4),
    }


def latency(phrases: list[str]) -> dict[str, float]:
    suggester = default_suggester()
    for p in phrases[:50]:
        suggester.suggest(p, 5)
    times = []
    for p in phrases:
        t0 = time.perf_counter()
        suggester.suggest(p, 5)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {
        "phrases": len(times),
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
        "max_ms": round(times[-1], 2),
    }


def problem_list_rows() -> list[tuple[str, str]]:
    """``benchmarks/data/problem-list.tsv`` as (phrase, code), comments and blank lines left out."""
    path = ROOT / "benchmarks" / "data" / "problem-list.tsv"
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            phrase, code = line.split("\t")
            rows.append((phrase, code))
    return rows


def problem_list(suggester: Suggester | None = None) -> dict[str, Any]:
    """Top-1 / top-5 on the problem list: a suggestion counts when it is the labelled code."""
    rows = problem_list_rows()
    suggest = (suggester or default_suggester()).suggest
    found = [[s.code for s in suggest(phrase, 5)] for phrase, _code in rows]
    top1 = sum(got[:1] == [code] for got, (_p, code) in zip(found, rows, strict=True))
    top5 = sum(code in got for got, (_p, code) in zip(found, rows, strict=True))
    return {"phrases": len(rows), "top1": round(top1 / len(rows), 4), "top5": round(top5 / len(rows), 4)}


def batch(phrases: list[str], n: int) -> dict[str, Any]:
    lines = [phrases[i % len(phrases)] for i in range(n)]
    exe = str(Path(sys.executable).parent / "chartkeeper")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "phrases.txt"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        t0 = time.perf_counter()
        out = subprocess.run(
            [exe, "code", "suggest", "--file", str(path), "--json"], capture_output=True, check=True
        )
        seconds = time.perf_counter() - t0
    produced = out.stdout.decode().count("\n")
    return {"phrases": n, "seconds": round(seconds, 2), "lines_out": produced}


def load_cost(which: str) -> dict[str, float]:
    code = (
        "import time\n"
        "def rss():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmHWM:'):\n"
        "            return int(line.split()[1]) / 1024\n"
        "before = rss()\n"
        f"t = time.perf_counter()\n{LOAD_SNIPPETS[which]}\nf()\n"
        "s = time.perf_counter() - t\n"
        "print(s, before, rss())\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, text=True, env=env)
    seconds, before, after = (float(x) for x in out.stdout.split())
    return {
        "seconds": round(seconds, 3),
        "peak_rss_mb": round(after, 1),
        "added_mb": round(after - before, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=1000, help="phrases of each kind")
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    report: dict[str, Any] = {"release": default_codeset().release}
    report["load"] = {"codeset": load_cost("codeset"), "suggester": load_cost("suggester")}
    accuracy, phrases = evaluate(args.sample, args.folds, args.seed)
    report["accuracy"] = accuracy
    report["problem_list"] = problem_list()
    report["latency"] = latency(phrases)
    report["batch"] = batch(phrases, args.batch)
    report["targets"] = {
        "top1": 0.80,
        "top5": 0.95,
        "p95_ms": 20,
        "batch_seconds": 30,
        "load_seconds": 1,
        "load_mb": 200,
    }
    report["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
