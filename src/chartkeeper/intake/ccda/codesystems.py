"""Code-system and identifier OIDs → the canonical FHIR URIs the "C-CDA on FHIR" mapping uses.

An OID not listed keeps its identity as ``urn:oid:<oid>``, which FHIR accepts for any system;
a UUID root becomes ``urn:uuid:<uuid>``.
"""

from __future__ import annotations

import re

CODE_SYSTEMS: dict[str, str] = {
    "2.16.840.1.113883.6.96": "http://snomed.info/sct",
    "2.16.840.1.113883.6.1": "http://loinc.org",
    "2.16.840.1.113883.6.88": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "2.16.840.1.113883.6.90": "http://hl7.org/fhir/sid/icd-10-cm",
    "2.16.840.1.113883.6.3": "http://hl7.org/fhir/sid/icd-10",
    "2.16.840.1.113883.6.103": "http://hl7.org/fhir/sid/icd-9-cm",
    "2.16.840.1.113883.6.104": "http://hl7.org/fhir/sid/icd-9-cm",
    "2.16.840.1.113883.6.4": "http://www.cms.gov/Medicare/Coding/ICD10",
    "2.16.840.1.113883.12.292": "http://hl7.org/fhir/sid/cvx",
    "2.16.840.1.113883.12.227": "http://hl7.org/fhir/sid/mvx",
    "2.16.840.1.113883.6.12": "http://www.ama-assn.org/go/cpt",
    "2.16.840.1.113883.6.285": "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
    "2.16.840.1.113883.6.69": "http://hl7.org/fhir/sid/ndc",
    "2.16.840.1.113883.4.9": "http://fdasis.nlm.nih.gov",
    "2.16.840.1.113883.6.8": "http://unitsofmeasure.org",
    "2.16.840.1.113883.6.101": "http://nucc.org/provider-taxonomy",
    "2.16.840.1.113883.3.26.1.1": "http://ncimeta.nci.nih.gov",
    "2.16.840.1.113883.6.13": "http://ada.org/cdt",
    "2.16.840.1.113883.5.1": "http://terminology.hl7.org/CodeSystem/v3-AdministrativeGender",
    "2.16.840.1.113883.5.4": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
    "2.16.840.1.113883.5.6": "http://terminology.hl7.org/CodeSystem/v3-ActClass",
    "2.16.840.1.113883.5.8": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
    "2.16.840.1.113883.5.14": "http://terminology.hl7.org/CodeSystem/v3-ActStatus",
    "2.16.840.1.113883.5.83": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
    "2.16.840.1.113883.5.111": "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
    "2.16.840.1.113883.5.112": "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration",
    "2.16.840.1.113883.5.1063": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "2.16.840.1.113883.5.1008": "http://terminology.hl7.org/CodeSystem/v3-NullFlavor",
    "2.16.840.1.113883.5.2": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus",
    "2.16.840.1.113883.5.25": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
    "2.16.840.1.113883.5.60": "http://terminology.hl7.org/CodeSystem/v3-LanguageAbilityMode",
    "2.16.840.1.113883.5.1076": "http://terminology.hl7.org/CodeSystem/v3-ReligiousAffiliation",
    "2.16.840.1.113883.5.110": "http://terminology.hl7.org/CodeSystem/v3-RoleClass",
    "2.16.840.1.113883.12.112": "http://terminology.hl7.org/CodeSystem/v2-0112",
    "2.16.840.1.113883.6.238": "urn:oid:2.16.840.1.113883.6.238",
}

#: identifier roots with a FHIR-defined system (the NPI lets a C-CDA author and a FHIR
#: Practitioner from another feed meet on one identifier)
IDENTIFIER_SYSTEMS: dict[str, str] = {
    "2.16.840.1.113883.4.6": "http://hl7.org/fhir/sid/us-npi",
}

_OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def is_oid(value: str) -> bool:
    return bool(_OID.match(value))


def root_uri(root: str) -> str | None:
    """``urn:oid:…`` / ``urn:uuid:…`` for an II root or a codeSystem; None when it is neither."""
    if _OID.match(root):
        return f"urn:oid:{root}"
    if _UUID.match(root):
        return f"urn:uuid:{root.lower()}"
    return None


def code_system_uri(oid: str) -> str | None:
    """The FHIR system URI for a codeSystem OID, or None when the value is not an OID/UUID."""
    return CODE_SYSTEMS.get(oid) or root_uri(oid)


def identifier_system(root: str) -> str | None:
    return IDENTIFIER_SYSTEMS.get(root) or root_uri(root)
