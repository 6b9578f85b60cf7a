"""One module per C-CDA section family; ``SECTION_MAPPERS`` says which section templateId each reads."""

from __future__ import annotations

from chartkeeper.intake.ccda.sections.allergies import map_allergy_entry
from chartkeeper.intake.ccda.sections.common import EntryMapper, Where
from chartkeeper.intake.ccda.sections.encounters import map_encounter_entry
from chartkeeper.intake.ccda.sections.immunizations import map_immunization_entry
from chartkeeper.intake.ccda.sections.medications import map_medication_entry
from chartkeeper.intake.ccda.sections.problems import map_problem_entry
from chartkeeper.intake.ccda.sections.procedures import map_procedure_entry
from chartkeeper.intake.ccda.sections.results import map_result_entry, map_vitals_entry

S = "2.16.840.1.113883.10.20.22.2."

#: section templateId root → (name used in messages, entry mapper); R1.1 "entries optional"
#: and "entries required" variants alike
SECTION_MAPPERS: dict[str, tuple[str, EntryMapper]] = {
    S + "5": ("Problems", map_problem_entry),
    S + "5.1": ("Problems", map_problem_entry),
    S + "20": ("Past Medical History", map_problem_entry),
    S + "24": ("Hospital Discharge Diagnosis", map_problem_entry),
    S + "6": ("Allergies", map_allergy_entry),
    S + "6.1": ("Allergies", map_allergy_entry),
    S + "1": ("Medications", map_medication_entry),
    S + "1.1": ("Medications", map_medication_entry),
    S + "11": ("Discharge Medications", map_medication_entry),
    S + "11.1": ("Discharge Medications", map_medication_entry),
    S + "38": ("Medications Administered", map_medication_entry),
    S + "3": ("Results", map_result_entry),
    S + "3.1": ("Results", map_result_entry),
    S + "4": ("Vital Signs", map_vitals_entry),
    S + "4.1": ("Vital Signs", map_vitals_entry),
    S + "7": ("Procedures", map_procedure_entry),
    S + "7.1": ("Procedures", map_procedure_entry),
    S + "2": ("Immunizations", map_immunization_entry),
    S + "2.1": ("Immunizations", map_immunization_entry),
    S + "22": ("Encounters", map_encounter_entry),
    S + "22.1": ("Encounters", map_encounter_entry),
}

__all__ = ["SECTION_MAPPERS", "EntryMapper", "Where"]
