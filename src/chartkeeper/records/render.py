"""Bundles the service answers with: history, $everything (searchset), Bundle entry responses."""

from __future__ import annotations

from typing import Any

from chartkeeper.fhir.instant import format_instant, now_us
from chartkeeper.records.models import HistoryPage, Saved
from chartkeeper.records.outcomes import status_line
from chartkeeper.store.models import StoredVersion


def etag(version_id: int) -> str:
    return f'W/"{version_id}"'


def _links(self_url: str, next_url: str | None) -> list[dict[str, str]]:
    links = [{"relation": "self", "url": self_url}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    return links


def history_bundle(page: HistoryPage, base: str, self_url: str, next_url: str | None) -> dict[str, Any]:
    """A ``history`` Bundle: each version with request (what made it) and response (its result);
    a deletion has no resource."""
    entries = []
    for version in page.entries:
        ref = f"{version.res_type}/{version.res_id}"
        entry: dict[str, Any] = {"fullUrl": f"{base}/{ref}"}
        if version.content is not None and not version.deleted:
            entry["resource"] = version.content
        method = {"create": "POST", "update": "PUT", "delete": "DELETE"}.get(version.method, "PUT")
        entry["request"] = {"method": method, "url": version.res_type if method == "POST" else ref}
        status = 201 if version.method == "create" else (204 if version.deleted else 200)
        entry["response"] = {
            "status": status_line(status),
            "etag": etag(version.version_id),
            "lastModified": format_instant(version.last_updated),
        }
        entries.append(entry)
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "history",
        "meta": {"lastUpdated": format_instant(now_us())},
        "link": _links(self_url, next_url),
        "entry": entries,
    }
    if not entries:
        del bundle["entry"]
    return bundle


def searchset_bundle(page: HistoryPage, base: str, self_url: str, next_url: str | None) -> dict[str, Any]:
    """A ``searchset`` Bundle of current resources (``$everything``), every entry a match."""
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "meta": {"lastUpdated": format_instant(now_us())},
    }
    if page.total is not None:
        bundle["total"] = page.total
    bundle["link"] = _links(self_url, next_url)
    entries = [
        {
            "fullUrl": f"{base}/{v.res_type}/{v.res_id}",
            "resource": v.json_value(),
            "search": {"mode": "match"},
        }
        for v in page.entries
    ]
    if entries:
        bundle["entry"] = entries
    return bundle


def saved_entry(saved: Saved, base: str, representation: bool = True) -> dict[str, Any]:
    """The response entry of a write inside a batch or transaction."""
    if saved.outcome in ("deleted", "none"):
        status = 204
    elif saved.outcome == "created":
        status = 201
    else:
        status = 200
    response: dict[str, Any] = {"status": status_line(status)}
    if saved.version_id is not None and saved.outcome not in ("none",):
        if saved.outcome != "deleted":
            response["location"] = f"{saved.res_type}/{saved.res_id}/_history/{saved.version_id}"
        response["etag"] = etag(saved.version_id)
    if saved.last_updated is not None:
        response["lastModified"] = format_instant(saved.last_updated)
    entry: dict[str, Any] = {}
    if representation and saved.resource is not None:
        entry["fullUrl"] = f"{base}/{saved.res_type}/{saved.res_id}"
        entry["resource"] = saved.resource
    entry["response"] = response
    return entry


def read_entry(stored: StoredVersion, base: str) -> dict[str, Any]:
    return {
        "fullUrl": f"{base}/{stored.res_type}/{stored.res_id}",
        "resource": stored.content,
        "response": {
            "status": status_line(200),
            "etag": etag(stored.version_id),
            "lastModified": format_instant(stored.last_updated),
        },
    }
