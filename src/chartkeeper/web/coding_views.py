"""View models of the coding pages: one encounter as a coder works it, and the coder's form.

The encounter page lists the diagnoses in the order ``CodingService.assign`` numbers them (the
Conditions of the case, in the case's order: code i goes onto diagnosis i), so what the coder
picks for a row is what lands on that Condition. Claim lines with a code of their own are shown
but cannot be recoded here (assign writes Conditions).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from chartkeeper.coding.codeset import CodeSet
from chartkeeper.coding.models import CaseReview, Diagnosis, Suggestion
from chartkeeper.coding.suggest import Suggester
from chartkeeper.errors import InvalidInput

SUGGESTIONS = 3
MAX_CODE_LENGTH = 12


@dataclass(frozen=True, slots=True)
class FindingView:
    rule: str
    severity: str
    message: str


@dataclass
class DiagnosisView:
    """One diagnosis row; ``slot`` is its place in the code sequence (None: not codable here)."""

    resource: str
    text: str
    codes: list[tuple[str, str]]  # (ICD-10-CM code, display written beside it)
    other: list[str]  # codes in other systems, as "system code display"
    findings: list[FindingView]
    suggestions: list[Suggestion]
    slot: int | None
    current: str | None  # a current billable code to keep, if any

    @property
    def default_choice(self) -> str:
        if self.current:
            return self.current
        return self.suggestions[0].code if self.suggestions else "other"


@dataclass
class EncounterView:
    encounter_id: str
    patient_id: str | None
    status: str
    class_code: str
    start: str | None
    end: str | None
    encounter_findings: list[FindingView]
    diagnoses: list[DiagnosisView]
    ready_to_bill: bool

    @property
    def slots(self) -> list[DiagnosisView]:
        return [d for d in self.diagnoses if d.slot is not None]

    @property
    def conditions(self) -> str:
        """The codable Conditions in order, carried in the form to notice a change meanwhile."""
        return ",".join(d.resource for d in self.slots)


def _short_system(system: str) -> str:
    return system.rstrip("/").rsplit("/", 1)[-1] or system


def _suggest(suggester: Suggester, dx: Diagnosis) -> list[Suggestion]:
    if dx.other:
        system, code, display = dx.other[0]
        return suggester.suggest_coding(system, code, display or dx.text, limit=SUGGESTIONS)
    if not dx.text.strip():
        return []
    return suggester.suggest(dx.text, limit=SUGGESTIONS)


def encounter_view(review: CaseReview, suggester: Suggester, codeset: CodeSet) -> EncounterView:
    """What the coding page shows for one reviewed encounter."""
    case = review.case
    by_resource: dict[str, list[FindingView]] = {}
    general: list[FindingView] = []
    for f in review.findings:
        view = FindingView(f.rule, f.severity, f.message)
        if f.resource:
            by_resource.setdefault(f.resource, []).append(view)
        else:
            general.append(view)
    rows: list[DiagnosisView] = []
    slot = 0
    for dx in case.diagnoses:
        codable = dx.resource.startswith("Condition/")
        findings = by_resource.get(dx.resource, [])
        billable = [c for c in dx.icd10 if codeset.status(c).billable]
        flagged = any(f.severity == "error" for f in findings)
        wanted = not dx.icd10 or flagged
        rows.append(
            DiagnosisView(
                resource=dx.resource,
                text=dx.text,
                codes=list(zip(dx.icd10, dx.icd10_displays or ("",) * len(dx.icd10), strict=False)),
                other=[f"{_short_system(s)} {c} {d}".strip() for s, c, d in dx.other],
                findings=findings,
                suggestions=_suggest(suggester, dx) if codable and wanted else [],
                slot=slot if codable else None,
                current=billable[0] if billable and codable else None,
            )
        )
        slot += 1 if codable else 0
    return EncounterView(
        case.encounter_id,
        case.patient_id,
        case.status,
        case.class_code,
        case.start,
        case.end,
        general,
        rows,
        review.ready_to_bill,
    )


@dataclass
class CodingForm:
    """The coder's choices as submitted, and what is wrong with them (field name -> message)."""

    codes: list[str] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)  # to fill the form in again
    errors: dict[str, str] = field(default_factory=dict)


def _checked(codeset: CodeSet, written: str, name: str, form: CodingForm) -> str | None:
    text = written.strip()
    if not text:
        form.errors[name] = "Type an ICD-10-CM code, or choose one above."
        return None
    if len(text) > MAX_CODE_LENGTH:
        form.errors[name] = f"{text[:MAX_CODE_LENGTH]}… is too long to be an ICD-10-CM code."
        return None
    status = codeset.status(text)
    if not status.billable:
        form.errors[name] = status.message or f"{status.code} is not a billable ICD-10-CM code."
        return None
    return status.code


def read_form(view: EncounterView, fields: Mapping[str, str], codeset: CodeSet) -> CodingForm:
    """The codes in sequence (diagnosis rows first, then an added one), each checked against
    the code set the same way ``assign`` checks it, so an unknown or non-billable code is
    reported beside its field instead of failing the whole request."""
    if fields.get("conditions", "") != view.conditions:
        raise InvalidInput("the encounter's diagnoses changed since the page was opened; reload it")
    form = CodingForm(values=dict(fields))
    for dx in view.slots:
        typed = fields.get(f"code{dx.slot}", "").strip()
        choice = fields.get(f"choice{dx.slot}", "")
        if typed or choice in ("", "other"):  # a typed code wins over the radio buttons
            code = _checked(codeset, typed, f"code{dx.slot}", form)
        else:
            code = _checked(codeset, choice, f"choice{dx.slot}", form)
        if code:
            form.codes.append(code)
    extra = fields.get("extra", "").strip()
    if extra:
        code = _checked(codeset, extra, "extra", form)
        if code:
            form.codes.append(code)
    if not view.slots and not extra and not form.errors:
        form.errors["extra"] = "This encounter has no diagnosis yet: type the code of one."
    return form
