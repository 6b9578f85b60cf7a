"""The batch scan: every current Patient against every other, through the blocking rules.

One pass: read Patients into comparison records, train a model if none fits the current design
(on a seeded sample: the m/u parameters need far fewer records than the population), predict,
then in one transaction rebuild the real-time index (records, keys, term frequencies) and queue
the pairs worth a look. Pairs someone already decided are never queued again.
"""

from __future__ import annotations

import time
from typing import Any

import pandas as pd

from chartkeeper.fhir.instant import now_us
from chartkeeper.mpi import engine
from chartkeeper.mpi.index import current_records, index_rows, load_config, load_model, train_and_store
from chartkeeper.mpi.models import MpiConfig, ScanReport, ScoredPair, ordered
from chartkeeper.store import mpi_index, mpi_review
from chartkeeper.store.repository import Store

#: Pairs below this probability are not reported (a 1M scan blocks tens of millions of pairs).
DEFAULT_MIN_PROBABILITY = 0.01
DEFAULT_TRAIN_SAMPLE = 200_000


def scan(
    store: Store,
    by: str,
    *,
    retrain: bool = False,
    min_probability: float = DEFAULT_MIN_PROBABILITY,
    train_sample: int = DEFAULT_TRAIN_SAMPLE,
    api: Any | None = None,
) -> tuple[ScanReport, list[ScoredPair]]:
    """Score the whole store; return the report and every pair at or above ``min_probability``."""
    report = ScanReport()
    clock = _Clock()
    records = list(current_records(store))
    report.patients = len(records)
    report.seconds["read"] = clock.lap()
    if len(records) < 2:
        return report, []
    stored = None if retrain else load_model(store)
    if stored is None:
        stored = train_and_store(store, records, by, train_sample, api)
        report.trained = True
        report.seconds["train"] = clock.lap()
    report.model_version, model = stored
    df = engine.frame(records)
    predictions = engine.predict(model, df, api or engine.duckdb_api(), min_probability)
    report.seconds["predict"] = clock.lap()
    config = load_config(store)
    pairs = scored_pairs(predictions, model, config)
    report.pairs = len(pairs)
    report.links = sum(p.decision == "link" for p in pairs)
    report.reviews = sum(p.decision == "review" for p in pairs)
    rows, keys = index_rows(records)
    with store.transaction() as conn:
        mpi_index.replace_index(conn, rows, keys, now_us())
        mpi_index.replace_term_frequencies(conn, engine.term_frequencies(df))
        report.queued = mpi_review.save_candidates(
            conn, candidate_rows(pairs, report.model_version, "scan"), now_us()
        )
    report.seconds["store"] = clock.lap()
    return report, pairs


class _Clock:
    """Seconds per step (not cumulative)."""

    def __init__(self) -> None:
        self.last = time.perf_counter()

    def lap(self) -> float:
        now = time.perf_counter()
        spent, self.last = now - self.last, now
        return round(spent, 2)


def scored_pairs(predictions: pd.DataFrame, model: dict[str, Any], config: MpiConfig) -> list[ScoredPair]:
    labels = engine.level_labels(model)
    fields = list(labels)
    gammas = [predictions[f"gamma_{f}"].tolist() for f in fields]
    pairs = []
    columns = zip(
        predictions["unique_id_l"].tolist(),
        predictions["unique_id_r"].tolist(),
        predictions["match_probability"].tolist(),
        predictions["match_weight"].tolist(),
        strict=True,
    )
    for row, (left, right, probability, weight) in enumerate(columns):
        a, b = ordered(str(left), str(right))
        evidence = {f: labels[f].get(int(g[row]), str(g[row])) for f, g in zip(fields, gammas, strict=True)}
        pairs.append(
            ScoredPair(
                a, b, float(probability), float(weight), config.decide(probability, evidence), evidence
            )
        )
    pairs.sort(key=lambda p: (-p.probability, p.a, p.b))
    return pairs


def candidate_rows(pairs: list[ScoredPair], model_version: int, source: str) -> list[dict[str, Any]]:
    """The pairs worth a person's look (link and review), as candidate rows."""
    return [
        {
            "a_id": p.a,
            "b_id": p.b,
            "probability": p.probability,
            "match_weight": p.match_weight,
            "decision": p.decision,
            "evidence": p.evidence,
            "model_version": model_version,
            "source": source,
        }
        for p in pairs
        if p.decision != "nonmatch"
    ]
