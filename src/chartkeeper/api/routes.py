"""The /fhir routes: every FHIR R4 interaction the server supports, search included.

Each route parses HTTP, calls one RecordService method and renders its result; scope checks,
access filtering and audit are the service's. Most routes are plain ``def``: FastAPI runs them in its
thread pool, and the service's database work is synchronous. Read and vread, the most frequent
and the shortest, are ``async`` and go through ``inline.run_short`` (on the event loop when the
database is on this host, in the thread pool when it is across a network).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from chartkeeper.api.bearer import authenticate, current_caller
from chartkeeper.api.capability import capability_statement
from chartkeeper.api.deps import (
    criteria,
    deleted_response,
    json_body,
    page_links,
    page_request,
    patch_body,
    records,
    saved_response,
)
from chartkeeper.api.fhirhttp import (
    UnsupportedMediaType,
    base_url,
    check_format,
    not_modified,
    parse_if_match,
    prefer_return,
    render,
    version_headers,
)
from chartkeeper.api.inline import run_short
from chartkeeper.errors import InvalidInput
from chartkeeper.fhir.outcome import operation_outcome
from chartkeeper.records import RecordService
from chartkeeper.records.render import history_bundle, searchset_bundle
from chartkeeper.records.search import SearchService, query_pairs
from chartkeeper.security.caller import Caller
from chartkeeper.store.models import StoredVersion

router = APIRouter(dependencies=[Depends(authenticate), Depends(check_format)])
Service = Depends(records)
Who = Depends(current_caller)
Body = Depends(json_body)


async def _short_call_parts(request: Request) -> tuple[Caller, RecordService]:
    """The caller and the RecordService of a read by id or vread, the API's most frequent and
    shortest requests, taken by calling the same functions ``Who`` and ``Service`` name:
    FastAPI's resolution of those two dependencies cost 5-10 % of a read's CPU (ADR 0026)."""
    return await current_caller(request), await records(request)


def _version_response(request: Request, stored: StoredVersion) -> Response:
    headers = version_headers(stored.version_id, stored.last_updated)
    if not_modified(request, stored.version_id, stored.last_updated):
        return render(request, None, 304, headers)
    return render(request, stored.content, 200, headers)


# -- system level ------------------------------------------------------------------------
@router.api_route("/metadata", methods=["GET", "HEAD"], summary="CapabilityStatement (no authentication)")
def metadata(request: Request) -> Response:
    return render(
        request, capability_statement(base_url(request), getattr(request.app.state, "features", ()))
    )


@router.post("", summary="batch or transaction")
@router.post("/", include_in_schema=False)
def bundle(
    request: Request, body: Any = Body, caller: Caller = Who, service: RecordService = Service
) -> Response:
    if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
        raise InvalidInput("POST [base] takes a Bundle of type batch or transaction")
    kind = body.get("type")
    minimal = prefer_return(request) == "minimal"
    if kind == "transaction":
        return render(request, service.transaction(caller, body, base=base_url(request), minimal=minimal))
    if kind == "batch":
        return render(request, service.batch(caller, body, base=base_url(request), minimal=minimal))
    raise InvalidInput(f"POST [base] takes a batch or transaction Bundle, not {kind!r}")


@router.get("/_history", summary="system history")
def history_system(request: Request, caller: Caller = Who, service: RecordService = Service) -> Response:
    page = service.history(caller, None, None, page_request(request))
    return render(request, history_bundle(page, base_url(request), *page_links(request, page)))


# -- type level --------------------------------------------------------------------------
@router.post("/{res_type}", summary="create (If-None-Exist: conditional create)")
def create(
    request: Request, res_type: str, body: Any = Body, caller: Caller = Who, service: RecordService = Service
) -> Response:
    if isinstance(body, dict) and body.get("resourceType") != res_type:
        raise InvalidInput(f"the resource is a {body.get('resourceType')}, not a {res_type}")
    saved = service.create(caller, body, if_none_exist=request.headers.get("if-none-exist"))
    return saved_response(request, saved)


@router.put("/{res_type}", summary="conditional update")
def conditional_update(
    request: Request, res_type: str, body: Any = Body, caller: Caller = Who, service: RecordService = Service
) -> Response:
    if_match = parse_if_match(request.headers.get("if-match"))
    saved = service.conditional_update(caller, res_type, criteria(request), body, if_match=if_match)
    return saved_response(request, saved)


@router.delete("/{res_type}", summary="conditional delete")
def conditional_delete(
    request: Request, res_type: str, caller: Caller = Who, service: RecordService = Service
) -> Response:
    return deleted_response(request, service.conditional_delete(caller, res_type, criteria(request)))


@router.patch("/{res_type}", summary="conditional patch (JSON Patch)")
def conditional_patch(
    request: Request,
    res_type: str,
    body: Any = Depends(patch_body),
    caller: Caller = Who,
    service: RecordService = Service,
) -> Response:
    if_match = parse_if_match(request.headers.get("if-match"))
    saved = service.conditional_patch(caller, res_type, criteria(request), body, if_match=if_match)
    return saved_response(request, saved)


@router.get("/{res_type}/_history", summary="type history")
def history_type(
    request: Request, res_type: str, caller: Caller = Who, service: RecordService = Service
) -> Response:
    page = service.history(caller, res_type, None, page_request(request))
    return render(request, history_bundle(page, base_url(request), *page_links(request, page)))


@router.post("/{res_type}/$validate", summary="$validate (type)")
def validate_type(
    request: Request, res_type: str, body: Any = Body, caller: Caller = Who, service: RecordService = Service
) -> Response:
    return _validate(request, res_type, None, body, caller, service)


# -- instance level ----------------------------------------------------------------------
@router.api_route(
    "/{res_type}/{res_id}", methods=["GET", "HEAD"], summary="read (If-None-Match, If-Modified-Since: 304)"
)
async def read(request: Request, res_type: str, res_id: str) -> Response:
    caller, service = await _short_call_parts(request)
    stored = await run_short(request, lambda: service.read(caller, res_type, res_id))
    return _version_response(request, stored)


@router.put("/{res_type}/{res_id}", summary="update or create with this id (If-Match)")
def update(
    request: Request,
    res_type: str,
    res_id: str,
    body: Any = Body,
    caller: Caller = Who,
    service: RecordService = Service,
) -> Response:
    if_match = parse_if_match(request.headers.get("if-match"))
    return saved_response(request, service.update(caller, res_type, res_id, body, if_match=if_match))


@router.patch("/{res_type}/{res_id}", summary="patch (JSON Patch)")
def patch(
    request: Request,
    res_type: str,
    res_id: str,
    body: Any = Depends(patch_body),
    caller: Caller = Who,
    service: RecordService = Service,
) -> Response:
    if_match = parse_if_match(request.headers.get("if-match"))
    return saved_response(request, service.patch(caller, res_type, res_id, body, if_match=if_match))


@router.delete("/{res_type}/{res_id}", summary="delete (If-Match)")
def delete(
    request: Request, res_type: str, res_id: str, caller: Caller = Who, service: RecordService = Service
) -> Response:
    if_match = parse_if_match(request.headers.get("if-match"))
    return deleted_response(request, service.delete(caller, res_type, res_id, if_match=if_match))


@router.get("/{res_type}/{res_id}/_history", summary="instance history")
def history_instance(
    request: Request, res_type: str, res_id: str, caller: Caller = Who, service: RecordService = Service
) -> Response:
    page = service.history(caller, res_type, res_id, page_request(request))
    return render(request, history_bundle(page, base_url(request), *page_links(request, page)))


@router.api_route("/{res_type}/{res_id}/_history/{version_id}", methods=["GET", "HEAD"], summary="vread")
async def vread(request: Request, res_type: str, res_id: str, version_id: str) -> Response:
    caller, service = await _short_call_parts(request)
    stored = await run_short(request, lambda: service.vread(caller, res_type, res_id, version_id))
    return _version_response(request, stored)


@router.post("/{res_type}/{res_id}/$validate", summary="$validate (instance)")
def validate_instance(
    request: Request,
    res_type: str,
    res_id: str,
    body: Any = Body,
    caller: Caller = Who,
    service: RecordService = Service,
) -> Response:
    return _validate(request, res_type, res_id, body, caller, service)


@router.get("/Patient/{res_id}/$everything", summary="Patient $everything")
@router.post("/Patient/{res_id}/$everything", include_in_schema=False)
def everything(
    request: Request, res_id: str, caller: Caller = Who, service: RecordService = Service
) -> Response:
    wanted = page_request(request, with_types=True, with_at=False)
    page = service.everything(caller, res_id, wanted, serialized=True)
    return render(request, searchset_bundle(page, base_url(request), *page_links(request, page)))


def _validate(
    request: Request, res_type: str, res_id: str | None, body: Any, caller: Caller, service: RecordService
) -> Response:
    """The body is the resource, or Parameters with ``resource`` and ``mode`` (OperationDefinition
    Resource-validate); the answer is always an OperationOutcome (200: the operation ran)."""
    mode = request.query_params.get("mode")
    resource = body
    if isinstance(body, dict) and body.get("resourceType") == "Parameters" and res_type != "Parameters":
        resource = None
        for param in body.get("parameter") or []:
            if not isinstance(param, dict):
                continue
            if param.get("name") == "resource":
                resource = param.get("resource")
            elif param.get("name") == "mode":
                mode = param.get("valueCode") or param.get("valueString")
    issues = service.validate(caller, resource, res_type=res_type, res_id=res_id, mode=mode)
    return render(request, operation_outcome(issues))


# -- search (last: the fixed paths above take precedence over /{res_type}) ----------------
def _searches(request: Request) -> SearchService:
    return request.app.state.search  # type: ignore[no-any-return]


Search = Depends(_searches)


def _strict(request: Request) -> bool:
    """``Prefer: handling=strict`` makes unknown parameters an error (400); the default is
    lenient: they are dropped, and the Bundle says so in its self link and an outcome entry."""
    return "handling=strict" in request.headers.get("prefer", "").replace(" ", "")


async def _form_pairs(request: Request) -> list[tuple[str, str]]:
    """``POST …/_search``: the query string plus an application/x-www-form-urlencoded body."""
    pairs = list(request.query_params.multi_items())
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    body = await request.body()
    if body:
        if content_type != "application/x-www-form-urlencoded":
            raise UnsupportedMediaType("POST _search takes application/x-www-form-urlencoded parameters")
        pairs += query_pairs(body.decode("utf-8", errors="replace"))
    return pairs


@router.get("", summary="search all types (system search, _type)")
def search_system(request: Request, caller: Caller = Who, search: SearchService = Search) -> Response:
    pairs = list(request.query_params.multi_items())
    return render(
        request, search.search(caller, None, pairs, base=base_url(request), strict=_strict(request))
    )


@router.post("/_search", summary="search all types (parameters in the form body)")
async def search_system_post(
    request: Request, caller: Caller = Who, search: SearchService = Search
) -> Response:
    pairs = await _form_pairs(request)
    bundle = await run_in_threadpool(
        search.search, caller, None, pairs, base=base_url(request), strict=_strict(request)
    )
    return render(request, bundle)


@router.get("/{res_type}", summary="search")
def search_type(
    request: Request, res_type: str, caller: Caller = Who, search: SearchService = Search
) -> Response:
    pairs = list(request.query_params.multi_items())
    return render(
        request, search.search(caller, res_type, pairs, base=base_url(request), strict=_strict(request))
    )


@router.post("/{res_type}/_search", summary="search (parameters in the form body)")
async def search_type_post(
    request: Request, res_type: str, caller: Caller = Who, search: SearchService = Search
) -> Response:
    pairs = await _form_pairs(request)
    bundle = await run_in_threadpool(
        search.search, caller, res_type, pairs, base=base_url(request), strict=_strict(request)
    )
    return render(request, bundle)
