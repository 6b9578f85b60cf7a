"""Every error leaves as an OperationOutcome: ours, FastAPI's own 404/405/422, and the
unexpected (a generic 500, logged with its traceback, never sent)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from chartkeeper.api.fhirhttp import BodyTooLarge, NotAcceptable, UnsupportedMediaType, render
from chartkeeper.errors import ChartkeeperError, NotAuthenticated
from chartkeeper.fhir.outcome import Issue, operation_outcome
from chartkeeper.records.outcomes import error_outcome

log = logging.getLogger("chartkeeper.api")

_SHELL_STATUS: dict[type[ChartkeeperError], tuple[int, str]] = {
    NotAcceptable: (406, "not-supported"),
    UnsupportedMediaType: (415, "not-supported"),
    BodyTooLarge: (413, "too-costly"),
}
_HTTP_CODES = {404: "not-found", 405: "not-supported", 406: "not-supported", 413: "too-costly"}


def outcome_response(request: Request, status: int, code: str, message: str) -> Response:
    return render(request, operation_outcome([Issue("error", code, message)]), status)


async def chartkeeper_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ChartkeeperError)
    for cls, (status, code) in _SHELL_STATUS.items():
        if isinstance(exc, cls):
            return outcome_response(request, status, code, str(exc))
    status, body = error_outcome(exc)
    if status == 500:
        log.error("unmapped error on %s %s: %r", request.method, request.url.path, exc)
        return outcome_response(request, 500, "exception", "internal server error")
    response = render(request, body, status)
    if isinstance(exc, NotAuthenticated):
        response.headers["WWW-Authenticate"] = 'Bearer realm="chartkeeper"'
    return response


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = {
        404: f"no such endpoint: {request.url.path}",
        405: f"{request.method} is not supported on {request.url.path}",
    }.get(exc.status_code, str(exc.detail))
    response = outcome_response(
        request, exc.status_code, _HTTP_CODES.get(exc.status_code, "processing"), message
    )
    for key, value in (exc.headers or {}).items():
        response.headers[key] = value
    return response


async def validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    where = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors())
    return outcome_response(request, 400, "invalid", f"invalid request: {where}")


async def unexpected_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        # the database closed a connection this request was using (a restart, a failover): the
        # pool has replaced it, so the same request sent again will be served
        log.warning("database connection lost on %s %s", request.method, request.url.path)
        response = outcome_response(
            request, 503, "transient", "the database connection was lost; send the request again"
        )
        response.headers["Retry-After"] = "1"
        return response
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return outcome_response(request, 500, "exception", "internal server error")


def install(app: FastAPI) -> None:
    app.add_exception_handler(ChartkeeperError, chartkeeper_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected_error)
