"""MpiService: the one entry point of the master patient index for every shell.

The CLI, the FHIR ``Patient/$merge`` operation, the HL7 ADT^A40 handler and the web review page
all call these methods with their Caller; each checks the caller's scopes and records an
AccessEvent, so no shell can forget either. The intake paths call :meth:`on_patient_written`
after committing Patients.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chartkeeper.errors import ChartkeeperError, Forbidden, InvalidInput
from chartkeeper.fhir.instant import now_us
from chartkeeper.mpi import golden, index, merge, queue, realtime
from chartkeeper.mpi import scan as scanning
from chartkeeper.mpi.models import MergeResult, MpiConfig, Policy, QueueItem, ScanReport, ScoredPair, Verdict
from chartkeeper.security.caller import Caller
from chartkeeper.security.ports import AccessEvent, AuditSink
from chartkeeper.security.scopes import Action
from chartkeeper.store import mpi_index, mpi_review
from chartkeeper.store.repository import Store


class MpiService:
    def __init__(self, store: Store, audit: AuditSink) -> None:
        self.store = store
        self.audit = audit
        self.matcher = realtime.RealtimeMatcher()

    # -- permissions and audit ---------------------------------------------------------------------
    def _require(self, caller: Caller, action: Action, operation: str) -> None:
        if not caller.permits("Patient", action):
            self.audit.record(
                AccessEvent(
                    caller, "operation", "denied", operation=operation, detail="scope does not allow it"
                )
            )
            raise Forbidden(f"your scopes do not allow {operation}")

    def _audit(self, caller: Caller, operation: str, patients: Sequence[str] = (), **kw: Any) -> None:
        self.audit.record(
            AccessEvent(
                caller,
                "operation",
                "success",
                resources=tuple(kw.pop("resources", ())) or tuple(f"Patient/{p}" for p in patients),
                patients=tuple(patients),
                operation=operation,
                **kw,
            )
        )

    # -- matching ------------------------------------------------------------------------------------
    def scan(
        self,
        caller: Caller,
        *,
        retrain: bool = False,
        min_probability: float = scanning.DEFAULT_MIN_PROBABILITY,
    ) -> tuple[ScanReport, list[ScoredPair]]:
        """Score every current Patient; queue link/review pairs; merge certain ones if policy says so."""
        self._require(caller, Action.UPDATE, "$mpi-scan")
        started = now_us()
        report, pairs = scanning.scan(
            self.store, caller.subject, retrain=retrain, min_probability=min_probability
        )
        with self.store.transaction() as conn:  # the scan read every Patient marked before it began
            mpi_index.clear_pending(conn, before=started)
        report.merged = self._auto_merge(caller, pairs)
        self._audit(caller, "$mpi-scan", query=f"pairs={report.pairs} queued={report.queued}")
        return report, pairs

    def train(self, caller: Caller, sample: int = scanning.DEFAULT_TRAIN_SAMPLE) -> int:
        """Train a new model version on the current Patients (the next scan uses it)."""
        self._require(caller, Action.UPDATE, "$mpi-train")
        records = list(index.current_records(self.store))
        if len(records) < 2:
            raise InvalidInput("training needs at least two Patients")
        version, _model = index.train_and_store(self.store, records, caller.subject, sample)
        self._audit(caller, "$mpi-train", query=f"version={version}")
        return version

    def on_patient_written(self, caller: Caller, patient_ids: Sequence[str]) -> list[ScoredPair]:
        """Match these just-committed Patients against the index at once (every intake path).

        Pairs worth a look are queued; certain ones are merged when the policy is ``merge``.
        Returns the scored pairs (decision link/review/nonmatch) for the caller to show.
        """
        return self.match_patients(caller, patient_ids)[0]

    def match_patients(self, caller: Caller, patient_ids: Sequence[str]) -> tuple[list[ScoredPair], int]:
        """:meth:`on_patient_written`, also saying how many pairs the policy merged."""
        pairs = self.matcher.match(self.store, patient_ids)
        return pairs, self._auto_merge(caller, pairs)

    def pending(self, caller: Caller, limit: int = 1000) -> list[dict[str, Any]]:
        """Patients whose real-time match failed after their write (oldest first)."""
        self._require(caller, Action.READ, "$mpi-pending")
        with self.store.reading() as conn:
            rows = mpi_index.pending(conn, limit)
        return [{str(k): v for k, v in r._asdict().items()} for r in rows]  # plain str keys (JSON)

    def match_pending(self, caller: Caller, limit: int = 10_000) -> tuple[int, list[ScoredPair]]:
        """Match the Patients marked pending (up to ``limit``) and clear their marks."""
        self._require(caller, Action.UPDATE, "$mpi-match")
        with self.store.reading() as conn:
            ids = [r.patient_id for r in mpi_index.pending(conn, limit)]
        pairs, _merged = self.match_patients(caller, ids)
        with self.store.transaction() as conn:
            mpi_index.clear_pending(conn, ids)
        self._audit(caller, "$mpi-match", query=f"pending={len(ids)}")
        return len(ids), pairs

    def _auto_merge(self, caller: Caller, pairs: Sequence[ScoredPair]) -> int:
        config = index.load_config(self.store)
        if config.policy != "merge":
            return 0
        merged = 0
        with self.store.reading() as conn:
            decided = mpi_review.decided_pairs(conn)
        for pair in pairs:
            if pair.decision != "link" or (pair.a, pair.b) in decided:
                continue
            reason = (
                f"automatic: probability {pair.probability:.4f} >= link threshold {config.link_threshold}"
            )
            try:
                self.decide(caller, f"{pair.a},{pair.b}", "merge", reason)
            except ChartkeeperError:  # a conflict on one pair must not stop the others; it stays queued
                continue
            merged += 1
        return merged

    # -- configuration -------------------------------------------------------------------------------
    def config(self, caller: Caller) -> MpiConfig:
        self._require(caller, Action.READ, "$mpi-config")
        return index.load_config(self.store)

    def set_config(
        self,
        caller: Caller,
        *,
        link_threshold: float | None = None,
        review_threshold: float | None = None,
        policy: Policy | None = None,
        note: str | None = None,
    ) -> MpiConfig:
        self._require(caller, Action.UPDATE, "$mpi-config")
        old = index.load_config(self.store)
        new = MpiConfig(
            old.link_threshold if link_threshold is None else link_threshold,
            old.review_threshold if review_threshold is None else review_threshold,
            old.policy if policy is None else policy,
        )
        if not 0.0 <= new.review_threshold <= new.link_threshold <= 1.0:
            raise InvalidInput("thresholds must satisfy 0 <= review <= link <= 1")
        if new.policy not in ("review", "merge"):
            raise InvalidInput("policy must be review or merge")
        index.save_config(self.store, new, caller.subject, note)
        self._audit(caller, "$mpi-config", query=f"{new}")
        return new

    # -- review --------------------------------------------------------------------------------------
    def queue(self, caller: Caller, limit: int = 50) -> list[QueueItem]:
        self._require(caller, Action.READ, "$mpi-queue")
        items = queue.open_items(self.store, limit)
        self._audit(caller, "$mpi-queue", [p for i in items for p in (i.a, i.b)])
        return items

    def decide(
        self, caller: Caller, pair: str, verdict: Verdict, reason: str, keep: str | None = None
    ) -> tuple[int | None, MergeResult | None]:
        """Record a person's decision on a pair (queue id or ``a,b``); ``merge`` also merges."""
        self._require(caller, Action.UPDATE, "$mpi-decide")
        if verdict not in ("merge", "distinct"):
            raise InvalidInput("decide merge or distinct")
        pk, result = queue.decide(self.store, pair, verdict, reason, caller.subject, keep)
        if result is not None:
            self._after_merge(caller, result, "$merge")
        else:
            self._audit(caller, "$mpi-decide", query=f"{pair} {verdict}", detail=None)
        return pk, result

    def decisions(
        self, caller: Caller, a: str | None = None, b: str | None = None
    ) -> list[dict[str, object]]:
        self._require(caller, Action.READ, "$mpi-decisions")
        return queue.decisions(self.store, a, b)

    # -- merge and unmerge (also Patient/$merge and ADT^A40) -------------------------------------------
    def merge(self, caller: Caller, source: str, target: str, reason: str) -> MergeResult:
        """Merge Patient ``source`` into ``target`` (FHIR ``Patient/$merge``, HL7 ADT^A40, CLI)."""
        self._require(caller, Action.UPDATE, "$merge")
        result = merge.merge(
            self.store,
            source.removeprefix("Patient/"),
            target.removeprefix("Patient/"),
            caller.subject,
            reason,
        )
        self._after_merge(caller, result, "$merge")
        return result

    def unmerge(self, caller: Caller, merge_id: int, reason: str) -> MergeResult:
        """Undo a merge: every resource it wrote gets its pre-merge content back (new versions)."""
        self._require(caller, Action.UPDATE, "$unmerge")
        decision = queue.record_distinct(caller.subject, f"unmerge: {reason}")
        result = merge.unmerge(self.store, merge_id, caller.subject, reason, also=decision)
        self._after_merge(caller, result, "$unmerge")
        return result

    def _after_merge(self, caller: Caller, result: MergeResult, operation: str) -> None:
        for pid in (result.source, result.target):
            realtime.reindex(self.store, pid)
        self._audit(caller, operation, [result.source, result.target], resources=result.resources)

    def merges(self, caller: Caller, patient_id: str | None = None) -> list[dict[str, Any]]:
        self._require(caller, Action.READ, "$mpi-merges")
        with self.store.reading() as conn:
            rows = mpi_review.merges(conn, patient_id.removeprefix("Patient/") if patient_id else None)
        return [{str(k): v for k, v in r._mapping.items()} for r in rows]  # plain str keys (JSON)

    def golden(self, caller: Caller, patient_id: str) -> dict[str, Any]:
        self._require(caller, Action.READ, "$mpi-golden")
        record = golden.golden_record(self.store, patient_id.removeprefix("Patient/"))
        self._audit(caller, "$mpi-golden", [m["id"].removeprefix("Patient/") for m in record["members"]])
        return record
