"""Facts about a resource's own JSON that every layer needs: server meta, fingerprint."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from chartkeeper.fhir.instant import format_instant

SERVER_META = ("versionId", "lastUpdated")
_LEADING_KEYS = frozenset(("resourceType", "id", "meta"))


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


def with_server_meta_text(serialized: str, version_id: int, last_updated_us: int) -> str | None:
    """``with_server_meta`` for a resource that is still compact JSON text and has no ``meta``:
    the server meta appended as the object's last member, without parsing the resource.

    None when the text says ``"meta"`` anywhere (a meta of its own, or of a contained
    resource, or the word as a value) or is not an object: the caller parses it instead.
    A page of ``$everything`` spent more time parsing and serializing its 1,000 resources
    again than on anything else."""
    if '"meta"' in serialized or not (serialized.startswith("{") and serialized.endswith("}")):
        return None
    if serialized == "{}":
        return None
    stamp = format_instant(last_updated_us)
    return f'{serialized[:-1]},"meta":{{"versionId":"{version_id}","lastUpdated":"{stamp}"}}}}'


def fingerprint(resource: dict[str, Any]) -> str:
    """Content identity independent of key order and server meta: equal ⇒ no new version."""
    canonical = orjson.dumps(without_server_meta(resource), option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(canonical, digest_size=16).hexdigest()


def with_server_meta(resource: dict[str, Any], version_id: int, last_updated_us: int) -> dict[str, Any]:
    """The resource with the store's version and time in ``meta``, as a new dict whose keys
    start ``resourceType``, ``id``, ``meta`` (as FHIR JSON conventionally reads).

    Runs for every resource read: a page of ``$everything`` calls it 1,000 times, so it builds
    one dict instead of moving every key of the resource (which took four times as long)."""
    fresh: dict[str, Any] = {"versionId": str(version_id), "lastUpdated": format_instant(last_updated_us)}
    meta = resource.get("meta")
    if isinstance(meta, dict):
        for key, value in meta.items():
            if key not in SERVER_META:
                fresh[key] = value
    out: dict[str, Any] = {}
    if "resourceType" in resource:
        out["resourceType"] = resource["resourceType"]
    if "id" in resource:
        out["id"] = resource["id"]
    out["meta"] = fresh
    for key, value in resource.items():
        if key not in _LEADING_KEYS:
            out[key] = value
    return out
