"""The Patient resource of a registration.

A sparse registration (``SPARSE_RATE`` of them, a planted "incomplete chart") has no SSN, telecom,
address or marital status. A duplicate writes the person as its registration saw them (see
:mod:`~chartkeeper.demo.variants`), including an abbreviated street suffix.
"""

from __future__ import annotations

from chartkeeper.demo import vocab as V
from chartkeeper.demo.builders import Resource
from chartkeeper.demo.chart import Chart
from chartkeeper.demo.clock import ds, dt
from chartkeeper.demo.people import Person


def patient(c: Chart, sparse: bool) -> Resource:
    """The Patient of chart ``c`` (the keys in FHIR element order)."""
    p = c.p
    pat: Resource = {
        "resourceType": "Patient",
        "id": c.pid,
        "identifier": _identifiers(c.mrn, p, sparse),
        "active": True,
        "name": _names(p),
    }
    if not sparse:
        telecom = _telecom(p)
        if telecom:
            pat["telecom"] = telecom
    pat["gender"] = p.sex
    pat["birthDate"] = ds(p.birth)
    if p.deceased is not None:
        pat["deceasedDateTime"] = dt(p.deceased, c.death_minute)
    if not sparse:
        pat["address"] = [_address(p, c.abbreviated)]
        pat["maritalStatus"] = {
            "coding": [{"system": V.MARITAL, "code": p.marital, "display": V.MARITAL_STATUS[p.marital]}],
            "text": V.MARITAL_STATUS[p.marital],
        }
    lang_display = V.LANGUAGES[p.lang]
    pat["communication"] = [
        {
            "language": {
                "coding": [{"system": V.BCP47, "code": p.lang, "display": lang_display}],
                "text": lang_display,
            },
            "preferred": True,
        }
    ]
    pat["generalPractitioner"] = [c.d.practitioner_ref(p.pcp)]
    pat["managingOrganization"] = {"reference": f"Organization/{c.d.org_ids[p.hospital]}"}
    return pat


def _identifiers(mrn: str, p: Person, sparse: bool) -> list[Resource]:
    idents: list[Resource] = [
        {
            "use": "usual",
            "type": {
                "coding": [{"system": V.V2_0203, "code": "MR", "display": "Medical record number"}],
                "text": "MRN",
            },
            "system": V.MRN_SYSTEM,
            "value": mrn,
        }
    ]
    if p.ssn is not None and not sparse:
        idents.append(
            {
                "type": {
                    "coding": [{"system": V.V2_0203, "code": "SS", "display": "Social Security number"}]
                },
                "system": V.SSN,
                "value": p.ssn,
            }
        )
    return idents


def _names(p: Person) -> list[Resource]:
    """The official name, plus the maiden name when it differs."""
    names: list[Resource] = [{"use": "official", "family": p.family, "given": list(p.given)}]
    if p.maiden and p.maiden != p.family:
        names.append({"use": "maiden", "family": p.maiden, "given": [p.given[0]]})
    return names


def _telecom(p: Person) -> list[Resource]:
    telecom: list[Resource] = []
    if p.phone:
        telecom.append({"system": "phone", "value": p.phone, "use": p.phone_use})
    if p.email:
        telecom.append({"system": "email", "value": p.email, "use": "home"})
    return telecom


def _address(p: Person, abbreviated: bool) -> Resource:
    city, state, zipc, _ = p.city
    return {
        "use": "home",
        "type": "both",
        "line": p.line(abbreviated),
        "city": city,
        "state": state,
        "postalCode": zipc,
        "country": "US",
    }
