"""Synthetic demo population: deterministic FHIR R4 bundles with planted ground truth.

``generate_bundles(patients, seed)`` backs ``chartkeeper demo``; ``demo_truth`` tells what was planted
(duplicate patients, miscoded/uncoded diagnoses, incomplete charts) for the features that must find it.
"""

from chartkeeper.demo.population import (
    REFERENCE_DATE,
    demo_truth,
    generate_bundles,
    generate_resources,
    new_truth,
    patient_id,
    planted_duplicates,
)
from chartkeeper.demo.truth import (
    CHART_DEFECT_KINDS,
    MISCODED_KINDS,
    UNCODED_KINDS,
    ChartDefect,
    CodingDefect,
    DemoTruth,
    DuplicatePair,
)

__all__ = [
    "CHART_DEFECT_KINDS",
    "MISCODED_KINDS",
    "REFERENCE_DATE",
    "UNCODED_KINDS",
    "ChartDefect",
    "CodingDefect",
    "DemoTruth",
    "DuplicatePair",
    "demo_truth",
    "generate_bundles",
    "generate_resources",
    "new_truth",
    "patient_id",
    "planted_duplicates",
]
