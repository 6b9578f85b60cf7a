"""The FHIR R4 search-parameter registry, loaded from the package's compiled data file.

``tools/build_search_params.py`` compiles the spec's 1,378 SearchParameter resources into
``fhir/data/search_parameters.json.gz`` (per resource type: code -> definition index and the
branches of its FHIRPath expression that apply to that type) and the Patient
CompartmentDefinition into ``fhir/data/compartment_patient.json.gz``. Nothing here reads the
spec itself, so the running application needs only its own package data.

The common ``Resource`` parameters (``_id``, ``_lastUpdated``, ``_tag``, ``_profile``,
``_security``, ``_source``) are part of every type's mapping. Parameters without an
expression (``_text``, ``_content``, ``_query``) cannot be indexed and are not listed.
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

import orjson

SEARCH_PARAMETERS_FILE = "search_parameters.json.gz"
COMPARTMENT_PATIENT_FILE = "compartment_patient.json.gz"

#: One compiled branch of an expression: (steps, FHIR type yielded); see ``program.py``.
CompiledBranch = tuple[tuple[Any, ...], str]


@dataclass(frozen=True, slots=True)
class Component:
    """One part of a composite parameter: the parameter it uses and where, relative to the
    composite's own expression, its value sits."""

    definition: str
    expression: str
    code: str | None
    type: str | None


@dataclass(frozen=True, slots=True)
class SearchParam:
    """A search parameter as it applies to one resource type.

    ``expression`` is the spec's full FHIRPath text (shared by every base type);
    ``branches`` is the compiled form of the parts of it that apply to this resource type.
    """

    code: str
    type: str
    base: tuple[str, ...]
    expression: str | None
    targets: tuple[str, ...] = ()
    modifiers: tuple[str, ...] = ()
    comparators: tuple[str, ...] = ()
    components: tuple[Component, ...] = ()
    url: str = ""
    branches: tuple[CompiledBranch, ...] = field(default=(), compare=False, repr=False)


def _read(name: str) -> Any:
    data = resources.files("chartkeeper.fhir").joinpath("data", name).read_bytes()
    return orjson.loads(gzip.decompress(data))


def _freeze(value: Any) -> Any:
    """Lists in step programs become tuples so SearchParam stays immutable and hashable."""
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


@cache
def _registry() -> tuple[dict[str, Mapping[str, SearchParam]], frozenset[str]]:
    raw = _read(SEARCH_PARAMETERS_FILE)
    definitions: list[dict[str, Any]] = raw["definitions"]
    by_url = {d["url"]: d for d in definitions}
    shared: list[
        tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[Component, ...]]
    ]
    shared = []
    for d in definitions:
        components = tuple(
            Component(
                definition=c["definition"],
                expression=c["expression"],
                code=by_url.get(c["definition"], {}).get("code"),
                type=by_url.get(c["definition"], {}).get("type"),
            )
            for c in d.get("component", [])
        )
        shared.append(
            (
                tuple(d["base"]),
                tuple(d.get("target", [])),
                tuple(d.get("modifier", [])),
                tuple(d.get("comparator", [])),
                components,
            )
        )
    registry: dict[str, Mapping[str, SearchParam]] = {}
    for rtype, params in raw["types"].items():
        entries: dict[str, SearchParam] = {}
        for code, (index, branches) in params.items():
            d = definitions[index]
            base, targets, modifiers, comparators, components = shared[index]
            entries[code] = SearchParam(
                code=code,
                type=d["type"],
                base=base,
                expression=d.get("expression"),
                targets=targets,
                modifiers=modifiers,
                comparators=comparators,
                components=components,
                url=d["url"],
                branches=tuple((_freeze(ops), str(ftype)) for ops, ftype in branches),
            )
        registry[rtype] = MappingProxyType(entries)
    return registry, frozenset(raw["resourceTypes"])


_EMPTY: Mapping[str, SearchParam] = MappingProxyType({})


def search_params(resource_type: str) -> Mapping[str, SearchParam]:
    """Every search parameter of ``resource_type`` by code (empty for an unknown type)."""
    return _registry()[0].get(resource_type, _EMPTY)


def search_param(resource_type: str, code: str) -> SearchParam | None:
    """One parameter, or None when ``resource_type`` has no parameter ``code``."""
    return search_params(resource_type).get(code)


def resource_types() -> frozenset[str]:
    """All concrete FHIR R4 resource types (each has at least the common parameters)."""
    return _registry()[1]


@cache
def _compartment() -> dict[str, frozenset[str]]:
    raw: dict[str, list[str]] = _read(COMPARTMENT_PATIENT_FILE)
    return {rtype: frozenset(codes) for rtype, codes in raw.items()}


def patient_compartment_params(resource_type: str) -> frozenset[str]:
    """Codes of the parameters that put a ``resource_type`` resource in a Patient's compartment."""
    return _compartment().get(resource_type, frozenset())
