"""``POST /fhir/Patient/$merge``: the master patient index's merge, over HTTP.

The input is a Parameters resource as in FHIR's Patient $merge operation (``source-patient``
and ``target-patient`` references, plus a ``reason`` string, which Chartkeeper requires because
every merge is recorded with who, when and why). The merge itself, its scope check and its
audit record are the MpiService's — the same call the CLI and HL7 ADT^A40 handling use.
``result-patient`` and ``preview`` are refused rather than ignored.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from chartkeeper.api.bearer import authenticate, current_caller
from chartkeeper.api.deps import json_body
from chartkeeper.api.fhirhttp import render
from chartkeeper.errors import InvalidInput
from chartkeeper.mpi.service import MpiService
from chartkeeper.security.caller import Caller

_UNSUPPORTED = ("result-patient", "preview", "source-patient-identifier", "target-patient-identifier")


def _patient_reference(value: Any, name: str) -> str:
    reference = value.get("reference") if isinstance(value, dict) else None
    if not isinstance(reference, str) or not reference.startswith("Patient/") or reference.count("/") != 1:
        raise InvalidInput(f"$merge: {name} must be a reference Patient/[id]")
    return reference.split("/", 1)[1]


def merge_arguments(body: Any) -> tuple[str, str, str]:
    """(source id, target id, reason) from the Parameters body; InvalidInput naming what is wrong."""
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise InvalidInput("$merge takes a Parameters resource")
    given = {p.get("name"): p for p in body.get("parameter", []) if isinstance(p, dict)}
    for name in _UNSUPPORTED:
        if name in given:
            raise InvalidInput(f"$merge parameter {name} is not supported by this server")
    missing = [n for n in ("source-patient", "target-patient", "reason") if n not in given]
    if missing:
        raise InvalidInput(f"$merge needs the parameters {', '.join(missing)}")
    reason = given["reason"].get("valueString")
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("$merge: reason must be a non-empty valueString")
    source = _patient_reference(given["source-patient"].get("valueReference"), "source-patient")
    target = _patient_reference(given["target-patient"].get("valueReference"), "target-patient")
    if source == target:
        raise InvalidInput("$merge: source-patient and target-patient are the same patient")
    return source, target, reason.strip()


def merge_router(mpi: MpiService) -> APIRouter:
    router = APIRouter(tags=["Master patient index"], dependencies=[Depends(authenticate)])

    @router.post("/Patient/$merge", summary="merge two Patient records (master patient index)")
    def patient_merge(
        request: Request, body: Any = Depends(json_body), caller: Caller = Depends(current_caller)
    ) -> Response:
        source, target, reason = merge_arguments(body)
        result = mpi.merge(caller, source, target, reason)
        out = {
            "resourceType": "Parameters",
            "parameter": [
                {"name": "result", "valueReference": {"reference": f"Patient/{result.target}"}},
                {"name": "merge-id", "valueString": str(result.merge_id)},
                *({"name": "written", "valueString": ref} for ref in result.resources),
            ],
        }
        return render(request, out)

    return router
