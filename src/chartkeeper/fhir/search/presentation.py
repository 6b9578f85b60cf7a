"""``_summary`` and ``_elements``: cutting a resource down for a search result (no database).

The top-level ``isSummary`` flags and mandatory elements come from the compiled R4 structure
file (``tools/build_fhir_structure.py``). A resource that was cut is tagged ``SUBSETTED`` as
the spec requires, so nobody mistakes it for the whole record. Only top-level elements are
selected: nested elements of a kept element are returned whole.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from chartkeeper.fhir.validation.structure import read_data

SUBSETTED = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}
_ALWAYS = ("resourceType", "id", "meta")


@cache
def _bases(res_type: str) -> dict[str, str]:
    """JSON key -> element name (``valueQuantity`` -> ``value``) of a resource's top level."""
    rows = read_data()["defs"].get(res_type, [])
    return {row[0]: row[5] or row[0] for row in rows}


@cache
def _summary_names(res_type: str) -> frozenset[str]:
    names = read_data()["summary"].get(res_type, [])
    return frozenset(n.removesuffix("[x]") for n in names)


@cache
def _mandatory(res_type: str) -> frozenset[str]:
    rows = read_data()["defs"].get(res_type, [])
    return frozenset(row[5] or row[0] for row in rows if row[2] >= 1)


def _element(res_type: str, key: str) -> str:
    plain = key[1:] if key.startswith("_") else key
    return _bases(res_type).get(plain, plain)


def _keep(resource: dict[str, Any], names: frozenset[str]) -> dict[str, Any]:
    res_type = str(resource.get("resourceType", ""))
    kept = {k: v for k, v in resource.items() if k in _ALWAYS or _element(res_type, k) in names}
    if len(kept) < len(resource):
        _mark_subsetted(kept)
    return kept


def _mark_subsetted(resource: dict[str, Any]) -> None:
    meta = dict(resource.get("meta") or {})
    tags = list(meta.get("tag") or [])
    if not any(t.get("code") == "SUBSETTED" and t.get("system") == SUBSETTED["system"] for t in tags):
        tags.append(dict(SUBSETTED))
    meta["tag"] = tags
    resource["meta"] = meta


def summarize(resource: dict[str, Any], mode: str | None) -> dict[str, Any]:
    """The resource as ``_summary=mode`` returns it (a new dict when anything is cut).

    ``true``: the elements marked isSummary; ``text``: text, id, meta and the mandatory
    elements; ``data``: everything but text; ``false``/None: unchanged. ``count`` returns no
    resources at all, so asking for it here is a caller error (ValueError).
    """
    if mode in (None, "false"):
        return resource
    res_type = str(resource.get("resourceType", ""))
    if mode == "true":
        return _keep(resource, _summary_names(res_type))
    if mode == "text":
        return _keep(resource, _mandatory(res_type) | {"text"})
    if mode == "data":
        return _keep(resource, frozenset(_bases(res_type).values()) - {"text"})
    raise ValueError(f"_summary={mode} returns no resources to summarize")


def apply_elements(resource: dict[str, Any], elements: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """The resource with only the named top-level ``elements`` (plus id, meta and the
    mandatory elements, as the spec asks); ``value`` selects ``valueQuantity`` and kin."""
    if not elements:
        return resource
    res_type = str(resource.get("resourceType", ""))
    wanted = frozenset(e.removesuffix("[x]") for e in elements)
    return _keep(resource, wanted | _mandatory(res_type))
