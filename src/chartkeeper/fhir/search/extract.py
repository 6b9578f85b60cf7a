"""Extract a resource's search index rows: the hot path of every write.

Per resource type a plan is built once from the registry: for each top-level JSON key, the
(param code, remaining steps, converter) entries whose first step reads that key. Extraction
walks the resource's own keys (usually about ten) and runs only the entries that can match,
so absent elements cost nothing however many parameters a type has. Rows are deduplicated per
resource, and the Patient compartment is derived from the reference rows already built.

Not indexed here, on purpose: ``_id`` and ``_lastUpdated`` (the store keeps them as columns),
special parameters, composites over the resource itself (components are indexed by their own
parameters), and the value types listed in ``values.py``. Composites over repeating elements
get derived rows (``derived.COMPONENT_COMPOSITES``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from chartkeeper.fhir.search.derived import COMPONENT_COMPOSITES
from chartkeeper.fhir.search.model import IndexValues
from chartkeeper.fhir.search.params import patient_compartment_params, search_params
from chartkeeper.fhir.search.program import Step, build_steps
from chartkeeper.fhir.search.values import Converter, component_converter, converter

#: Kept by the store as columns of the resource row, not as index rows.
NOT_INDEXED = frozenset({"_id", "_lastUpdated"})

_MASK_63 = (1 << 63) - 1

Entry = tuple[str, tuple[Step, ...], Converter]


@dataclass(frozen=True, slots=True)
class _Plan:
    by_key: dict[str, tuple[Entry, ...]]
    general: tuple[Entry, ...]
    compartment: frozenset[str]


_plans: dict[str, _Plan | None] = {}


def _build_plan(resource_type: str) -> _Plan | None:
    params = search_params(resource_type)
    if not params:
        return None
    by_key: dict[str, list[Entry]] = {}
    general: list[Entry] = []
    for code, param in params.items():
        if code in NOT_INDEXED:
            continue
        for ops, fhir_type in param.branches:
            convert = converter(param.type, fhir_type)
            if convert is None:
                continue
            if ops and ops[0][0] == "k":
                by_key.setdefault(str(ops[0][1]), []).append((code, build_steps(ops[1:]), convert))
            else:
                general.append((code, build_steps(ops), convert))
    for (rtype, code), (key, value_key, kind) in COMPONENT_COMPOSITES.items():
        if rtype == resource_type:  # composite rows (derived.py): one more entry on the key
            by_key.setdefault(key, []).append((code, (), component_converter(value_key, kind)))
    return _Plan(
        by_key={k: tuple(v) for k, v in by_key.items()},
        general=tuple(general),
        compartment=patient_compartment_params(resource_type),
    )


def _plan(resource_type: str) -> _Plan | None:
    try:
        return _plans[resource_type]
    except KeyError:
        plan = _plans[resource_type] = _build_plan(resource_type)
        return plan


def extract_index_values(resource: dict[str, Any]) -> IndexValues:
    """All index rows of one resource (references already rewritten to ``Type/id``).

    Never raises on a malformed resource: values of unexpected shape give no rows. An unknown
    or missing ``resourceType`` gives empty IndexValues.
    """
    out = IndexValues()
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str):
        return out
    plan = _plan(rtype)
    if plan is None:
        return out
    by_key = plan.by_key
    for key, value in resource.items():
        entries = by_key.get(key)
        if entries is None:
            continue
        base = value if value.__class__ is list else [value]
        for code, steps, convert in entries:
            items = base
            for step in steps:
                items = step(items, resource)
                if not items:
                    break
            else:
                convert(code, items, out)
    for code, steps, convert in plan.general:
        items = [resource]
        for step in steps:
            items = step(items, resource)
            if not items:
                break
        else:
            convert(code, items, out)
    _dedupe(out)
    out.compartment_patients = _compartment_patients(rtype, resource, out, plan.compartment)
    return out


def _dedupe(out: IndexValues) -> None:
    if len(out.strings) > 1:
        out.strings = list(dict.fromkeys(out.strings))
    if len(out.tokens) > 1:
        out.tokens = list(dict.fromkeys(out.tokens))
    if len(out.references) > 1:
        out.references = list(dict.fromkeys(out.references))
    if len(out.dates) > 1:
        out.dates = list(dict.fromkeys(out.dates))
    if len(out.quantities) > 1:
        out.quantities = list(dict.fromkeys(out.quantities))
    if len(out.numbers) > 1:
        out.numbers = list(dict.fromkeys(out.numbers))
    if len(out.uris) > 1:
        out.uris = list(dict.fromkeys(out.uris))


def _compartment_patients(
    rtype: str, resource: dict[str, Any], out: IndexValues, codes: frozenset[str]
) -> list[str]:
    """Patients whose compartment holds the resource: relative ``Patient/<id>`` references
    from the compartment's parameters, plus a Patient's own id."""
    ids: dict[str, None] = {}
    if rtype == "Patient":
        own = resource.get("id")
        if own.__class__ is str and own:
            ids[own] = None
    if codes:
        for code, target_type, target_id, ref in out.references:
            if target_type == "Patient" and target_id and code in codes and ref.startswith("Patient/"):
                ids[target_id] = None
    return list(ids)


@lru_cache(maxsize=8192)
def hash_identity(resource_type: str, param_code: str) -> int:
    """Stable signed 63-bit hash of (type, code) — same value on every run/machine/Python.

    The first 8 bytes of BLAKE2b over ``"Type|code"``, big-endian, masked to 63 bits (so it is
    never negative and fits a signed BIGINT); the store keys index rows by it as HAPI FHIR does.
    """
    digest = hashlib.blake2b(f"{resource_type}|{param_code}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & _MASK_63
