"""GET /fhir/metadata: a CapabilityStatement that lists exactly what this server does.

Search parameters are those the search parser accepts (``fhir.search.supported``), so a
parameter is listed exactly when ``GET [type]?param=`` works.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from chartkeeper import __version__
from chartkeeper.fhir.instant import format_instant, now_us
from chartkeeper.fhir.search.params import SearchParam
from chartkeeper.fhir.search.supported import modifiers, supported_params
from chartkeeper.fhir.validation.validator import get_validator

TYPE_INTERACTIONS = (
    "read",
    "vread",
    "update",
    "patch",
    "delete",
    "history-instance",
    "history-type",
    "create",
    "search-type",
)
SYSTEM_INTERACTIONS = ("transaction", "batch", "history-system", "search-system")


def _search_params(res_type: str) -> list[dict[str, Any]]:
    return [_search_param(res_type, p) for p in supported_params(res_type) if not p.code.startswith("_")]


def _search_param(res_type: str, param: SearchParam) -> dict[str, Any]:
    """Name, type, the spec's definition and, in ``documentation``, the modifiers that parse
    (R4's CapabilityStatement has no element for them)."""
    entry: dict[str, Any] = {"name": param.code, "type": param.type}
    if param.url:
        entry["definition"] = param.url
    found = modifiers(res_type, param.code)
    if found:
        entry["documentation"] = "Modifiers: " + ", ".join(f":{m}" for m in found)
    return entry


@cache
def _resources() -> tuple[dict[str, Any], ...]:
    out = []
    for res_type in sorted(get_validator().resource_types):
        entry: dict[str, Any] = {
            "type": res_type,
            "interaction": [{"code": code} for code in TYPE_INTERACTIONS],
            "versioning": "versioned-update",
            "readHistory": True,
            "updateCreate": True,
            "conditionalCreate": True,
            "conditionalRead": "full-support",
            "conditionalUpdate": True,
            "conditionalDelete": "single",
            "searchInclude": [
                f"{res_type}:{p.code}" for p in supported_params(res_type) if p.type == "reference"
            ],
            "searchParam": _search_params(res_type),
            "operation": [
                {
                    "name": "validate",
                    "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate",
                }
            ],
        }
        if res_type == "Patient":
            entry["operation"].append(
                {
                    "name": "everything",
                    "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
                }
            )
        out.append(entry)
    return tuple(out)


_EXPORT = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/"
_SMART = "http://fhir-registry.smarthealthit.org/CodeSystem/capabilities"


def _with_features(statement: dict[str, Any], base: str, features: tuple[str, ...]) -> dict[str, Any]:
    """Add what the app was built with: bulk export operations, the SMART token endpoint."""
    rest = statement["rest"][0]
    if "bulk-export" in features:
        rest["operation"] = [{"name": "export", "definition": _EXPORT + "export"}]
        for entry in rest["resource"]:
            if entry["type"] in ("Patient", "Group"):
                name = "patient-export" if entry["type"] == "Patient" else "group-export"
                # a new list: the entries share theirs with the cached statement
                entry["operation"] = [*entry["operation"], {"name": "export", "definition": _EXPORT + name}]
    if "merge" in features:
        for entry in rest["resource"]:
            if entry["type"] == "Patient":
                # the Patient $merge of FHIR R5, as Chartkeeper implements it (see docs/mpi.md)
                entry["operation"] = [
                    *entry["operation"],
                    {"name": "merge", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-merge"},
                ]
    if "smart" in features:
        token = base.rsplit("/fhir", 1)[0] + "/auth/token"
        rest["security"] = {
            "service": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                            "code": "SMART-on-FHIR",
                        }
                    ]
                }
            ],
            "extension": [
                {
                    "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                    "extension": [{"url": "token", "valueUri": token}],
                }
            ],
            "description": "OAuth2 bearer tokens from /auth/token (client credentials with a secret or a "
            "SMART Backend Services assertion; password grant for people); SMART v2 scopes.",
        }
    return statement


def capability_statement(base: str, features: tuple[str, ...] = ()) -> dict[str, Any]:
    """The server's CapabilityStatement (kind ``instance``) for the base URL it is served at;
    ``features`` names what the app was built with (``bulk-export``, ``smart``)."""
    return _with_features(_statement(base), base, features)


def _statement(base: str) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": format_instant(now_us())[:10],
        "publisher": "Chartkeeper",
        "kind": "instance",
        "software": {"name": "Chartkeeper", "version": __version__},
        "implementation": {"description": "Chartkeeper FHIR R4 server", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "patchFormat": ["application/json-patch+json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Every /fhir request except GET /fhir/metadata needs Authorization: Bearer.",
                "resource": [dict(r) for r in _resources()],
                "interaction": [{"code": code} for code in SYSTEM_INTERACTIONS],
                "searchParam": [
                    {"name": p.code, "type": p.type}
                    for p in supported_params("Patient")
                    if p.code.startswith("_")
                ],
            }
        ],
    }
