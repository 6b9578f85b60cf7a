"""Ground truth planted in the synthetic population, for testing the features that must find it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: Coding-defect kinds. The first two leave the diagnosis without any ICD-10-CM code ("uncoded");
#: the others carry an ICD-10-CM coding that is wrong ("miscoded").
UNCODED_KINDS = ("snomed-only", "text-only")
MISCODED_KINDS = ("non-billable", "invalid-code", "display-mismatch", "wrong-code")
#: Chart-completion defects of a finished encounter.
CHART_DEFECT_KINDS = ("missing-note", "unsigned-note", "missing-discharge-diagnosis")


@dataclass(frozen=True, slots=True)
class DuplicatePair:
    """A second registration of the same person (the duplicate) and the record it duplicates.

    ``differences`` names each planted variation as ``field:how``, e.g. ``given:nickname``,
    ``family:typo``, ``family:married-name``, ``birthDate:day-month-swapped``, ``address:moved``,
    ``ssn:missing``; it is empty for an exact re-registration (``exact``), which differs only in
    MRN and resource id. The MRN always differs.
    """

    original_id: str
    duplicate_id: str
    original_index: int
    duplicate_index: int
    exact: bool
    differences: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CodingDefect:
    """A Condition whose ICD-10-CM coding is missing or wrong; ``expected_*`` is the correct coding."""

    condition_id: str
    patient_id: str
    kind: str  # one of UNCODED_KINDS + MISCODED_KINDS
    given_code: str | None  # the ICD-10-CM code written on the Condition (None when uncoded)
    expected_code: str
    expected_display: str

    @property
    def uncoded(self) -> bool:
        return self.kind in UNCODED_KINDS


@dataclass(frozen=True, slots=True)
class ChartDefect:
    """A finished encounter whose chart is incomplete."""

    encounter_id: str
    patient_id: str
    kind: str  # one of CHART_DEFECT_KINDS
    document_id: str | None = None  # the unsigned DocumentReference, for 'unsigned-note'


@dataclass
class DemoTruth:
    """Everything planted in a population of ``patients`` registrations made with ``seed``.

    ``twin_pairs`` are look-alike *different* people (same family name, birth date, address and
    phone; different given name and SSN): a correct patient matcher must not merge them.
    """

    patients: int
    seed: int
    reference_date: str
    duplicates: list[DuplicatePair] = field(default_factory=list)
    twin_pairs: list[tuple[str, str]] = field(default_factory=list)
    coding_defects: list[CodingDefect] = field(default_factory=list)
    chart_defects: list[ChartDefect] = field(default_factory=list)
    sparse_patient_ids: list[str] = field(default_factory=list)
    deceased_patient_ids: list[str] = field(default_factory=list)
    condition_count: int = 0
    encounter_count: int = 0
    resource_counts: dict[str, int] = field(default_factory=dict)

    @property
    def duplicate_id_pairs(self) -> set[tuple[str, str]]:
        """(original Patient id, duplicate Patient id) pairs."""
        return {(d.original_id, d.duplicate_id) for d in self.duplicates}

    @property
    def uncoded_condition_ids(self) -> set[str]:
        return {c.condition_id for c in self.coding_defects if c.kind in UNCODED_KINDS}

    @property
    def miscoded_condition_ids(self) -> set[str]:
        return {c.condition_id for c in self.coding_defects if c.kind in MISCODED_KINDS}

    @property
    def incomplete_encounter_ids(self) -> set[str]:
        return {c.encounter_id for c in self.chart_defects}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (lists of plain dicts)."""
        d = asdict(self)
        d["twin_pairs"] = [list(p) for p in self.twin_pairs]
        for dup in d["duplicates"]:
            dup["differences"] = list(dup["differences"])
        return d
