"""Validation of the diagnoses in the store: every rule of ``rules`` over every encounter.

A finding names the rule, the source note or edit, the code-set release, the resource the code
was read from, the encounter and the patient, so a coder can go straight to the fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from chartkeeper.coding.cases import Snapshot, diagnosis_of, patient_facts, ref_id
from chartkeeper.coding.codeset import CodeSet, default_codeset
from chartkeeper.coding.models import CaseReview, Diagnosis, EncounterCase, Finding
from chartkeeper.coding.rules import Edits, code_findings, default_edits, encounter_findings
from chartkeeper.coding.snomed import SnomedMap, default_snomed_map
from chartkeeper.security.caller import Caller
from chartkeeper.store.repository import Store

GUIDELINE = "ICD-10-CM Official Guidelines for Coding and Reporting"


@dataclass(frozen=True, slots=True)
class Validator:
    codeset: CodeSet
    edits: Edits
    snomed: SnomedMap

    def diagnosis_findings(self, dx: Diagnosis, sex: str | None, age: int | None) -> list[Finding]:
        release = self.codeset.release
        if not dx.icd10:
            if dx.other:
                system, code, display = dx.other[0]
                mapped = self.snomed.lookup(system, code)
                hint = f"; the curated map suggests {mapped.icd10}" if mapped and mapped.icd10 else ""
                message = f"coded only in {system} ({code} {display}): needs an ICD-10-CM code{hint}"
            else:
                message = f"free text only ({dx.text!r}): needs an ICD-10-CM code"
            return [Finding("needs-icd10cm", "error", message, None, GUIDELINE, release, dx.resource)]
        out: list[Finding] = []
        for n, code in enumerate(dx.icd10):
            for f in code_findings(self.codeset, self.edits, code, sex, age):
                out.append(replace(f, resource=dx.resource))
            display = dx.icd10_displays[n] if n < len(dx.icd10_displays) else ""
            out.extend(self._display(dx, code, display))
            out.extend(self._agreement(dx, code))
        return out

    def _display(self, dx: Diagnosis, code: str, display: str) -> list[Finding]:
        """A display that is not the code's description: the code or the display is wrong."""
        status = self.codeset.status(code)
        if not display or not status.billable or _words(display) == _words(status.description or ""):
            return []
        return [
            Finding(
                "display-mismatch", "warning",
                f"{status.code} is {status.description!r} but the record says {display!r}",
                status.code, "ICD-10-CM tabular list (code description)", self.codeset.release, dx.resource,
            )
        ]  # fmt: skip

    def _agreement(self, dx: Diagnosis, code: str) -> list[Finding]:
        """A SNOMED CT coding beside the ICD-10-CM one that the curated map puts elsewhere."""
        status = self.codeset.status(code)
        if not status.billable:
            return []
        for system, other, display in dx.other:
            mapped = self.snomed.lookup(system, other)
            if mapped and mapped.icd10 and mapped.icd10[:3] != status.code[:3]:
                return [
                    Finding(
                        "code-systems-disagree", "warning",
                        f"{status.code} ({status.description}) but SNOMED CT {other} {display} maps to "
                        f"{mapped.icd10}: check which is right",
                        status.code, "curated SNOMED CT map (data/snomed-icd10cm.json)",
                        self.codeset.release, dx.resource,
                    )
                ]  # fmt: skip
        return []

    def review(self, case: EncounterCase) -> CaseReview:
        release = self.codeset.release
        findings: list[Finding] = []
        if not case.diagnoses and case.status == "finished":
            findings.append(
                Finding(
                    "no-diagnosis",
                    "error",
                    "the finished encounter has no diagnosis",
                    None,
                    GUIDELINE,
                    release,
                )
            )
        if case.missing_discharge_diagnosis:
            findings.append(
                Finding(
                    "missing-discharge-diagnosis", "error",
                    "the inpatient encounter has an admission diagnosis but no discharge diagnosis",
                    None, GUIDELINE, release,
                )
            )  # fmt: skip
        codes: list[tuple[str, int | None]] = []
        for dx in case.diagnoses:
            findings.extend(self.diagnosis_findings(dx, case.sex, case.age_years))
            codes.extend((c, dx.rank) for c in dx.icd10 if self.codeset.status(c).billable)
        findings.extend(encounter_findings(self.codeset, codes))
        enc = f"Encounter/{case.encounter_id}"
        stamped = tuple(replace(f, encounter=enc, patient=case.patient_id) for f in findings)
        return CaseReview(case, stamped)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def default_validator() -> Validator:
    return Validator(default_codeset(), default_edits(), default_snomed_map())


@dataclass(frozen=True, slots=True)
class Report:
    """Every encounter reviewed, and the findings on Conditions that belong to no encounter."""

    reviews: tuple[CaseReview, ...]
    unlinked: tuple[Finding, ...]

    @property
    def findings(self) -> list[Finding]:
        out = [f for r in self.reviews for f in r.findings]
        return out + list(self.unlinked)


def validate_store(store: Store, caller: Caller, patient: str | None = None) -> Report:
    """Review every encounter (and loose Condition) the caller may read, optionally one patient's."""
    snap = Snapshot.load(store, caller, patient)
    return review_snapshot(snap, default_validator())


def review_snapshot(snap: Snapshot, validator: Validator) -> Report:
    reviews = tuple(validator.review(case) for case in snap.cases())
    unlinked: list[Finding] = []
    for cid, cond in snap.unlinked_conditions():
        pid = ref_id(cond.get("subject"))
        on = cond.get("onsetDateTime") or cond.get("recordedDate")
        sex, age = patient_facts(snap.patients.get(pid or ""), on if isinstance(on, str) else None)
        dx = diagnosis_of(f"Condition/{cid}", cond.get("code") or {}, None, None)
        for f in validator.diagnosis_findings(dx, sex, age):
            unlinked.append(replace(f, patient=pid))
    return Report(reviews, tuple(unlinked))


def check_codes(
    codes: list[str], sex: str | None = None, age: int | None = None, validator: Validator | None = None
) -> tuple[bool, bool, list[Finding]]:
    """``code check``: (valid, billable, findings) for codes given together, as on one encounter."""
    v = validator or default_validator()
    findings: list[Finding] = []
    for code in codes:
        findings.extend(code_findings(v.codeset, v.edits, code, sex, age))
    ranked = [(c, i) for i, c in enumerate(codes, 1) if v.codeset.status(c).billable]
    findings.extend(encounter_findings(v.codeset, ranked))
    statuses = [v.codeset.status(c) for c in codes]
    valid = all(
        s.exists and s.problem in (None, "header-not-billable", "seventh-character-missing") for s in statuses
    )
    billable = all(s.billable for s in statuses) and not any(f.severity == "error" for f in findings)
    return valid and bool(codes), billable and bool(codes), findings
