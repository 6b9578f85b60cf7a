"""The coding service: what shells call. It checks the caller's scopes, audits, and writes.

The coding queue, the DNFB report and their counts are read from the stored review
(``review_store``: reviewed again only where a patient's record changed, so never stale) for
callers who see the whole record, and computed from what they may see for the others; each read
is audited with the patients it shows. ``assign`` reads the encounter's patient, not everyone
(``encounter_scope``).

Every correction is a new version of the Condition (and of the Encounter when its diagnosis
list changes), written in one transaction together with a Provenance resource that says who
coded what and when — the record keeps its own trail — and recorded in the AuditSink.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from chartkeeper.coding.cases import Snapshot, ref_id
from chartkeeper.coding.codeset import default_codeset
from chartkeeper.coding.encounter_scope import encounter_snapshot
from chartkeeper.coding.models import ICD10CM_SYSTEM, AssignResult
from chartkeeper.coding.queue import (
    DnfbRow,
    Page,
    QueueItem,
    coding_queue,
    dnfb,
    page_bounds,
    queue_items,
    queue_order,
)
from chartkeeper.coding.review_store import LiveReviews, Reviews, StoredReviews, sees_every_compartment
from chartkeeper.coding.suggest import default_suggester
from chartkeeper.coding.summary import Totals, summarize, totals_of
from chartkeeper.coding.validate import Report, default_validator, review_snapshot
from chartkeeper.errors import Forbidden, InvalidInput, NotFound
from chartkeeper.fhir.instant import format_instant, now_us
from chartkeeper.fhir.resource import without_server_meta
from chartkeeper.fhir.validation import validate_resource
from chartkeeper.security.caller import Caller
from chartkeeper.security.ports import AccessEvent, AuditSink
from chartkeeper.security.scopes import Action
from chartkeeper.store.models import ResourceWrite
from chartkeeper.store.repository import Store
from chartkeeper.store.resources import resource_write

_DX_ROLE = "http://terminology.hl7.org/CodeSystem/diagnosis-role"
_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"


@dataclass
class CodingService:
    store: Store
    audit: AuditSink

    # -- reading ---------------------------------------------------------------------------
    def validate(self, caller: Caller, patient: str | None = None) -> Report:
        """Every encounter (and loose Condition) the caller may read, validated now: all findings."""
        self._require(caller, ("Encounter", "Condition"), Action.SEARCH)
        snap = Snapshot.load(self.store, caller, patient)
        report = review_snapshot(snap, default_validator())
        self._record(caller, "$code-validate", tuple(sorted(snap.patients)), patient)
        return report

    def _reviews(self, caller: Caller, patient: str | None = None) -> Reviews:
        """What the queue, the DNFB report and the counts are read from (the callers audit).

        Callers who may see every patient's Patient, Encounter, Condition and Claim get the
        stored review, brought up to date first (``review_store``); a caller who sees less (a
        type or a patient fewer) or asks for one patient gets a review of what they may see,
        computed now exactly as before: the stored one would show them what they may not see.
        """
        self._require(caller, ("Encounter", "Condition"), Action.SEARCH)
        if patient is None and sees_every_compartment(caller):
            return self._stored().refresh()
        snap = Snapshot.load(self.store, caller, patient)
        report = review_snapshot(snap, default_validator())
        summaries = (summarize(r) for r in report.reviews)
        return LiveReviews(totals_of(report.reviews), tuple(s for s in summaries if s is not None))

    def queue(self, caller: Caller, patient: str | None = None, limit: int | None = None) -> list[QueueItem]:
        """Encounters to code, oldest first, with suggestions; the patients listed are audited."""
        items = coding_queue(self._reviews(caller, patient).queued(), default_suggester(), limit)
        self._record(caller, "$code-queue", _patients(items), patient)
        return items

    def queue_page(self, caller: Caller, page: int, size: int) -> Page[QueueItem]:
        """One page of the queue, without suggestions (the web list; the encounter page makes
        them); only the patients on the page are audited."""
        ordered = queue_order(self._reviews(caller).queued())
        number, pages, start = page_bounds(len(ordered), page, size)
        items = queue_items(ordered[start : start + size], None)
        self._record(caller, "$code-queue", _patients(items), None, f"page={number}")
        return Page(items, number, pages, len(ordered))

    def dnfb(self, caller: Caller, as_of: date) -> tuple[int, list[DnfbRow]]:
        """(how many finished encounters are ready to bill, the DNFB rows for the rest)."""
        reviews = self._reviews(caller)
        rows = dnfb(reviews.queued(), as_of)
        self._record(caller, "$code-dnfb", _patients(rows), None, f"as-of={as_of.isoformat()}")
        return reviews.totals().ready, rows

    def dnfb_page(self, caller: Caller, as_of: date, page: int, size: int) -> tuple[int, Page[DnfbRow]]:
        """(ready to bill, one page of the DNFB rows); only the patients on the page are audited."""
        reviews = self._reviews(caller)
        rows = dnfb(reviews.queued(), as_of)
        number, pages, start = page_bounds(len(rows), page, size)
        shown = rows[start : start + size]
        self._record(caller, "$code-dnfb", _patients(shown), None, f"as-of={as_of.isoformat()}&page={number}")
        return reviews.totals().ready, Page(shown, number, pages, len(rows))

    def counts(self, caller: Caller) -> Totals:
        """How many encounters are in the queue, in the DNFB report and ready to bill (no patient
        is shown, so none is named in the audit record)."""
        totals = self._reviews(caller).totals()
        self._record(caller, "$code-counts", (), None)
        return totals

    def _stored(self) -> StoredReviews:
        return StoredReviews(self.store, default_validator())

    # -- writing ---------------------------------------------------------------------------
    def assign(self, caller: Caller, encounter_id: str, codes: list[str]) -> AssignResult:
        """Code an encounter: ``codes`` in sequence (the first is the principal diagnosis).

        Code i goes onto the encounter's i-th diagnosis (its ICD-10-CM coding replaced, other
        codings kept); codes beyond the existing diagnoses become new Conditions. The
        Encounter's diagnosis list is rewritten to rank them in the given order.
        """
        self._require(caller, ("Encounter", "Condition"), Action.UPDATE)
        self._require(caller, ("Condition", "Provenance"), Action.CREATE)
        codeset = default_codeset()
        statuses = [codeset.status(c) for c in codes]
        bad = [s for s in statuses if not s.billable]
        if not codes or bad:
            raise InvalidInput(bad[0].message or f"{bad[0].code} is not billable" if bad else "no code given")
        snap = encounter_snapshot(self.store, caller, encounter_id)
        if encounter_id not in snap.encounters:
            raise NotFound(f"Encounter/{encounter_id} does not exist (or is not visible to you)")
        case = snap.case(encounter_id, *self._links(snap, encounter_id))
        condition_ids = [
            dx.resource.split("/", 1)[1] for dx in case.diagnoses if dx.resource.startswith("Condition/")
        ]
        encounter = dict(snap.encounters[encounter_id])
        writes: list[tuple[str, str, dict[str, Any]]] = []
        created: list[str] = []
        for i, status in enumerate(statuses):
            coding = {"system": ICD10CM_SYSTEM, "code": status.code, "display": status.description}
            if i < len(condition_ids):
                cond = dict(snap.conditions[condition_ids[i]])
                concept = dict(cond.get("code") or {})
                others = [c for c in concept.get("coding", []) or [] if c.get("system") != ICD10CM_SYSTEM]
                concept["coding"] = [coding, *others]
                concept.setdefault("text", status.description)
                cond["code"] = concept
                writes.append(("Condition", condition_ids[i], cond))
            else:
                cid = str(uuid.uuid4())
                cond = _new_condition(cid, encounter, coding)
                condition_ids.append(cid)
                created.append(f"Condition/{cid}")
                writes.append(("Condition", cid, cond))
        encounter["diagnosis"] = _diagnosis_list(encounter, condition_ids[: len(codes)])
        writes.append(("Encounter", encounter_id, encounter))
        return self._write(caller, encounter_id, writes, created, [s.code for s in statuses])

    def _links(self, snap: Snapshot, encounter_id: str) -> tuple[list[str], list[str]]:
        linked = [cid for cid, c in snap.conditions.items() if ref_id(c.get("encounter")) == encounter_id]
        claims = [
            k
            for k, claim in snap.claims.items()
            if any(
                ref_id(r) == encounter_id
                for item in claim.get("item", []) or []
                for r in item.get("encounter", []) or []
            )
        ]
        return linked, claims

    def _write(
        self,
        caller: Caller,
        encounter_id: str,
        writes: list[tuple[str, str, dict[str, Any]]],
        created: list[str],
        codes: list[str],
    ) -> AssignResult:
        targets = [f"{t}/{i}" for t, i, _ in writes]
        provenance = _provenance(caller, targets, codes)
        all_writes = [*writes, ("Provenance", provenance["id"], provenance)]
        prepared = [_resource_write(t, i, r) for t, i, r in all_writes]
        self.store.apply(prepared)
        written = tuple(f"{t}/{i}" for t, i, _ in all_writes)
        patient = ref_id(writes[-1][2].get("subject"))
        self.audit.record(
            AccessEvent(
                caller=caller,
                action="update",
                outcome="success",
                resources=written,
                patients=(patient,) if patient else (),
                detail=f"coded Encounter/{encounter_id}: {' '.join(codes)}",
                operation="$code-assign",
            )
        )
        return AssignResult(encounter_id, written, tuple(created))

    def _require(self, caller: Caller, types: tuple[str, ...], action: Action) -> None:
        for res_type in types:
            if not caller.permits(res_type, action):
                self.audit.record(
                    AccessEvent(
                        caller=caller,
                        action="operation",
                        outcome="denied",
                        detail=f"{res_type}: {action.name}",
                    )
                )
                raise Forbidden(f"{caller.display} may not {action.name.lower()} {res_type} resources")

    def _record(
        self,
        caller: Caller,
        operation: str,
        patients: tuple[str, ...],
        patient: str | None,
        query: str | None = None,
    ) -> None:
        """One audit record per read: the patients whose encounters were shown (or validated)."""
        if patient:
            query = f"patient={patient}" + (f"&{query}" if query else "")
        self.audit.record(
            AccessEvent(
                caller=caller,
                action="operation",
                outcome="success",
                patients=(patient,) if patient else patients,
                query=query,
                operation=operation,
            )
        )


def _patients(rows: Iterable[QueueItem | DnfbRow]) -> tuple[str, ...]:
    return tuple(sorted({r.patient_id for r in rows if r.patient_id}))


def _new_condition(cid: str, encounter: dict[str, Any], coding: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}
            ]
        },
        "verificationStatus": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}
            ]
        },
        "category": [
            {
                "coding": [
                    {"system": _CATEGORY, "code": "encounter-diagnosis", "display": "Encounter Diagnosis"}
                ]
            }
        ],
        "code": {"coding": [coding], "text": coding["display"]},
        "subject": dict(encounter.get("subject") or {}),
        "encounter": {"reference": f"Encounter/{encounter['id']}"},
        "recordedDate": format_instant(now_us())[:10],
    }


def _diagnosis_list(encounter: dict[str, Any], condition_ids: list[str]) -> list[dict[str, Any]]:
    """Admission diagnoses kept; the coded diagnoses ranked in order (discharge for inpatients)."""
    kept = [
        d
        for d in encounter.get("diagnosis", []) or []
        if any(c.get("code") == "AD" for c in (d.get("use") or {}).get("coding", []) or [])
    ]
    inpatient = (encounter.get("class") or {}).get("code") == "IMP"
    use = (
        {"code": "DD", "display": "Discharge diagnosis"}
        if inpatient
        else {"code": "billing", "display": "Billing"}
    )
    ranked = [
        {
            "condition": {"reference": f"Condition/{cid}"},
            "use": {"coding": [{"system": _DX_ROLE, **use}]},
            "rank": n,
        }
        for n, cid in enumerate(condition_ids, 1)
    ]
    return kept + ranked


def _provenance(caller: Caller, targets: list[str], codes: list[str]) -> dict[str, Any]:
    now = format_instant(now_us())
    return {
        "resourceType": "Provenance",
        "id": str(uuid.uuid4()),
        "target": [{"reference": t} for t in targets],
        "recorded": now,
        "activity": {"coding": [{"system": _OPERATION, "code": "UPDATE", "display": "revise"}]},
        "reason": [{"text": f"diagnosis coding: {' '.join(codes)}"}],
        "agent": [{"who": {"display": caller.display, "identifier": {"value": caller.subject}}}],
    }


def _resource_write(res_type: str, res_id: str, resource: dict[str, Any]) -> ResourceWrite:
    """Validate, serialize, fingerprint and index one resource for the writer."""
    stored = without_server_meta(resource)
    errors = [i for i in validate_resource(stored) if i.is_error]
    if errors:
        raise InvalidInput(f"{res_type}/{res_id} would not be valid FHIR: {errors[0].message}", errors)
    return resource_write(res_type, res_id, stored)
