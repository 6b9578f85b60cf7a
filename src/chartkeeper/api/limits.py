"""The request body limit, enforced while the body streams in (Content-Length can be absent)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chartkeeper.api.fhirhttp import BodyTooLarge
from chartkeeper.fhir.outcome import Issue, operation_outcome


class BodyLimit:
    """ASGI middleware: a body over ``max_bytes`` gets 413 with an OperationOutcome."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:  # the app's error handler turns this into 413
                    raise BodyTooLarge(f"the request body is larger than the limit of {self.max_bytes} bytes")
            return message

        await self.app(scope, counting_receive, send)

    async def _refuse(self, send: Send) -> None:
        message = f"the request body is larger than the limit of {self.max_bytes} bytes"
        body = orjson.dumps(operation_outcome([Issue("error", "too-costly", message)]))
        headers: list[Any] = [
            (b"content-type", b"application/fhir+json; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
