"""The document header: recordTarget → Patient, author → Practitioner/PractitionerRole/Device,
custodian → Organization, componentOf/encompassingEncounter → Encounter.

Mapped as in "C-CDA on FHIR" (US Realm Header); race and ethnicity become the US Core
extensions with their OMB category and text.
"""

from __future__ import annotations

from typing import Any

from chartkeeper.intake.ccda import datatypes as dt
from chartkeeper.intake.ccda.builder import DocumentBundle, ref
from chartkeeper.intake.ccda.datatypes import DataError, put
from chartkeeper.intake.ccda.xmlsafe import CcdaError, Element, attr, find, find_all, is_null, text_of

JSON = dict[str, Any]
_GENDER = {"M": "male", "F": "female", "UN": "other", "UNK": "unknown"}
_US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition"
_CDC_RACE = "urn:oid:2.16.840.1.113883.6.238"


def map_patient(doc: Element, out: DocumentBundle) -> None:
    """recordTarget/patientRole → Patient; sets ``out.patient``. Exactly one recordTarget is taken."""
    targets = find_all(doc, "recordTarget")
    if not targets:
        raise CcdaError("header: the document has no recordTarget (whose record is it?)")
    if len(targets) > 1:
        raise CcdaError("header: several recordTargets; only single-patient documents are taken")
    role = find(targets[0], "patientRole")
    if role is None:
        raise CcdaError("header: recordTarget has no patientRole")
    person = find(role, "patient")
    resource: JSON = {"resourceType": "Patient"}
    ids = dt.identifiers(role)
    try:
        put(resource, "identifier", ids)
        if person is not None:
            put(resource, "name", dt.names(person))
            gender = attr(find(person, "administrativeGenderCode"), "code")
            put(resource, "gender", _GENDER.get(gender or ""))
            put(resource, "birthDate", _date_only(dt.ts(find(person, "birthTime"), "birthTime")))
            put(resource, "maritalStatus", dt.concept(find(person, "maritalStatusCode")))
            put(resource, "extension", _race_ethnicity(person))
            deceased = find(person, "sdtc:deceasedInd")
            if attr(deceased, "value") == "true":
                resource["deceasedBoolean"] = True
        put(resource, "address", dt.addresses(role))
        put(resource, "telecom", dt.telecoms(role))
    except DataError as exc:
        raise CcdaError(f"header: recordTarget/patientRole: {exc}") from exc
    if "name" not in resource and not ids:
        raise CcdaError("header: recordTarget/patientRole has neither an id nor a name")
    key_ident = next((i for i in ids if i.get("system") and i.get("value")), None)
    out.patient = out.add_shared(resource, "header: recordTarget", key_ident, "patient")


def _date_only(value: str | None) -> str | None:
    return value.partition("T")[0] if value else None


def _race_ethnicity(person: Element) -> list[JSON]:
    found = []
    for tag, name in (("raceCode", "us-core-race"), ("ethnicGroupCode", "us-core-ethnicity")):
        code = find(person, tag)
        if is_null(code) or code is None:
            continue
        value, display = attr(code, "code"), attr(code, "displayName")
        if value is None:
            continue
        parts: list[JSON] = [
            {"url": "ombCategory", "valueCoding": {"system": _CDC_RACE, "code": value, **_display(display)}},
            {"url": "text", "valueString": display or value},
        ]
        found.append({"url": f"{_US_CORE}/{name}", "extension": parts})
    return found


def _display(display: str | None) -> JSON:
    return {"display": display} if display else {}


def map_organization(element: Element | None, out: DocumentBundle, where: str) -> str | None:
    """An organization (representedOrganization, custodian …) → Organization fullUrl, or None."""
    if element is None or element.get("nullFlavor") is not None:
        return None
    resource: JSON = {"resourceType": "Organization"}
    ids = dt.identifiers(element)
    put(resource, "identifier", ids)
    name = text_of(find(element, "name"))
    put(resource, "name", name)
    put(resource, "telecom", dt.telecoms(element))
    # org-2: an organization's address is never a home address
    put(
        resource,
        "address",
        [{k: v for k, v in a.items() if a.get("use") != "home" or k != "use"} for a in dt.addresses(element)],
    )
    if not ids and not name:
        return None
    resource["active"] = True
    key_ident = next((i for i in ids if i.get("system") and i.get("value")), None)
    return out.add_shared(resource, where, key_ident, f"org|{name}|{ids}")


