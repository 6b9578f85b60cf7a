"""Real-time matching of one new or changed Patient against the index.

Candidates come from the stored blocking keys (one indexed look-up: the same keys the batch
scan blocks on), are scored with the stored model by Splink, and the pairs worth a look are
queued like the scan's. A replaced (merged-away) or deleted Patient leaves the index.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from chartkeeper.errors import Gone, NotFound
from chartkeeper.fhir.instant import now_us
from chartkeeper.mpi import engine
from chartkeeper.mpi.features import features
from chartkeeper.mpi.index import is_replaced, load_config, load_model
from chartkeeper.mpi.keys import lookup_keys, record_keys
from chartkeeper.mpi.models import ScoredPair, ordered
from chartkeeper.mpi.scan import candidate_rows
from chartkeeper.store import mpi_index, mpi_review
from chartkeeper.store.repository import Store

#: At most this many candidates per patient (a key shared by thousands is a data problem).
MAX_CANDIDATES = 200


@dataclass
class Timing:
    """Milliseconds spent per step of the last look-ups (for the benchmark's p95)."""

    lookup_ms: list[float] = field(default_factory=list)
    score_ms: list[float] = field(default_factory=list)


class RealtimeMatcher:
    """Holds the warm scorer of the current model version between calls (one per process)."""

    def __init__(self) -> None:
        self._scorer: engine.PairScorer | None = None
        self._version = 0
        self.timing = Timing()

    def scorer(self, store: Store) -> engine.PairScorer | None:
        stored = load_model(store)
        if stored is None:
            return None
        version, model = stored
        if self._scorer is None or version != self._version:
            self._scorer, self._version = engine.PairScorer(model, f"chartkeeper-mpi-{version}"), version
        return self._scorer

    def match(self, store: Store, patient_ids: Sequence[str]) -> list[ScoredPair]:
        """Re-index these Patients and score each against its candidates; queue what needs a look."""
        config = load_config(store)
        scorer = self.scorer(store)
        found: list[ScoredPair] = []
        for pid in dict.fromkeys(patient_ids):
            record = reindex(store, pid)
            if record is None or scorer is None:
                continue  # gone from the index, or no trained model yet (`mpi scan` trains one)
            pairs = self.score(store, scorer, record)
            decided = [
                ScoredPair(
                    p.a,
                    p.b,
                    p.probability,
                    p.match_weight,
                    config.decide(p.probability, p.evidence),
                    p.evidence,
                )
                for p in pairs
            ]
            with store.transaction() as conn:
                mpi_review.save_candidates(conn, candidate_rows(decided, self._version, "realtime"), now_us())
            found.extend(decided)
        return found

    def candidates(self, store: Store, record: dict[str, Any]) -> list[dict[str, Any]]:
        """The indexed records sharing a blocking key with ``record`` (itself excluded)."""
        started = time.perf_counter()
        with store.reading() as conn:
            rows = mpi_index.records_by_keys(conn, lookup_keys(record), MAX_CANDIDATES + 1)
        self.timing.lookup_ms.append((time.perf_counter() - started) * 1000)
        return [feat for pid, feat in rows if pid != record["unique_id"]][:MAX_CANDIDATES]

    def score(self, store: Store, scorer: engine.PairScorer, record: dict[str, Any]) -> list[ScoredPair]:
        others = self.candidates(store, record)
        if not others:
            return []
        started = time.perf_counter()
        left, right = _with_term_frequencies(store, record, others)
        rows = scorer.score(left, right)
        labels = engine.level_labels(scorer.model)
        pairs = []
        for row in rows:
            a, b = ordered(str(row["unique_id_l"]), str(row["unique_id_r"]))
            evidence = {f: labels[f].get(int(row[f"gamma_{f}"]), "?") for f in labels}
            pairs.append(
                ScoredPair(
                    a, b, float(row["match_probability"]), float(row["match_weight"]), "nonmatch", evidence
                )
            )
        self.timing.score_ms.append((time.perf_counter() - started) * 1000)
        return sorted(pairs, key=lambda p: -p.probability)


def reindex(store: Store, patient_id: str) -> dict[str, Any] | None:
    """Bring one Patient's comparison record and keys up to date; its record, or None if it left."""
    record = _record(store, patient_id)
    with store.transaction() as conn:
        if record is None:
            mpi_index.delete_records(conn, [patient_id])
        else:
            keys = [(k, patient_id) for k in record_keys(record)]
            mpi_index.upsert_records(conn, [(patient_id, record)], keys, now_us())
    return record


def _record(store: Store, patient_id: str) -> dict[str, Any] | None:
    try:
        patient = store.read("Patient", patient_id)
    except (NotFound, Gone):
        return None
    return None if is_replaced(patient) else features(patient)


def _with_term_frequencies(
    store: Store, record: dict[str, Any], others: list[dict[str, Any]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Attach ``tf_<column>`` to every record from the stored table; an unseen value counts as
    the rarest (1 / population), which is what it is until the next scan."""
    everyone = [record, *others]
    with store.reading() as conn:
        floor = 1.0 / max(mpi_index.record_count(conn), 1)
        tables = {
            col: mpi_index.term_frequencies(conn, col, [str(r[col]) for r in everyone if r.get(col)])
            for col in engine.TF_COLUMNS
        }
    out = []
    for rec in everyone:
        copy = dict(rec)
        for col in engine.TF_COLUMNS:
            value = rec.get(col)
            copy[f"tf_{col}"] = None if not value else tables[col].get(str(value), floor)
        out.append(copy)
    return out[0], out[1:]
