"""Turning an AccessEvent into a FHIR R4 AuditEvent (pure; no database).

Shaped after IHE Basic Audit Log Patterns: type ``rest`` with the restful-interaction as
subtype (DICOM "User Authentication" / Login for sign-ins), one agent (the requestor: who,
network address, purpose of use), this server as the source, and one entity per resource
touched plus one per patient (role Patient), so ``AuditEvent?patient=`` finds every access to
a chart. People and clients are not FHIR resources here, so ``agent.who`` is a URN reference
(``urn:chartkeeper:user:alice``): ``AuditEvent?agent=urn:chartkeeper:user:alice`` and
``?altid=user/alice`` both find them.

The builder is the only producer of AuditEvents and its output is valid by construction (every
free-text value goes through ``_text``; codes and references come from our own tables and
validated ids), so the trail does not run the general validator on every access: the tests
validate the builder's output for every action, outcome and unusual caller instead.

A large read (``$everything``, a chart page, a search page, an export) still names every
resource it returned, but past ``COMPACT_AFTER`` resources not one entity each: one "returned
resources" entity lists them in ``detail`` (``type`` "returned", a newline-separated
``valueString`` of at most ``LIST_CHUNK`` references each), beside the patients and the query.
The list is stored and hashed with the record; it is not indexed. An entity per resource put
one ``idx_reference`` row per returned resource into two secondary indexes, and since rows of
one target sort together, every view of a chart scattered ~2,000 inserts over ~2,000 leaf pages
per index: ~12 MB of log per view, a checkpoint every fourth view, and a chart page and
``$everything`` that grew slower with every view (ADR 0021). So ``AuditEvent?entity=X`` finds
the reads of up to ``COMPACT_AFTER`` resources, ``AuditEvent?patient=`` finds every access to a
chart, and ``returned_resources`` reads the full list of any record (old compact records too).
"""

from __future__ import annotations

import base64
from typing import Any

from chartkeeper.fhir.instant import format_instant
from chartkeeper.security.ports import AccessEvent

_AUDIT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
_DCM = "http://dicom.nema.org/resources/ontology/DCM"
_RESTFUL = "http://hl7.org/fhir/restful-interaction"
_OUTCOME = {"success": "0", "denied": "4", "failed": "8"}
_ACTION = {
    "create": "C",
    "read": "R",
    "vread": "R",
    "history-instance": "R",
    "update": "U",
    "patch": "U",
    "delete": "D",
}
#: Our actions that are not FHIR restful-interaction codes.
_SUBTYPE_ALIAS = {"export": "operation"}
_LOGIN = {
    "login": ("110122", "Login"),
    "token": ("110122", "Login"),
    "authenticate": ("110122", "Login"),
    "logout": ("110123", "Logout"),
}
_AGENT_TYPE = "http://terminology.hl7.org/CodeSystem/extra-security-role-type"
_ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
_OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
_PURPOSE = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
#: Past this many resources (patients aside) they are listed in one entity's detail, not indexed.
COMPACT_AFTER = 20
#: References per ``detail`` entry of the returned-resources entity (a FHIR string stays < 1 MB).
LIST_CHUNK = 1000
RETURNED = "returned"
OBSERVER = {"identifier": {"system": "urn:chartkeeper", "value": "chartkeeper"}, "display": "Chartkeeper"}


def agent_urn(subject: str) -> str:
    """``user/alice`` -> ``urn:chartkeeper:user:alice`` (the agent.who reference)."""
    kind, _, name = subject.partition("/")
    return f"urn:chartkeeper:{kind}:{name}"


