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
from chartkeeper.mpi.models import MpiConfig, ScoredPair, ordered
from chartkeeper.mpi.scan import candidate_rows
from chartkeeper.store import mpi_index, mpi_review
from chartkeeper.store.repository import Store

#: At most this many candidates per patient (a key shared by thousands is a data problem).
MAX_CANDIDATES = 200
#: Patients scored per Splink call when many arrive at once (a bulk ingest's commit).
BATCH = 100


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
        """Re-index these Patients and score each against its candidates; queue what needs a look.

        One Patient (an API write, an HL7 message) is scored alone; many (a bulk ingest's
        commit) go in batches of :data:`BATCH`, one Splink call each, because a call costs
        about the same for one pair as for thousands.
        """
        config = load_config(store)
        scorer = self.scorer(store)
        ids = list(dict.fromkeys(patient_ids))
        found: list[ScoredPair] = []
        for start in range(0, len(ids), BATCH):
            found.extend(self._match_batch(store, scorer, config, ids[start : start + BATCH]))
        return found

    def _match_batch(
        self, store: Store, scorer: engine.PairScorer | None, config: MpiConfig, ids: Sequence[str]
    ) -> list[ScoredPair]:
        records = reindex_many(store, ids)
        if scorer is None or not records:
            return []  # gone from the index, or no trained model yet (`mpi scan` trains one)
        if len(records) == 1:
            pairs = self.score(store, scorer, next(iter(records.values())))
        else:
            pairs = self.score_batch(store, scorer, list(records.values()))
        decided = [
            ScoredPair(
                p.a, p.b, p.probability, p.match_weight, config.decide(p.probability, p.evidence), p.evidence
            )
            for p in pairs
        ]
        with store.transaction() as conn:
            mpi_review.save_candidates(conn, candidate_rows(decided, self._version, "realtime"), now_us())
        return decided

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
        pairs = self._pairs(scorer, scorer.score(left, right))
        self.timing.score_ms.append((time.perf_counter() - started) * 1000)
        return pairs

    def score_batch(
        self, store: Store, scorer: engine.PairScorer, records: list[dict[str, Any]]
    ) -> list[ScoredPair]:
        """Every record against its own candidates, all pairs in one Splink call (each pair once)."""
        wanted: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = {}
        for record in records:
            for other in self.candidates(store, record):
                key = ordered(str(record["unique_id"]), str(other["unique_id"]))
                wanted.setdefault(key, (record, other))
        if not wanted:
            return []
        started = time.perf_counter()
        everyone = {str(r["unique_id"]): r for pair in wanted.values() for r in pair}
        with_tf = dict(zip(everyone, _term_frequencies(store, list(everyone.values())), strict=True))
        rows = scorer.score_pairs(
            [(with_tf[str(a["unique_id"])], with_tf[str(b["unique_id"])]) for a, b in wanted.values()]
        )
        pairs = self._pairs(scorer, rows)
        self.timing.score_ms.append((time.perf_counter() - started) * 1000)
        return pairs

    @staticmethod
    def _pairs(scorer: engine.PairScorer, rows: list[dict[str, Any]]) -> list[ScoredPair]:
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
        return sorted(pairs, key=lambda p: -p.probability)


def reindex(store: Store, patient_id: str) -> dict[str, Any] | None:
    """Bring one Patient's comparison record and keys up to date; its record, or None if it left."""
    return reindex_many(store, [patient_id]).get(patient_id)


def reindex_many(store: Store, patient_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Bring these Patients' records and keys up to date in one transaction; the records of
    those still in the index (a deleted or merged-away Patient leaves it)."""
    records = {pid: _record(store, pid) for pid in dict.fromkeys(patient_ids)}
    present = {pid: rec for pid, rec in records.items() if rec is not None}
    with store.transaction() as conn:
        gone = [pid for pid, rec in records.items() if rec is None]
        if gone:
            mpi_index.delete_records(conn, gone)
        if present:
            keys = [(k, pid) for pid, rec in present.items() for k in record_keys(rec)]
            mpi_index.upsert_records(conn, list(present.items()), keys, now_us())
    return present


def _record(store: Store, patient_id: str) -> dict[str, Any] | None:
    try:
        patient = store.read("Patient", patient_id)
    except (NotFound, Gone):
        return None
    return None if is_replaced(patient) else features(patient)


def _with_term_frequencies(
    store: Store, record: dict[str, Any], others: list[dict[str, Any]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    everyone = _term_frequencies(store, [record, *others])
    return everyone[0], everyone[1:]


def _term_frequencies(store: Store, everyone: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies with ``tf_<column>`` from the stored table; an unseen value counts as the rarest
    (1 / population), which is what it is until the next scan."""
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
    return out
