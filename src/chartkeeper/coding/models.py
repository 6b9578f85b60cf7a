"""Plain data the coding package hands to shells: code facts, findings, suggestions, queue rows."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["error", "warning", "information"]

#: The FHIR system URI of ICD-10-CM, and of SNOMED CT (what Synthea writes).
ICD10CM_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED_SYSTEM = "http://snomed.info/sct"


@dataclass(frozen=True, slots=True)
class Node:
    """One entry of the tabular list as shipped: a chapter, block, category or subcategory.

    ``notes`` keeps the tabular notes by name (includes, inclusion_term, excludes1, excludes2,
    code_first, use_additional_code, code_also, notes, seven_chr_def, seven_chr_note).
    """

    code: str
    description: str
    parent: str
    kind: str
    leaf: bool
    notes: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CodeStatus:
    """What the code set says about one code as written.

    ``code`` is the normalized (dotted, upper-case) form; ``node`` the tabular entry it rests on
    (for a 7th-character code, its base); ``problem`` a rule name when it is not a billable code.
    """

    written: str
    code: str
    exists: bool
    billable: bool
    description: str | None
    node: Node | None
    problem: str | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing wrong (or worth a look) with a diagnosis code.

    rule: a stable name (``unknown-code``, ``header-not-billable``, ``excludes1`` ...).
    source: where the rule comes from (the tabular note, the MCE edit, the guideline).
    release: the code-set release the finding was made against.
    """

    rule: str
    severity: Severity
    message: str
    code: str | None = None
    source: str = ""
    release: str = ""
    resource: str | None = None  # Type/id the code was read from
    encounter: str | None = None
    patient: str | None = None
    related_code: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A ranked code for a phrase: ``matched`` lists the index or tabular terms that led to it."""

    code: str
    description: str
    score: float
    matched: tuple[str, ...] = ()
    source: str = ""  # "index", "tabular", "snomed-map"

    def as_json(self, detail: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "description": self.description, "score": self.score}
        if detail:
            out["matched"] = list(self.matched)
            out["source"] = self.source
        return out


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """A diagnosis as found on an encounter: the Condition (or claim line) and its codings."""

    resource: str  # Condition/id, or Claim/id#n for a claim line with a code of its own
    icd10: tuple[str, ...]  # ICD-10-CM codes written on it
    other: tuple[tuple[str, str, str], ...]  # (system, code, display) in any other system
    text: str
    rank: int | None = None  # Encounter.diagnosis.rank or Claim.diagnosis.sequence
    use: str | None = None  # Encounter.diagnosis.use code (AD, DD, billing ...)
    icd10_displays: tuple[str, ...] = ()  # the display written beside each ICD-10-CM code


@dataclass(frozen=True, slots=True)
class EncounterCase:
    """An encounter with its patient facts and every diagnosis linked to it."""

    encounter_id: str
    patient_id: str | None
    status: str
    class_code: str
    start: str | None
    end: str | None
    sex: str | None
    age_years: int | None
    diagnoses: tuple[Diagnosis, ...]
    claim_ids: tuple[str, ...] = ()
    missing_discharge_diagnosis: bool = False


@dataclass(frozen=True, slots=True)
class CaseReview:
    """The findings on one encounter and what they mean for billing."""

    case: EncounterCase
    findings: tuple[Finding, ...]

    @property
    def blocking(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def ready_to_bill(self) -> bool:
        return self.case.status == "finished" and not self.blocking

    def reason(self) -> str:
        """The first blocking reasons, one line."""
        rules = list(dict.fromkeys(f.rule for f in self.blocking))
        return ", ".join(rules) if rules else ("not finished" if self.case.status != "finished" else "")


@dataclass(frozen=True, slots=True)
class AssignResult:
    """What ``assign`` wrote: the resources as ``Type/id/_history/n``."""

    encounter_id: str
    written: tuple[str, ...]
    created: tuple[str, ...] = ()
