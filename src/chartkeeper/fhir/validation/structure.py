"""The compiled FHIR R4 structure: per-type dicts of element name -> small spec objects.

Why: the validator looks up every JSON property of every resource, so the definitions are
turned once (lazily, on first use, then cached for the life of the process) into plain dicts
keyed by JSON property name whose values already hold everything the walker needs: the
primitive check function, the nested type definition, cardinality, the required-binding code
set, reference targets. The source is ``fhir/data/structure.json.gz``, written by
``tools/build_fhir_structure.py`` from the spec's own definitions.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

from chartkeeper.fhir.validation.primitives import Check, build_checks

PRIM = 0
COMPLEX = 1
RESOURCE = 2

# A check run on an object after its properties were walked: (node, path, context).
NodeCheck = Callable[[dict[str, Any], str, Any], None]
# A check run after a typed child object was walked: (node, element spec, path, context).
ElementCheck = Callable[[dict[str, Any], "ElementSpec", str, Any], None]


class ElementSpec:
    """One JSON property of a type: everything the walker needs, resolved once."""

    __slots__ = (
        "check",
        "choice",
        "codes",
        "collect_local_ref",
        "contained",
        "is_array",
        "kind",
        "max",
        "min",
        "name",
        "post",
        "targets",
        "tdef",
        "type_name",
        "valueset",
    )

    def __init__(self, row: list[Any]) -> None:
        name, type_name, mn, mx, valueset, choice, targets = row
        self.name: str = name
        self.type_name: str = type_name
        self.min: int = mn
        self.max: int = mx
        self.is_array: bool = mx == -1 or mx > 1
        self.valueset: str | None = valueset
        self.choice: str | None = choice
        self.targets: frozenset[str] | None = frozenset(targets) if targets is not None else None
        self.kind = COMPLEX
        self.check: Check | None = None
        self.tdef: TypeDef | None = None
        self.codes: frozenset[str] | None = None
        self.contained = name == "contained"
        self.collect_local_ref = False
        self.post: ElementCheck | None = None


class TypeDef:
    """A datatype, resource or nested BackboneElement: its properties and object-level checks."""

    __slots__ = (
        "checks",
        "choice_groups",
        "clean_multi",
        "clean_required",
        "clean_table",
        "elements",
        "is_resource",
        "key",
        "required",
    )

    def __init__(self, key: str, is_resource: bool) -> None:
        self.key = key
        self.is_resource = is_resource
        self.elements: dict[str, ElementSpec] = {}
        # (name or choice base, JSON keys that satisfy it) of every property with min >= 1
        self.required: tuple[tuple[str, tuple[str, ...]], ...] = ()
        self.choice_groups: dict[str, tuple[str, ...]] = {}
        self.checks: list[NodeCheck] = []
        # Filled by the validator once its checks are attached (see validator._compile_clean):
        # per JSON key a flat row for the clean pass, and the required keys in the cheapest form.
        self.clean_table: dict[str, tuple[Any, ...]] = {}
        self.clean_required: frozenset[str] = frozenset()
        self.clean_multi: tuple[tuple[str, ...], ...] = ()


class Structure:
    """All compiled definitions plus terminology, as loaded from the data file."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.fhir_version: str = data["fhirVersion"]
        self.resource_types: frozenset[str] = frozenset(data["resources"])
        self.datatypes: frozenset[str] = frozenset(data["datatypes"])
        self.primitive_checks: dict[str, Check] = build_checks(data["primitives"])
        self.valuesets: dict[str, dict[str, frozenset[str]]] = {
            url: {system: frozenset(codes) for system, codes in rows}
            for url, rows in data["valuesets"].items()
        }
        self.unexpanded_valuesets: dict[str, str] = data["unexpanded_valuesets"]
        self.codesystems: dict[str, tuple[bool, frozenset[str]]] = {
            url: (bool(cs), frozenset(codes)) for url, (cs, codes) in data["codesystems"].items()
        }
        self.constraints: dict[str, tuple[str, str, str, str]] = {
            key: (row[0], row[1], row[2], row[3]) for key, row in data["constraints"].items()
        }
        self.defs: dict[str, TypeDef] = {}
        self._compile(data["defs"])

    def _compile(self, raw_defs: dict[str, list[list[Any]]]) -> None:
        for key in raw_defs:
            self.defs[key] = TypeDef(key, key in self.resource_types)
        for key, rows in raw_defs.items():
            tdef = self.defs[key]
            required: list[str] = []
            groups: dict[str, list[str]] = {}
            for row in rows:
                spec = ElementSpec(row)
                self._resolve(spec)
                tdef.elements[spec.name] = spec
                base = spec.choice if spec.choice is not None else spec.name
                if spec.choice is not None:
                    groups.setdefault(spec.choice, []).append(spec.name)
                if spec.min >= 1 and base not in required:
                    required.append(base)
            tdef.choice_groups = {base: tuple(names) for base, names in groups.items()}
            tdef.required = tuple((name, self._present_keys(tdef, name)) for name in required)

    @staticmethod
    def _present_keys(tdef: TypeDef, name: str) -> tuple[str, ...]:
        """JSON keys whose presence satisfies ``name`` (choice variants; ``_x`` for primitives)."""
        keys: list[str] = []
        for json_name in tdef.choice_groups.get(name, (name,)):
            keys.append(json_name)
            if tdef.elements[json_name].kind == PRIM:
                keys.append("_" + json_name)
        return tuple(keys)

    def _resolve(self, spec: ElementSpec) -> None:
        type_name = spec.type_name
        if type_name in self.primitive_checks:
            spec.kind = PRIM
            spec.check = self.primitive_checks[type_name]
            spec.collect_local_ref = type_name in ("canonical", "uri", "url")
        elif type_name == "Resource" or type_name in self.resource_types:
            spec.kind = RESOURCE
        else:
            spec.kind = COMPLEX
            spec.tdef = self.defs[type_name]
        if spec.valueset is not None:
            expansion = self.valuesets.get(spec.valueset)
            if expansion is not None:
                spec.codes = frozenset(code for codes in expansion.values() for code in codes)

    def valueset_systems(self, url: str) -> dict[str, frozenset[str]] | None:
        return self.valuesets.get(url)

    def choice_keys(self, def_key: str, base: str) -> tuple[str, ...]:
        """The JSON names of a choice element (``value`` -> ``valueQuantity``, ...)."""
        return self.defs[def_key].choice_groups.get(base, ())


@cache
def read_data() -> dict[str, Any]:
    """The raw content of the structure file (parsed once per process; treat as read-only)."""
    raw = resources.files("chartkeeper.fhir").joinpath("data/structure.json.gz").read_bytes()
    loaded: dict[str, Any] = json.loads(gzip.decompress(raw))
    return loaded


@cache
def load_structure() -> Structure:
    """A compiled structure for read-only use (lookups, tests), built on first use and then shared.

    The validator compiles its own copy (see ``validator.get_validator``) because it attaches
    its checks to the type definitions.
    """
    return Structure(read_data())