def map_assigned(
    assigned: Element | None, out: DocumentBundle, where: str, people_only: bool = False
) -> str | None:
    """assignedAuthor/assignedEntity → Practitioner (+ PractitionerRole with its organization)
    or Device; returns the fullUrl to reference (the role when there is one).

    An entity that names only an organization gives the Organization, unless ``people_only``
    (an Encounter participant must be a person or role).
    """
    if assigned is None or assigned.get("nullFlavor") is not None:
        return None
    try:
        device = find(assigned, "assignedAuthoringDevice")
        if device is not None and not people_only:
            return _device(assigned, device, out, where)
        person = find(assigned, "assignedPerson")
        ids = dt.identifiers(assigned)
        resource: JSON = {"resourceType": "Practitioner"}
        put(resource, "identifier", ids)
        put(resource, "name", dt.names(person) if person is not None else [])
        put(resource, "telecom", dt.telecoms(assigned))
        put(resource, "address", dt.addresses(assigned))
        organization = map_organization(find(assigned, "representedOrganization"), out, where)
        if "identifier" not in resource and "name" not in resource:
            return None if people_only else organization
        key_ident = next((i for i in ids if i.get("system") and i.get("value")), None)
        practitioner = out.add_shared(resource, where, key_ident, f"pract|{resource.get('name')}")
        specialty = dt.concept(find(assigned, "code"))
        if organization is None and specialty is None:
            return practitioner
        role: JSON = {"resourceType": "PractitionerRole", "practitioner": ref(practitioner)}
        put(role, "organization", ref(organization) if organization else None)
        put(role, "code", [specialty] if specialty else None)
        return out.add_shared(role, where, None, f"role|{practitioner}|{organization}|{specialty}")
    except DataError as exc:
        raise CcdaError(f"{where}: {exc}") from exc


def _device(assigned: Element, device: Element, out: DocumentBundle, where: str) -> str:
    resource: JSON = {"resourceType": "Device"}
    put(resource, "identifier", dt.identifiers(assigned))
    device_names = []
    model = text_of(find(device, "manufacturerModelName"))
    software = text_of(find(device, "softwareName"))
    if model:
        device_names.append({"name": model, "type": "model-name"})
    if software:
        device_names.append({"name": software, "type": "other"})
    put(resource, "deviceName", device_names)
    organization = map_organization(find(assigned, "representedOrganization"), out, where)
    put(resource, "owner", ref(organization) if organization else None)
    return out.add_shared(resource, where, None, f"device|{model}|{software}|{resource.get('identifier')}")


def map_authors(doc: Element, out: DocumentBundle) -> list[str]:
    """Document authors → fullUrls (Practitioner, PractitionerRole or Device)."""
    found: list[str] = []
    for n, author in enumerate(find_all(doc, "author"), start=1):
        full_url = map_assigned(find(author, "assignedAuthor"), out, f"header: author {n}")
        if full_url and full_url not in found:
            found.append(full_url)
    return found


def map_custodian(doc: Element, out: DocumentBundle) -> str | None:
    element = find(doc, "custodian/assignedCustodian/representedCustodianOrganization")
    try:
        return map_organization(element, out, "header: custodian")
    except DataError as exc:
        raise CcdaError(f"header: custodian: {exc}") from exc


def map_encompassing_encounter(doc: Element, out: DocumentBundle) -> str | None:
    """componentOf/encompassingEncounter → Encounter (period, class, participants, disposition)."""
    encounter = find(doc, "componentOf/encompassingEncounter")
    if encounter is None:
        return None
    where = "header: componentOf/encompassingEncounter"
    try:
        resource = encounter_resource(encounter, out, where)
        disposition = dt.concept(find(encounter, "dischargeDispositionCode"))
        if disposition:
            resource["hospitalization"] = {"dischargeDisposition": disposition}
        participants = []
        for path in ("responsibleParty/assignedEntity", "encounterParticipant/assignedEntity"):
            for assigned in find_all(encounter, path):
                who = map_assigned(assigned, out, where, people_only=True)
                if who:
                    participants.append({"individual": ref(who)})
        put(resource, "participant", participants)
        provider = map_organization(
            find(encounter, "location/healthCareFacility/serviceProviderOrganization"), out, where
        )
        put(resource, "serviceProvider", ref(provider) if provider else None)
    except DataError as exc:
        raise CcdaError(f"{where}: {exc}") from exc
    resource["id"] = out.entry_id("Encounter", encounter, "encompassingEncounter")
    return out.add(resource, where)


ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
_ACT_CLASSES = {"AMB", "EMER", "FLD", "HH", "IMP", "ACUTE", "NONAC", "OBSENC", "PRENC", "SS", "VR"}


def encounter_resource(encounter: Element, out: DocumentBundle, where: str) -> JSON:
    """The parts an encompassingEncounter and an Encounter Activity share (DataError when wrong)."""
    code = dt.concept(find(encounter, "code"))
    resource: JSON = {"resourceType": "Encounter", "subject": ref(out.patient)}
    put(resource, "identifier", dt.identifiers(encounter))
    act_class = next(
        (
            c
            for c in (code or {}).get("coding", [])
            if c.get("system") == ACT_CODE and c["code"] in _ACT_CLASSES
        ),
        None,
    )
    resource["class"] = act_class or {
        "extension": [
            {"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}
        ]
    }
    put(resource, "type", [code] if code and act_class is None else None)
    when = dt.period(find(encounter, "effectiveTime"))
    put(resource, "period", when)
    status = attr(find(encounter, "statusCode"), "code")
    resource["status"] = _ENCOUNTER_STATUS.get(
        status or "", "finished" if when and "end" in when else "unknown"
    )
    return resource


_ENCOUNTER_STATUS = {
    "completed": "finished",
    "active": "in-progress",
    "cancelled": "cancelled",
    "aborted": "cancelled",
}
