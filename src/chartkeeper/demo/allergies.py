"""AllergyIntolerance resources, recorded at a registration's first visit.

A person has no allergy information (55%), "no known allergy" (15%) or 1-3 allergies with a
reaction; see :func:`~chartkeeper.demo.health.draw_conditions`.
"""

from __future__ import annotations

from chartkeeper.demo import vocab as V
from chartkeeper.demo.builders import Resource
from chartkeeper.demo.chart import Chart, Visit
from chartkeeper.demo.clock import dt


def record_allergies(c: Chart, v: Visit) -> None:
    """Write the person's AllergyIntolerances (or the "no known allergy" statement)."""
    when = dt(v.day, v.minute + 8)
    for i in c.p.allergies:
        c.res.append(_no_known_allergy(c, v.eref, when) if i < 0 else _allergy(c, i, v.eref, when))


def _status() -> Resource:
    return {
        "clinicalStatus": {"coding": [{"system": V.ALLERGY_CLINICAL, "code": "active", "display": "Active"}]},
        "verificationStatus": {
            "coding": [{"system": V.ALLERGY_VER, "code": "confirmed", "display": "Confirmed"}]
        },
    }


def _no_known_allergy(c: Chart, eref: str, when: str) -> Resource:
    code, display = V.NO_KNOWN_ALLERGY
    return {
        "resourceType": "AllergyIntolerance",
        "id": c.nid("AllergyIntolerance"),
        **_status(),
        "code": {"coding": [{"system": V.SNOMED, "code": code, "display": display}], "text": display},
        "patient": {"reference": c.pref},
        "encounter": {"reference": eref},
        "recordedDate": when,
    }


def _allergy(c: Chart, i: int, eref: str, when: str) -> Resource:
    system, code, display, category, atype, crit, (rcode, rdisplay) = V.ALLERGIES[i]
    return {
        "resourceType": "AllergyIntolerance",
        "id": c.nid("AllergyIntolerance"),
        **_status(),
        "type": atype,
        "category": [category],
        "criticality": crit,
        "code": {"coding": [{"system": system, "code": code, "display": display}], "text": display},
        "patient": {"reference": c.pref},
        "encounter": {"reference": eref},
        "recordedDate": when,
        "reaction": [
            {
                "manifestation": [
                    {"coding": [{"system": V.SNOMED, "code": rcode, "display": rdisplay}], "text": rdisplay}
                ],
                "severity": "severe" if crit == "high" else "mild",
            }
        ],
    }
