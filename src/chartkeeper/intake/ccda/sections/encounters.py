"""Encounters (Encounter Activity, …22.4.49) → Encounter, with Encounter Diagnosis → Condition.

The Encounter Diagnosis acts (…22.4.80) inside become Conditions of category
``encounter-diagnosis`` listed in ``Encounter.diagnosis``.
"""

from __future__ import annotations

from chartkeeper.intake.ccda import datatypes as dt
from chartkeeper.intake.ccda.builder import DocumentBundle, ref
from chartkeeper.intake.ccda.header import encounter_resource, map_assigned
from chartkeeper.intake.ccda.sections.common import T, Where, descendants
from chartkeeper.intake.ccda.sections.problems import PROBLEM_OBSERVATION, map_condition
from chartkeeper.intake.ccda.xmlsafe import Element, find_all

ENCOUNTER_ACTIVITY = T + "49"
ENCOUNTER_DIAGNOSIS = T + "80"


def map_encounter_entry(entry: Element, out: DocumentBundle, where: Where, section: str) -> list[str]:
    made: list[str] = []
    for n, encounter in enumerate(descendants(entry, ENCOUNTER_ACTIVITY), start=1):
        resource = encounter_resource(encounter, out, str(where))
        participants = []
        for assigned in find_all(encounter, "performer/assignedEntity"):
            who = map_assigned(assigned, out, str(where), people_only=True)
            if who:
                participants.append({"individual": ref(who)})
        dt.put(resource, "participant", participants)
        resource["id"] = out.entry_id("Encounter", encounter, f"{where.entry}.{n}")
        full_url = f"urn:uuid:{resource['id']}"
        diagnoses = []
        for m, act in enumerate(descendants(encounter, ENCOUNTER_DIAGNOSIS), start=1):
            for k, observation in enumerate(descendants(act, PROBLEM_OBSERVATION), start=1):
                position = f"{where.entry}.{n}.{m}.{k}"
                condition = map_condition(
                    observation, out, where, "encounter-diagnosis", None, position, full_url
                )
                if condition:
                    diagnoses.append({"condition": ref(condition)})
                    made.append(condition)
        dt.put(resource, "diagnosis", diagnoses)
        made.insert(0, out.add(resource, str(where)))
    return made
