"""Roles of the medical records department, and the SMART scopes each one grants.

A person's token carries the union of their roles' scopes, all in the ``user/`` context. Roles
name resource types explicitly rather than using ``*``, because ``user/*.rs`` would include
AuditEvent, and the access log is the privacy officer's alone (the auditor role). Types outside
``RECORD_TYPES`` are reachable only by clients registered with scopes that name them.
"""

from __future__ import annotations

from chartkeeper.errors import InvalidInput
from chartkeeper.security.scopes import ScopeSet

#: The parts of the record the department works with (everything Synthea and the demo produce,
#: plus the HIM workflow resources). AuditEvent is deliberately not here.
RECORD_TYPES: tuple[str, ...] = (
    "AllergyIntolerance",
    "Binary",
    "CarePlan",
    "CareTeam",
    "Claim",
    "Composition",
    "Condition",
    "Consent",
    "Coverage",
    "Device",
    "DiagnosticReport",
    "DocumentReference",
    "Encounter",
    "EpisodeOfCare",
    "ExplanationOfBenefit",
    "FamilyMemberHistory",
    "Goal",
    "ImagingStudy",
    "Immunization",
    "List",
    "Location",
    "Medication",
    "MedicationAdministration",
    "MedicationDispense",
    "MedicationRequest",
    "MedicationStatement",
    "Observation",
    "Organization",
    "Patient",
    "Practitioner",
    "PractitionerRole",
    "Procedure",
    "Provenance",
    "QuestionnaireResponse",
    "RelatedPerson",
    "ServiceRequest",
    "Specimen",
    "SupplyDelivery",
)
_DIRECTORY = ("Organization", "Practitioner", "PractitionerRole", "Location", "Device", "Endpoint")


def _scopes(types: tuple[str, ...], perms: str) -> list[str]:
    return [f"user/{t}.{perms}" for t in types]


def _read_record() -> list[str]:
    return _scopes(RECORD_TYPES, "rs")


#: role -> (what the role is, its scopes). Permissions are SMART v2 letters (c r u d s).
ROLES: dict[str, tuple[str, list[str]]] = {
    "admin": (
        "system administrator: user and client accounts (CLI) and the directory of organizations, "
        "practitioners and locations; no access to charts or the access log",
        _scopes(_DIRECTORY, "cruds"),
    ),
    "clerk": (
        "HIM clerk: registration, chart assembly and document indexing",
        [
            *_read_record(),
            *_scopes(("Patient", "Encounter", "EpisodeOfCare", "DocumentReference", "Binary", "List"), "cru"),
        ],
    ),
    "coder": (
        "clinical coder: reads charts, codes diagnoses and procedures, prepares claims",
        # Provenance.c: each coding change is written with a Provenance saying who coded what
        [
            *_read_record(),
            *_scopes(("Condition", "Procedure", "Encounter", "Claim"), "cru"),
            "user/Provenance.c",
        ],
    ),
    "roi": (
        "release of information: reads charts, records consents and disclosures",
        [*_read_record(), *_scopes(("Consent", "Provenance", "DocumentReference", "Binary"), "cru")],
    ),
    "auditor": (
        "privacy officer: the only role that reads the access log (AuditEvent)",
        [
            "user/AuditEvent.rs",
            *_scopes(("Patient", "Practitioner", "PractitionerRole", "Organization", "Provenance"), "rs"),
        ],
    ),
    "registrar": (
        "registry abstractor (cancer, trauma, ...): reads charts, records registry lists",
        [*_read_record(), *_scopes(("List", "Observation"), "cru")],
    ),
    "integrator": (
        "interface analyst: creates, corrects and removes records arriving from feeds",
        _scopes(RECORD_TYPES, "cruds"),
    ),
}


def check_roles(roles: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The roles, sorted and deduplicated; InvalidInput naming an unknown one."""
    if not roles:
        raise InvalidInput(f"give at least one role ({', '.join(ROLES)})")
    for role in roles:
        if role not in ROLES:
            raise InvalidInput(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    return tuple(sorted(set(roles)))


def scopes_for_roles(roles: tuple[str, ...] | list[str]) -> ScopeSet:
    """The union of the roles' scopes, merged per type (``user/Patient.rs`` + ``.cru`` = ``.crus``)."""
    perms: dict[str, set[str]] = {}
    for role in roles:
        for scope in ROLES.get(role, ("", []))[1]:
            target, letters = scope.rsplit(".", 1)
            perms.setdefault(target, set()).update(letters)
    text = " ".join(f"{t}.{''.join(c for c in 'cruds' if c in p)}" for t, p in sorted(perms.items()))
    return ScopeSet.parse(text)
