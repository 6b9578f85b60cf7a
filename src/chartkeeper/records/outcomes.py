"""The HTTP status of each error (http.html), shared by the REST shell and Bundle responses."""

from __future__ import annotations

from typing import Any

from chartkeeper.errors import (
    ChartkeeperError,
    Conflict,
    Forbidden,
    Gone,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PreconditionFailed,
    StoreUnavailable,
)
from chartkeeper.fhir.outcome import Issue, operation_outcome
from chartkeeper.records.models import NotSupported, Unprocessable

#: (error class, status, IssueType code); the first match wins, so subclasses come first.
_STATUS: tuple[tuple[type[ChartkeeperError], int, str], ...] = (
    (Unprocessable, 422, "processing"),
    (NotSupported, 400, "not-supported"),
    (InvalidInput, 400, "invalid"),
    (NotAuthenticated, 401, "login"),
    (Forbidden, 403, "forbidden"),
    (Gone, 410, "deleted"),
    (NotFound, 404, "not-found"),
    (PreconditionFailed, 412, "conflict"),
    (Conflict, 409, "conflict"),
    (StoreUnavailable, 503, "transient"),
)

REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    304: "Not Modified",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    410: "Gone",
    412: "Precondition Failed",
    422: "Unprocessable Entity",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def status_of(exc: ChartkeeperError) -> tuple[int, str]:
    """(HTTP status, IssueType code) for an error; 500/exception for anything unforeseen."""
    for cls, status, code in _STATUS:
        if isinstance(exc, cls):
            return status, code
    return 500, "exception"


def error_outcome(exc: ChartkeeperError) -> tuple[int, dict[str, Any]]:
    """The status and OperationOutcome for an error: its own issues when it carries them."""
    status, code = status_of(exc)
    issues = [i for i in getattr(exc, "issues", []) if isinstance(i, Issue)]
    if not issues:
        issues = [Issue("error", code, str(exc))]
    return status, operation_outcome(issues)


def status_line(status: int) -> str:
    return f"{status} {REASONS.get(status, '')}".strip()
