"""Reading encounters and their diagnoses out of the store, as a coder sees them.

An encounter's diagnoses are gathered from every place FHIR R4 puts them: Encounter.diagnosis
(ranked, with a use: admission, discharge, billing), Claim.diagnosis (sequenced, by reference or
by code) for claims whose items point at the encounter, and Conditions whose ``encounter`` points
at it (Synthea links them only that way). The caller's access filter goes into every read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from chartkeeper.coding.models import ICD10CM_SYSTEM, Diagnosis, EncounterCase
from chartkeeper.security.caller import Caller
from chartkeeper.store.repository import Store

#: Encounter.diagnosis.use codes that carry the diagnoses to bill (not the admission diagnosis).
BILLING_USES = frozenset({"DD", "billing", "CM", "pre-op", "post-op"})


def ref_id(reference: Any) -> str | None:
    """``Condition/abc``, ``urn:uuid:abc`` or ``abc`` → ``abc``."""
    if not isinstance(reference, dict):
        return None
    text = reference.get("reference")
    if not isinstance(text, str) or not text:
        return None
    return text.rsplit("/", 1)[-1].removeprefix("urn:uuid:")


def diagnosis_of(
    resource_label: str, concept: dict[str, Any], rank: int | None, use: str | None
) -> Diagnosis:
    icd: list[str] = []
    displays: list[str] = []
    other: list[tuple[str, str, str]] = []
    for coding in concept.get("coding", []) or []:
        system, code = coding.get("system", ""), coding.get("code")
        if not code:
            continue
        if system == ICD10CM_SYSTEM:
            icd.append(str(code))
            displays.append(str(coding.get("display") or ""))
        else:
            other.append((str(system), str(code), str(coding.get("display", ""))))
    text = concept.get("text") or (other[0][2] if other else "")
    return Diagnosis(resource_label, tuple(icd), tuple(other), str(text), rank, use, tuple(displays))


def patient_facts(patient: dict[str, Any] | None, on: str | None) -> tuple[str | None, int | None]:
    """Administrative gender and age in whole years on date ``on`` (YYYY-MM-DD...)."""
    if patient is None:
        return None, None
    sex = patient.get("gender")
    born = patient.get("birthDate")
    age = None
    if isinstance(born, str) and len(born) >= 10 and on and len(on) >= 10:
        b, d = date.fromisoformat(born[:10]), date.fromisoformat(on[:10])
        age = d.year - b.year - ((d.month, d.day) < (b.month, b.day))
    return (sex if isinstance(sex, str) else None), age


@dataclass
class Snapshot:
    """The resources the coding features read, for one patient or all the caller may see."""

    patients: dict[str, dict[str, Any]] = field(default_factory=dict)
    encounters: dict[str, dict[str, Any]] = field(default_factory=dict)
    conditions: dict[str, dict[str, Any]] = field(default_factory=dict)
    claims: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, store: Store, caller: Caller, patient: str | None = None) -> Snapshot:
        access = caller.access_filter()
        only = frozenset({patient}) if patient else None
        snap = cls()
        for res_type, target in (
            ("Patient", snap.patients),
            ("Encounter", snap.encounters),
            ("Condition", snap.conditions),
            ("Claim", snap.claims),
        ):
            for version in store.iter_for_export(res_type, access, patient_ids=only):
                if version.content is not None:
                    target[version.res_id] = version.content
        return snap

    def cases(self) -> Iterator[EncounterCase]:
        by_encounter: dict[str, list[str]] = {}
        for cid, cond in self.conditions.items():
            eid = ref_id(cond.get("encounter"))
            if eid:
                by_encounter.setdefault(eid, []).append(cid)
        claims_by_encounter: dict[str, list[str]] = {}
        for claim_id, claim in self.claims.items():
            for item in claim.get("item", []) or []:
                for ref in item.get("encounter", []) or []:
                    eid = ref_id(ref)
                    if eid and claim_id not in claims_by_encounter.get(eid, []):
                        claims_by_encounter.setdefault(eid, []).append(claim_id)
        for eid in sorted(self.encounters):
            yield self.case(eid, by_encounter.get(eid, []), claims_by_encounter.get(eid, []))

    def case(self, eid: str, linked: list[str], claim_ids: list[str]) -> EncounterCase:
        enc = self.encounters[eid]
        diagnoses: list[Diagnosis] = []
        seen: set[str] = set()
        entries = enc.get("diagnosis", []) or []
        uses = [_use(e) for e in entries]
        billing = any(u in BILLING_USES for u in uses)
        for entry, use in zip(entries, uses, strict=True):
            if billing and use not in BILLING_USES:
                continue  # the admission diagnosis, when discharge/billing diagnoses exist
            self._add(diagnoses, seen, ref_id(entry.get("condition")), entry.get("rank"), use)
        for claim_id in claim_ids:
            for dx in self.claims[claim_id].get("diagnosis", []) or []:
                seq = dx.get("sequence")
                if "diagnosisReference" in dx:
                    self._add(diagnoses, seen, ref_id(dx["diagnosisReference"]), seq, "claim")
                elif isinstance(dx.get("diagnosisCodeableConcept"), dict):
                    label = f"Claim/{claim_id}#diagnosis{seq}"
                    if label not in seen:
                        seen.add(label)
                        diagnoses.append(diagnosis_of(label, dx["diagnosisCodeableConcept"], seq, "claim"))
        for cid in sorted(linked):
            self._add(diagnoses, seen, cid, None, None)
        start = (enc.get("period") or {}).get("start")
        pid = ref_id(enc.get("subject"))
        sex, age = patient_facts(self.patients.get(pid or ""), start)
        class_code = str((enc.get("class") or {}).get("code", ""))
        return EncounterCase(
            encounter_id=eid,
            patient_id=pid,
            status=str(enc.get("status", "")),
            class_code=class_code,
            start=start,
            end=(enc.get("period") or {}).get("end"),
            sex=sex,
            age_years=age,
            diagnoses=tuple(diagnoses),
            claim_ids=tuple(claim_ids),
            missing_discharge_diagnosis=class_code == "IMP" and bool(entries) and not billing,
        )

    def _add(self, out: list[Diagnosis], seen: set[str], cid: str | None, rank: Any, use: str | None) -> None:
        if cid is None or cid in seen or cid not in self.conditions:
            return
        seen.add(cid)
        concept = self.conditions[cid].get("code") or {}
        out.append(diagnosis_of(f"Condition/{cid}", concept, rank if isinstance(rank, int) else None, use))

    def unlinked_conditions(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Conditions on no encounter (problem-list entries): checked code by code."""
        for cid in sorted(self.conditions):
            cond = self.conditions[cid]
            if not ref_id(cond.get("encounter")) or ref_id(cond.get("encounter")) not in self.encounters:
                yield cid, cond


def _use(entry: dict[str, Any]) -> str | None:
    for coding in (entry.get("use") or {}).get("coding", []) or []:
        if coding.get("code"):
            return str(coding["code"])
    return None
