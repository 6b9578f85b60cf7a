"""Request parsing shared by the routes: the service, the JSON body, criteria, paging, responses."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response

from chartkeeper.api.fhirhttp import (
    PATCH_JSON,
    base_url,
    check_body_type,
    prefer_return,
    render,
    version_headers,
)
from chartkeeper.errors import InvalidInput
from chartkeeper.fhir.outcome import Issue, operation_outcome
from chartkeeper.fhir.validation import parse_json_issues
from chartkeeper.records import RecordService, Saved
from chartkeeper.records.models import HistoryPage
from chartkeeper.records.paging import PageRequest, parse_at, parse_count, parse_since, parse_types
from chartkeeper.records.service import known_types

#: Parameters that shape the response, never part of conditional criteria.
CONTROL = frozenset({"_format", "_pretty", "_summary", "_elements"})


async def records(request: Request) -> RecordService:
    """The app's RecordService (``async``: no thread-pool hop for a lookup)."""
    service: RecordService = request.app.state.records
    return service


async def json_body(request: Request) -> Any:
    """The body as JSON; 415 for another media type, 400 naming line/column when malformed."""
    check_body_type(request)
    return await _parse(request)


async def patch_body(request: Request) -> Any:
    check_body_type(request, (PATCH_JSON, "application/json"))
    return await _parse(request)


async def _parse(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise InvalidInput("the request has no body")
    parsed, issues = parse_json_issues(raw)
    if parsed is None:
        raise InvalidInput(issues[0].message if issues else "the body is not JSON", issues)
    return parsed


def criteria(request: Request) -> str:
    """The query string minus response-shaping parameters: conditional criteria."""
    items = [(k, v) for k, v in request.query_params.multi_items() if k not in CONTROL]
    return urlencode(items)


def page_request(request: Request, *, with_types: bool = False, with_at: bool = True) -> PageRequest:
    params = request.query_params
    return PageRequest(
        count=parse_count(params.get("_count")),
        since=parse_since(params.get("_since")),
        at=parse_at(params.get("_at")) if with_at else None,
        types=parse_types(params.get("_type"), known_types()) if with_types else None,
        cursor=params.get("_cursor"),
    )


def page_links(request: Request, page: HistoryPage) -> tuple[str, str | None]:
    """(self, next) URLs: the same request, the next one with ``_cursor`` set."""
    self_url = str(request.url)
    if page.next_cursor is None:
        return self_url, None
    items = [(k, v) for k, v in request.query_params.multi_items() if k != "_cursor"]
    items.append(("_cursor", page.next_cursor))
    return self_url, str(request.url.replace(query=urlencode(items)))


def saved_response(request: Request, saved: Saved) -> Response:
    """201/200 with ETag, Last-Modified, Location and the body Prefer asks for."""
    headers: dict[str, str] = {}
    if saved.version_id is not None and saved.last_updated is not None:
        headers.update(version_headers(saved.version_id, saved.last_updated))
        if saved.outcome != "matched":
            headers["Location"] = (
                f"{base_url(request)}/{saved.res_type}/{saved.res_id}/_history/{saved.version_id}"
            )
    status = 201 if saved.created else 200
    prefer = prefer_return(request)
    if prefer == "minimal":
        return render(request, None, status, headers)
    if prefer == "OperationOutcome":
        message = f"{saved.res_type}/{saved.res_id}: {saved.outcome} (version {saved.version_id})"
        return render(
            request, operation_outcome([Issue("information", "informational", message)]), status, headers
        )
    return render(request, saved.resource, status, headers)


def deleted_response(request: Request, saved: Saved) -> Response:
    """204, or 200 with an OperationOutcome when Prefer: return=OperationOutcome."""
    headers = {}
    if saved.outcome == "deleted" and saved.version_id is not None:
        headers["ETag"] = f'W/"{saved.version_id}"'
    if prefer_return(request) == "OperationOutcome":
        what = f"{saved.res_type}/{saved.res_id}" if saved.res_id else saved.res_type
        text = "deleted" if saved.outcome == "deleted" else "nothing to delete"
        return render(
            request,
            operation_outcome([Issue("information", "informational", f"{what}: {text}")]),
            200,
            headers,
        )
    return render(request, None, 204, headers)
