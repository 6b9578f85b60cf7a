"""Reading a batch/transaction Bundle entry's request: method, URL, conditions, resource."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from chartkeeper.errors import InvalidInput
from chartkeeper.records import ops
from chartkeeper.store.models import ResourceWrite

#: Processing order of http.html#trules.
ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}


@dataclass
class Entry:
    """One Bundle entry, parsed: what it asks for and, once resolved, which resource it is."""

    index: int
    method: str
    path: list[str]
    query: str
    resource: dict[str, Any] | None
    full_url: str | None
    if_match: int | None = None
    if_none_exist: str | None = None
    if_none_match: str | None = None
    res_type: str | None = None
    res_id: str | None = None
    matched: bool = False
    write: ResourceWrite | None = None
    refs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"Bundle.entry[{self.index}]"


def _if_match(value: Any, where: str) -> int | None:
    if value is None:
        return None
    text = str(value).strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    if not text.isdigit():
        raise InvalidInput(f"{where}.request.ifMatch: {value!r} is not a version ETag")
    return int(text)


def _text(request: dict[str, Any], key: str, where: str) -> str | None:
    value = request.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{where}.request.{key} must be a string")
    return value


def parse_entry(raw: Any, index: int, base: str) -> Entry:
    """Read one entry's request; InvalidInput naming the entry when it is malformed."""
    where = f"Bundle.entry[{index}]"
    if not isinstance(raw, dict) or not isinstance(raw.get("request"), dict):
        raise InvalidInput(f"{where} has no request")
    request = raw["request"]
    method, url = request.get("method"), request.get("url")
    if not isinstance(method, str) or method not in ORDER or not isinstance(url, str) or not url:
        raise InvalidInput(f"{where}.request needs a method (GET, HEAD, POST, PUT, PATCH, DELETE) and a url")
    if url.startswith(base + "/"):
        url = url[len(base) + 1 :]
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        raise InvalidInput(f"{where}.request.url {url!r} is not on this server")
    resource = raw.get("resource")
    if resource is not None and not isinstance(resource, dict):
        raise InvalidInput(f"{where}.resource must be a JSON object")
    entry = Entry(
        index=index,
        method=method,
        path=[p for p in parts.path.split("/") if p],
        query=parts.query,
        resource=resource,
        full_url=raw.get("fullUrl") if isinstance(raw.get("fullUrl"), str) else None,
        if_match=_if_match(request.get("ifMatch"), where),
        if_none_exist=_text(request, "ifNoneExist", where),
        if_none_match=_text(request, "ifNoneMatch", where),
    )
    if entry.path:
        entry.res_type = entry.path[0]
        if entry.res_type not in ("_history",):
            ops.known_type(entry.res_type)
    return entry
