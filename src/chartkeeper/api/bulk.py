"""HTTP shell of FHIR Bulk Data ``$export`` (Bulk Data Access IG v2, async request pattern).

Kick-off at ``/fhir/$export``, ``/fhir/Patient/$export`` and ``/fhir/Group/{id}/$export``
(``Prefer: respond-async`` required) answers 202 with a ``Content-Location`` to poll; the
status URL answers 202 + ``X-Progress`` while running, 200 + the manifest when done, and
DELETE cancels. Everything else (scopes, access filter, audit) happens in the service.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse

from chartkeeper.api.bearer import authenticate
from chartkeeper.api.fhirhttp import base_url
from chartkeeper.errors import InvalidInput
from chartkeeper.export.bulk.models import ExportLevel, ExportRequest
from chartkeeper.export.bulk.service import BulkExportService, JobView
from chartkeeper.fhir.instant import format_instant, parse_instant
from chartkeeper.fhir.outcome import Issue, operation_outcome
from chartkeeper.security.caller import Caller

_UNSUPPORTED = ("_typeFilter", "_elements", "patient", "includeAssociatedData")
FHIR_JSON = "application/fhir+json"


def _parameters(query: list[tuple[str, str]], body: dict[str, Any] | None) -> dict[str, str]:
    """Kick-off parameters from the query string (GET) or a Parameters resource (POST)."""
    params: dict[str, str] = {}
    for name, value in query:
        params[name] = f"{params[name]},{value}" if name in params and name == "_type" else value
    if body is not None:
        if body.get("resourceType") != "Parameters":
            raise InvalidInput("the $export POST body must be a Parameters resource")
        for parameter in body.get("parameter", []):
            key = parameter.get("name")
            given = next((v for k, v in parameter.items() if k.startswith("value")), None)
            if isinstance(key, str) and isinstance(given, str):
                params[key] = f"{params[key]},{given}" if key in params and key == "_type" else given
    return params


def export_request(
    level: ExportLevel, url: str, params: dict[str, str], group_id: str | None
) -> ExportRequest:
    for name in _UNSUPPORTED:
        if name in params:
            raise InvalidInput(f"$export parameter {name} is not supported by this server")
    since = None
    if "_since" in params:
        try:
            since = parse_instant(params["_since"].replace(" ", "+"))  # an unescaped + arrives as a space
        except ValueError as exc:
            raise InvalidInput(f"_since: {params['_since']!r} is not a FHIR instant ({exc})") from exc
    types = tuple(t.strip() for t in params.get("_type", "").split(",") if t.strip())
    return ExportRequest(
        level=level,
        request_url=url,
        group_id=group_id,
        types=types,
        since=since,
        output_format=params.get("_outputFormat", "application/fhir+ndjson"),
    )


def _manifest(view: JobView, base: str) -> dict[str, Any]:
    job = view.job
    return {
        "transactionTime": format_instant(job.transaction_time),
        "request": job.request_url,
        "requiresAccessToken": True,
        "output": [
            {"type": o.res_type, "url": f"{base}/$export-file/{job.job_id}/{o.name}", "count": o.count}
            for o in job.output_files()
        ],
        "error": [],
    }


def bulk_export_router(service: BulkExportService, caller: Callable[..., Any]) -> APIRouter:
    """The $export routes, authenticated by the ``caller`` dependency of the app."""
    router = APIRouter(tags=["Bulk Data export"], dependencies=[Depends(authenticate)])

    async def kick_off(request: Request, who: Caller, level: ExportLevel, group_id: str | None) -> Response:
        if "respond-async" not in request.headers.get("prefer", ""):
            raise InvalidInput("$export is asynchronous: send the header 'Prefer: respond-async'")
        body = None
        if request.method == "POST":
            raw = await request.body()
            try:
                body = orjson.loads(raw) if raw else None
            except orjson.JSONDecodeError as exc:
                raise InvalidInput(f"the $export body is not JSON: {exc}") from exc
        params = _parameters(list(request.query_params.multi_items()), body)
        job_id = service.kick_off(who, export_request(level, str(request.url), params, group_id))
        status_url = f"{base_url(request)}/$export-status/{job_id}"
        return Response(status_code=202, headers={"Content-Location": status_url})

    @router.api_route("/$export", methods=["GET", "POST"], summary="System-level bulk export")
    async def system_export(request: Request, who: Caller = Depends(caller)) -> Response:
        return await kick_off(request, who, "system", None)

    @router.api_route("/Patient/$export", methods=["GET", "POST"], summary="Patient-level bulk export")
    async def patient_export(request: Request, who: Caller = Depends(caller)) -> Response:
        return await kick_off(request, who, "patient", None)

    @router.api_route("/Group/{group_id}/$export", methods=["GET", "POST"], summary="Group-level bulk export")
    async def group_export(group_id: str, request: Request, who: Caller = Depends(caller)) -> Response:
        return await kick_off(request, who, "group", group_id)

    @router.get("/$export-status/{job_id}", summary="Poll a bulk export")
    def export_status(job_id: str, request: Request, who: Caller = Depends(caller)) -> Response:
        view = service.status(who, job_id)
        if view.running:
            return Response(
                status_code=202, headers={"X-Progress": view.job.progress_text(), "Retry-After": "2"}
            )
        if view.job.state == "error":
            outcome = operation_outcome([Issue("error", "exception", view.job.error or "export failed")])
            return Response(orjson.dumps(outcome), status_code=500, media_type=FHIR_JSON)
        body = orjson.dumps(_manifest(view, base_url(request)))
        return Response(body, status_code=200, media_type="application/json")

    @router.delete("/$export-status/{job_id}", summary="Cancel or delete a bulk export")
    def export_cancel(job_id: str, who: Caller = Depends(caller)) -> Response:
        service.cancel(who, job_id)
        return Response(status_code=202)

    @router.get("/$export-file/{job_id}/{name}", summary="Download one NDJSON file of a bulk export")
    def export_file(job_id: str, name: str, who: Caller = Depends(caller)) -> FileResponse:
        path = service.file(who, job_id, name)
        return FileResponse(path, media_type="application/fhir+ndjson", filename=name)

    return router
