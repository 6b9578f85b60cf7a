"""One log line per HTTP request, without patient data (``chartkeeper serve --access-log``).

uvicorn's own access log writes each request line as sent, query string included:
``GET /fhir/Patient?family=Smith&birthdate=1961-04-02`` puts a patient's name and birth date
in the server's output, where neither the audit trail's access control nor its tamper
evidence reaches. The record of who accessed what is the AuditEvent trail (every read,
search, write and refusal, queryable by auditors); this log is for operators: method, the
route as declared (``/fhir/{res_type}/{res_id}``, never the ids or the query), status,
duration and the client's address. It is off unless asked for: uvicorn's log, which it
replaces, cost about 5 % of a server's reads per second (docs/PERFORMANCE.md), and a server
that answers a thousand reads a second writes a thousand lines.
"""

from __future__ import annotations

import logging
import sys
import time

from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("chartkeeper.requests")


def route_template(scope: Scope) -> str:
    """The matched route's declared path; for a request no API route matched, only its
    first path segment (a web page's path may carry a patient id)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    segments = str(scope.get("path", "/")).split("/")
    first = segments[1] if len(segments) > 1 else ""
    return f"/{first}/…" if first else "/"


class RequestLog:
    """ASGI middleware: after each HTTP request, ``METHOD route status ms client`` at INFO."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            client = scope.get("client")
            logger.info(
                "%s %s %d %.1f ms %s",
                scope.get("method", "?"),
                route_template(scope),
                status or 500,  # nothing sent: the server's error handler answers 500
                (time.perf_counter() - started) * 1000,
                client[0] if client else "-",
            )


def install(app: Starlette) -> None:
    """Add the middleware and make sure its lines reach stderr (uvicorn configures only its
    own loggers; without a handler, INFO lines would be dropped)."""
    app.add_middleware(RequestLog)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
