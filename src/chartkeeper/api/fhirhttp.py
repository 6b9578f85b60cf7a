"""HTTP details of FHIR's RESTful API: media types, ETags, dates, Prefer, _pretty, _format."""

from __future__ import annotations

from email.utils import formatdate, parsedate_to_datetime
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response

from chartkeeper.errors import ChartkeeperError, InvalidInput
from chartkeeper.fhir.instant import format_instant
from chartkeeper.records.render import etag

FHIR_JSON = "application/fhir+json"
JSON_TYPES = ("application/fhir+json", "application/json", "json", "text/json")
XML_TYPES = ("application/fhir+xml", "application/xml", "text/xml", "xml", "html", "text/html")
PATCH_JSON = "application/json-patch+json"


class NotAcceptable(ChartkeeperError):
    """The client asked for a format other than JSON (406)."""


class UnsupportedMediaType(ChartkeeperError):
    """The body is not JSON (415)."""


class BodyTooLarge(ChartkeeperError):
    """The request body exceeds the configured limit (413)."""


def base_url(request: Request) -> str:
    """The FHIR base: ``http(s)://host[:port][root]/fhir``."""
    return str(request.base_url).rstrip("/") + "/fhir"


async def check_format(request: Request) -> None:
    """406 when ``_format`` or Accept asks only for something other than JSON (no XML here).

    ``async`` because it is pure: FastAPI runs a plain ``def`` dependency in its thread pool,
    a hop that costs more than the check on every request."""
    fmt = request.query_params.get("_format") if request.scope.get("query_string") else None
    if fmt is not None:
        # an unencoded "+" arrives as a space: application/fhir json
        low = fmt.lower().split(";")[0].strip().replace(" ", "+")
        if low not in JSON_TYPES:
            raise NotAcceptable(f"_format={fmt} is not supported: this server speaks JSON only")
    accept = request.headers.get("accept", "").lower()
    if accept and fmt is None:
        kinds = [part.split(";")[0].strip() for part in accept.split(",")]
        if any(k in XML_TYPES for k in kinds) and not any(
            k in JSON_TYPES or k in ("*/*", "application/*") or k.endswith("+json") for k in kinds
        ):
            raise NotAcceptable(f"Accept: {accept} is not supported: this server speaks JSON only")


def check_body_type(
    request: Request, allowed: tuple[str, ...] = ("application/fhir+json", "application/json")
) -> None:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype and ctype not in allowed:
        raise UnsupportedMediaType(f"Content-Type {ctype} is not supported: send {' or '.join(allowed)}")


def render(
    request: Request, body: dict[str, Any] | None, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A FHIR JSON response (pretty-printed with ``_pretty=true``); no body for 204/304."""
    if body is None:
        return Response(status_code=status, headers=headers)
    pretty = request.scope.get("query_string") and request.query_params.get("_pretty") == "true"
    option = orjson.OPT_INDENT_2 if pretty else 0
    response = Response(orjson.dumps(body, option=option), status_code=status, headers=headers)
    response.headers["content-type"] = f"{FHIR_JSON}; charset=utf-8"
    return response


def http_date(micros: int) -> str:
    """An HTTP date (RFC 9110 IMF-fixdate) of whole seconds: ``Last-Modified`` of every read."""
    return formatdate(micros // 1_000_000, usegmt=True)


def version_headers(version_id: int, last_updated: int) -> dict[str, str]:
    return {"ETag": etag(version_id), "Last-Modified": http_date(last_updated)}


def parse_if_match(value: str | None) -> int | None:
    """``W/"3"`` (or ``"3"``, ``3``) → 3; anything else is a 400."""
    if value is None:
        return None
    text = value.strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    if not text.isdigit():
        raise InvalidInput(f'If-Match {value!r} is not a version ETag such as W/"3"')
    return int(text)


def not_modified(request: Request, version_id: int, last_updated: int) -> bool:
    """If-None-Match (an ETag or ``*``) or If-Modified-Since (an HTTP date) says the client's
    copy is current; If-None-Match wins when both are sent (RFC 9110)."""
    none_match = request.headers.get("if-none-match")
    if none_match is not None:
        tags = [t.strip() for t in none_match.split(",")]
        return "*" in tags or any(t.removeprefix("W/") == f'"{version_id}"' for t in tags)
    since = request.headers.get("if-modified-since")
    if since is None:
        return False
    try:
        moment = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False
    return last_updated // 1_000_000 <= int(moment.timestamp())


def prefer_return(request: Request) -> str:
    """Prefer: return=minimal | representation | OperationOutcome (default representation)."""
    for part in request.headers.get("prefer", "").split(","):
        key, _, value = part.strip().partition("=")
        if key.strip() == "return" and value.strip().strip('"') in (
            "minimal",
            "representation",
            "OperationOutcome",
        ):
            return value.strip().strip('"')
    return "representation"


def instant(micros: int) -> str:
    return format_instant(micros)
