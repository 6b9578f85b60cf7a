"""HL7 v2 tables and coding-system names → FHIR code systems and codes (V2-to-FHIR vocabulary maps)."""

from __future__ import annotations

import re

from chartkeeper.fhir.validation.primitives import is_plausible_oid

_SYSTEMS = {
    "LN": "http://loinc.org",
    "LOINC": "http://loinc.org",
    "SCT": "http://snomed.info/sct",
    "SNM": "http://snomed.info/sct",
    "SNOMED": "http://snomed.info/sct",
    "SNOMEDCT": "http://snomed.info/sct",
    "I10": "http://hl7.org/fhir/sid/icd-10",
    "I10C": "http://hl7.org/fhir/sid/icd-10-cm",
    "ICD10CM": "http://hl7.org/fhir/sid/icd-10-cm",
    "I9C": "http://hl7.org/fhir/sid/icd-9-cm",
    "UCUM": "http://unitsofmeasure.org",
    "CVX": "http://hl7.org/fhir/sid/cvx",
    "MVX": "http://hl7.org/fhir/sid/mvx",
    "NDC": "http://hl7.org/fhir/sid/ndc",
    "RXNORM": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "RXN": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "CPT": "http://www.ama-assn.org/go/cpt",
    "C4": "http://www.ama-assn.org/go/cpt",
    "NCIT": "http://ncimeta.nci.nih.gov",
    "CDCREC": "urn:oid:2.16.840.1.113883.6.238",
    "DCM": "http://dicom.nema.org/resources/ontology/DCM",
}
_TABLE = re.compile(r"^HL7(\d{4})$")
_OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")


def code_system(name: str) -> str | None:
    """A v2 coding-system name (LN, SCT, HL70078, an OID …) → FHIR system URI; None if unknown."""
    name = name.strip()
    if not name:
        return None
    upper = name.upper()
    if upper in _SYSTEMS:
        return _SYSTEMS[upper]
    table = _TABLE.match(upper)
    if table:
        return f"http://terminology.hl7.org/CodeSystem/v2-{table.group(1)}"
    if _OID.match(name) and is_plausible_oid(f"urn:oid:{name}"):
        return f"urn:oid:{name}"
    return None


#: HL7 table 0001 → FHIR administrative-gender
GENDER = {"M": "male", "F": "female", "O": "other", "A": "other", "U": "unknown", "N": "unknown"}

#: HL7 table 0002 codes that are also v3 MaritalStatus codes
MARITAL_V3 = frozenset("ADILMPSTUW")

#: PV1-2 patient class (HL7 table 0004) → v3 ActCode encounter class
ENCOUNTER_CLASS = {
    "E": ("EMER", "emergency"),
    "I": ("IMP", "inpatient encounter"),
    "O": ("AMB", "ambulatory"),
    "P": ("PRENC", "pre-admission"),
    "R": ("AMB", "ambulatory"),
    "B": ("IMP", "inpatient encounter"),
    "C": ("AMB", "ambulatory"),
}

#: ADT trigger → Encounter.status
ENCOUNTER_STATUS = {
    "A01": "in-progress",
    "A02": "in-progress",
    "A03": "finished",
    "A04": "arrived",
    "A05": "planned",
    "A11": "cancelled",
    "A13": "in-progress",
    "A06": "in-progress",
    "A07": "in-progress",
    "A14": "planned",
    "A27": "cancelled",
}

#: OBX-11 (HL7 table 0085) → Observation.status
OBSERVATION_STATUS = {
    "C": "corrected",
    "D": "entered-in-error",
    "F": "final",
    "I": "registered",
    "O": "registered",
    "P": "preliminary",
    "R": "preliminary",
    "S": "preliminary",
    "U": "final",
    "W": "entered-in-error",
    "X": "cancelled",
    "N": "cancelled",
}

#: OBR-25 (HL7 table 0123) → DiagnosticReport.status
REPORT_STATUS = {
    "O": "registered",
    "I": "registered",
    "S": "registered",
    "A": "partial",
    "P": "preliminary",
    "C": "corrected",
    "R": "partial",
    "F": "final",
    "X": "cancelled",
    "Y": "unknown",
    "Z": "unknown",
}

#: TXA-17 document completion status (HL7 table 0271) → DocumentReference.docStatus
DOC_STATUS = {
    "AU": "final",
    "LA": "final",
    "DO": "final",
    "DI": "preliminary",
    "IP": "preliminary",
    "IN": "preliminary",
    "PA": "preliminary",
}

#: OBX-8 abnormal flags (HL7 table 0078) that are v3 ObservationInterpretation codes
INTERPRETATION = frozenset(
    {"<", ">", "A", "AA", "B", "D", "H", "HH", "HU", "I", "L", "LL", "LU", "MS", "N", "NEG", "NR"}
    | {"POS", "R", "S", "U", "VS", "W", "IND", "E", "DET", "ND", "RR", "QCF", "TOX", "EX", "HX", "LX"}
)

#: RXA-20 completion status (HL7 table 0322) → Immunization.status
IMMUNIZATION_STATUS = {"CP": "completed", "PA": "completed", "RE": "not-done", "NA": "not-done"}
