"""Facts about a resource's own JSON that every layer needs: server meta, fingerprint."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from chartkeeper.fhir.instant import format_instant

SERVER_META = ("versionId", "lastUpdated")


def without_server_meta(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource minus ``meta.versionId``/``meta.lastUpdated`` (which the store assigns).

    Returns the same object when there is nothing to strip, a shallow copy otherwise.
    """
    meta = resource.get("meta")
    if not isinstance(meta, dict) or ("versionId" not in meta and "lastUpdated" not in meta):
        return resource  # (the two keys of SERVER_META, tested inline: this runs on every write)
    copy = dict(resource)
    kept = {k: v for k, v in meta.items() if k not in SERVER_META}
    if kept:
        copy["meta"] = kept
    else:
        del copy["meta"]
    return copy


def fingerprint(resource: dict[str, Any]) -> str:
    """Content identity independent of key order and server meta: equal ⇒ no new version."""
    canonical = orjson.dumps(without_server_meta(resource), option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(canonical, digest_size=16).hexdigest()


def with_server_meta(resource: dict[str, Any], version_id: int, last_updated_us: int) -> dict[str, Any]:
    """Put the store's version and time back into ``meta`` (in place) and return the resource."""
    meta = resource.get("meta")
    fresh: dict[str, Any] = {"versionId": str(version_id), "lastUpdated": format_instant(last_updated_us)}
    if isinstance(meta, dict):
        fresh.update({k: v for k, v in meta.items() if k not in SERVER_META})
    resource["meta"] = fresh
    # keep resourceType / id / meta first, as FHIR JSON conventionally reads
    for key in [k for k in resource if k not in ("resourceType", "id", "meta")]:
        resource[key] = resource.pop(key)
    return resource