def build_audit_event(event: AccessEvent, audit_id: str, recorded_us: int) -> dict[str, Any]:
    """A valid R4 AuditEvent for ``event`` (valid by construction: see the module docstring)."""
    caller = event.caller
    login = _LOGIN.get(event.action)
    if login is not None:
        event_type = {"system": _DCM, "code": "110114", "display": "User Authentication"}
        subtype = {"system": _DCM, "code": login[0], "display": login[1]}
    else:
        code = _SUBTYPE_ALIAS.get(event.action, event.action)
        event_type = {"system": _AUDIT_TYPE, "code": "rest", "display": "RESTful Operation"}
        subtype = {"system": _RESTFUL, "code": code}
    display = _text(caller.display) or "?"
    agent: dict[str, Any] = {
        "type": {"coding": [_agent_type(caller.kind)]},
        "who": {"reference": agent_urn(caller.subject), "display": display},
        "altId": _text(caller.subject) or "?",
        "name": display,
        "requestor": True,
    }
    address = _text(caller.source_address)
    if address:
        agent["network"] = {"address": address, "type": "2"}
    if caller.purpose_of_use:
        agent["purposeOfUse"] = [{"coding": [{"system": _PURPOSE, "code": caller.purpose_of_use}]}]
    audit: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": audit_id,
        "type": event_type,
        "subtype": [subtype],
        "action": _ACTION.get(event.action, "E"),
        "recorded": format_instant(recorded_us),
        "outcome": _OUTCOME[event.outcome],
    }
    description = _outcome_desc(event)
    if description:
        audit["outcomeDesc"] = description
    audit["agent"] = [agent]
    audit["source"] = {
        "site": "chartkeeper",
        "observer": OBSERVER,
        "type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4"}],
    }
    entities = _entities(event)
    if entities:
        audit["entity"] = entities
    return audit


def returned_resources(audit: dict[str, Any]) -> list[str]:
    """Every resource an AuditEvent names as touched, in order: its entities' ``what`` (patients
    included) and the returned-resources lists of large reads (see the module docstring)."""
    out: list[str] = []
    for entity in audit.get("entity") or ():
        what = (entity.get("what") or {}).get("reference")
        if isinstance(what, str):
            out.append(what)
        for detail in entity.get("detail") or ():
            if detail.get("type") == RETURNED and isinstance(detail.get("valueString"), str):
                out.extend(ref for ref in detail["valueString"].split("\n") if ref)
    return out


def _agent_type(kind: str) -> dict[str, str]:
    if kind == "user":
        return {"system": _AGENT_TYPE, "code": "humanuser", "display": "human user"}
    return {"system": _AGENT_TYPE, "code": "dataprocessor", "display": "data processor"}


def _outcome_desc(event: AccessEvent) -> str | None:
    parts = [p for p in (event.operation, event.detail) if p]
    return _text(" ".join(" ".join(parts).split())[:1000])


def _text(value: str | None) -> str | None:
    """A FHIR ``string`` from text we did not write (names typed at a sign-in, error messages):
    control characters but CR, LF and tab become ``?``; blank or empty gives None."""
    if not value:
        return None
    if not value.isprintable():
        value = "".join(c if c.isprintable() or c in "\r\n\t" else "?" for c in value)
    return value if value.strip() else None


def _entities(event: AccessEvent) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for patient in dict.fromkeys(event.patients):
        out.append(
            {
                "what": {"reference": f"Patient/{patient}"},
                "type": {"system": _ENTITY_TYPE, "code": "1", "display": "Person"},
                "role": {"system": _OBJECT_ROLE, "code": "1", "display": "Patient"},
            }
        )
    patients = {f"Patient/{p}" for p in event.patients}
    refs = [ref for ref in dict.fromkeys(event.resources) if ref not in patients]
    if len(refs) > COMPACT_AFTER:
        out.append(
            {
                "type": {"system": _ENTITY_TYPE, "code": "2", "display": "System Object"},
                "role": {"system": _OBJECT_ROLE, "code": "4", "display": "Domain Resource"},
                "description": f"{len(refs)} resources returned, listed in detail",
                "detail": [
                    {"type": RETURNED, "valueString": "\n".join(refs[i : i + LIST_CHUNK])}
                    for i in range(0, len(refs), LIST_CHUNK)
                ],
            }
        )
    else:
        out.extend(
            {
                "what": {"reference": ref},
                "type": {"system": _ENTITY_TYPE, "code": "2", "display": "System Object"},
                "role": {"system": _OBJECT_ROLE, "code": "4", "display": "Domain Resource"},
            }
            for ref in refs
        )
    if event.query:
        query: dict[str, Any] = {
            "type": {"system": _ENTITY_TYPE, "code": "2", "display": "System Object"},
            "role": {"system": _OBJECT_ROLE, "code": "24", "display": "Query"},
            "query": base64.b64encode(event.query.encode()).decode(),
        }
        description = _text(event.query[:1000])
        if description:
            query["description"] = description
        out.append(query)
    return out
