"""Problem-list shorthand as clinicians write it ("CAP", "s/p CABG", "BMI 42", "hx of DVT"):
``benchmarks/data/problem-list.tsv``, 134 phrases with the code a coder assigns when nothing
more is documented. The benchmark's held-out index rows and inclusion terms are the code set's
own words; these are the words the suggester meets in a chart."""

from __future__ import annotations

from pathlib import Path

from chartkeeper.coding.codeset import default_codeset
from chartkeeper.coding.suggest import default_suggester

PHRASES = Path(__file__).resolve().parents[3] / "benchmarks" / "data" / "problem-list.tsv"


def problem_list() -> list[tuple[str, str]]:
    rows = []
    for line in PHRASES.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            phrase, code = line.split("\t")
            rows.append((phrase, code))
    return rows


def test_every_label_is_a_billable_code() -> None:
    codeset = default_codeset()
    rows = problem_list()
    assert len(rows) == 134 and len({p for p, _c in rows}) == len(rows)
    assert all(codeset.status(code).billable for _p, code in rows)


def test_the_shipped_suggester_codes_the_problem_list() -> None:
    suggester = default_suggester()
    rows = problem_list()
    found = [[s.code for s in suggester.suggest(phrase, 5)] for phrase, _c in rows]
    top1 = sum(got[:1] == [code] for got, (_p, code) in zip(found, rows, strict=True)) / len(rows)
    top5 = sum(code in got for got, (_p, code) in zip(found, rows, strict=True)) / len(rows)
    # measured 0.955 / 0.993 when written; before the see references, shorthand and direct-hit
    # fixes of ADR 0034 it was 0.843 / 0.903
    assert top1 >= 0.92 and top5 >= 0.97, (top1, top5)
