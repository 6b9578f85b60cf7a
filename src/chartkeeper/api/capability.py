"""GET /fhir/metadata: a CapabilityStatement that lists exactly what this server does.

No ``searchParam`` and no ``search-type``/``search-system`` interactions yet: search is added by
the search module, which should extend ``capability_statement`` (``rest[0].resource[*]``) there.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from chartkeeper import __version__
from chartkeeper.fhir.instant import format_instant, now_us
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
)
SYSTEM_INTERACTIONS = ("transaction", "batch", "history-system")


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


def capability_statement(base: str) -> dict[str, Any]:
    """The server's CapabilityStatement (kind ``instance``) for the base URL it is served at."""
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
            }
        ],
    }
