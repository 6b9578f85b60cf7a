"""The FHIR R4 element tree, read from the spec's StructureDefinitions, for the FHIRPath compiler.

Only the build tool (``tools/build_search_params.py``) and tests use this: the compiler needs to
know that ``Observation.value`` is the choice ``value[x]`` (stored in JSON as ``valueQuantity``,
``valueCodeableConcept`` ...) and what FHIR type every step of a path has, so that extraction
can pick a value converter per branch at build time instead of guessing from the JSON shape at
run time. The running application never loads StructureDefinitions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: FHIRPath system types that the snapshots use for ``id``/``url`` of elements and extensions.
_SYSTEM_TYPES = {
    "http://hl7.org/fhirpath/System.String": "string",
    "http://hl7.org/fhirpath/System.Boolean": "boolean",
    "http://hl7.org/fhirpath/System.Integer": "integer",
    "http://hl7.org/fhirpath/System.Decimal": "decimal",
    "http://hl7.org/fhirpath/System.Date": "date",
    "http://hl7.org/fhirpath/System.DateTime": "dateTime",
    "http://hl7.org/fhirpath/System.Time": "time",
}


@dataclass(frozen=True, slots=True)
class Context:
    """Where a compiled path stands: the StructureDefinition and element path whose children apply.

    ``fhir_type`` is the FHIR type of the items (``CodeableConcept``, ``dateTime``,
    ``BackboneElement`` ...). For a complex datatype or a resource ``sd`` and ``path`` are the
    type's own name; inside a backbone element they are the owning definition and the element's
    path (``Observation`` / ``Observation.component``).
    """

    fhir_type: str
    sd: str
    path: str


@dataclass(frozen=True, slots=True)
class Child:
    """One way a child name resolves: the JSON key to read and the context it leads to."""

    json_key: str
    context: Context


@dataclass(frozen=True, slots=True)
class _Element:
    types: tuple[str, ...]
    content_reference: str | None
    is_choice: bool


class TypeModel:
    """Element definitions of all resources and datatypes, keyed by definition and path."""

    def __init__(self, structure_definitions: Iterable[Mapping[str, Any]]) -> None:
        self._elements: dict[str, dict[str, _Element]] = {}
        self._base: dict[str, str] = {}
        self._kinds: dict[str, str] = {}
        self._abstract: set[str] = set()
        for sd in structure_definitions:
            if sd.get("resourceType") != "StructureDefinition" or sd.get("derivation") == "constraint":
                continue
            name = sd["id"]
            self._kinds[name] = sd.get("kind", "")
            if sd.get("abstract"):
                self._abstract.add(name)
            base = str(sd.get("baseDefinition", "")).rsplit("/", 1)[-1]
            if base:
                self._base[name] = base
            elements: dict[str, _Element] = {}
            for el in sd.get("snapshot", {}).get("element", []):
                path: str = el["path"]
                types = tuple(_type_code(t) for t in el.get("type", []))
                ref = el.get("contentReference")
                is_choice = path.endswith("[x]")
                if is_choice:
                    path = path[:-3]
                elements[path] = _Element(types, ref[1:] if ref else None, is_choice)
            self._elements[name] = elements

    @classmethod
    def from_bundles(cls, *bundles: Mapping[str, Any]) -> TypeModel:
        """Build from the spec's ``profiles-resources.json`` and ``profiles-types.json`` Bundles."""
        return cls(e["resource"] for b in bundles for e in b.get("entry", []) if "resource" in e)

    def resource_types(self) -> frozenset[str]:
        """Concrete (instantiable) resource types."""
        return frozenset(n for n, k in self._kinds.items() if k == "resource" and n not in self._abstract)

    def is_type(self, name: str) -> bool:
        return name in self._kinds

    def is_subtype(self, name: str, ancestor: str) -> bool:
        """True when ``name`` is ``ancestor`` or derives from it (``Age`` from ``Quantity``)."""
        seen = 0
        while name and seen < 20:
            if name == ancestor:
                return True
            name = self._base.get(name, "")
            seen += 1
        return False

    def type_context(self, fhir_type: str) -> Context:
        return Context(fhir_type, fhir_type, fhir_type)

    def children(self, ctx: Context, name: str) -> list[Child]:
        """Resolve ``ctx.name``: one Child, or one per type for a choice element; [] if unknown."""
        elements = self._elements.get(ctx.sd)
        if elements is None:
            return []
        el = elements.get(f"{ctx.path}.{name}")
        if el is None:
            return []
        if el.content_reference is not None:
            owner = el.content_reference.split(".", 1)[0]
            return [Child(name, Context("BackboneElement", owner, el.content_reference))]
        if el.is_choice:
            return [Child(name + t[0].upper() + t[1:], self._context_for(t, ctx, name)) for t in el.types]
        if not el.types:
            return []
        return [Child(name, self._context_for(el.types[0], ctx, name))]

    def _context_for(self, fhir_type: str, parent: Context, name: str) -> Context:
        if fhir_type in ("BackboneElement", "Element"):  # inline element: children live under its path
            return Context(fhir_type, parent.sd, f"{parent.path}.{name}")
        return Context(fhir_type, fhir_type, fhir_type)


def _type_code(t: Mapping[str, Any]) -> str:
    code = str(t.get("code", ""))
    if code in _SYSTEM_TYPES:
        for ext in t.get("extension", []):
            if str(ext.get("url", "")).endswith("structuredefinition-fhir-type"):
                return str(ext.get("valueUrl") or ext.get("valueUri") or _SYSTEM_TYPES[code])
        return _SYSTEM_TYPES[code]
    return code
