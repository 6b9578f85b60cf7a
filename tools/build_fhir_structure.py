"""Compile the FHIR R4 (4.0.1) definitions into the validator's compact structure file.

Why: the spec's StructureDefinitions and value sets are ~50 MB of JSON that take seconds to
load. The validator needs only a small part of them (element names, types, cardinality,
required-binding codes, primitive regexes, invariant texts), so this tool extracts that once
into ``src/chartkeeper/fhir/data/structure.json.gz`` which ships in the package. Nothing reads
the shared definitions at run time.

Usage::

    python tools/build_fhir_structure.py [DEFINITIONS_DIR] [OUTPUT]

Output layout (all plain JSON so that it is diff-able once decompressed):

``primitives``   name -> regex (the spec's ``regex`` extension on ``<type>.value``)
``resources``    sorted list of concrete R4 resource type names
``datatypes``    sorted list of complex datatype names (incl. the SimpleQuantity/MoneyQuantity profiles)
``defs``         def key -> list of element rows
                 ``[json name, type, min, max, valueset, choice base, reference targets]``;
                 def keys are type names (``Period``, ``Patient``) or element paths of nested
                 BackboneElements (``Patient.contact``). ``type`` is a primitive or datatype name,
                 ``Resource`` / a resource name for inline resources, or a def key for nested
                 elements; ``max`` is -1 for ``*``; choice ``[x]`` elements are expanded
                 (``valueQuantity`` ... ) and carry their base name (``value``); reference targets
                 lists the resource types a Reference may point to (null: any).
``valuesets``    value set url -> [[system, [codes...]], ...] for every value set bound with
                 strength ``required`` that can be expanded from the core definitions alone.
``unexpanded_valuesets``  url -> reason, for required bindings that cannot be checked locally
                 (external code systems such as UCUM, BCP-47, BCP-13, ISO 4217).
``codesystems``  url -> [case sensitive, [codes...]] for every core CodeSystem with complete content.
``constraints``  invariant key -> [context path, severity, human text, FHIRPath expression].
``summary``      resource name -> top-level element names marked ``isSummary`` (choice elements
                 as ``value[x]``), for ``_summary=true``.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEFS = Path("/work/shared/data/fhir-r4-definitions")
DEFAULT_OUT = ROOT / "src" / "chartkeeper" / "fhir" / "data" / "structure.json.gz"

FHIR_TYPE_EXT = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
REGEX_EXT = "http://hl7.org/fhir/StructureDefinition/regex"
PROFILED_QUANTITIES = {
    "http://hl7.org/fhir/StructureDefinition/SimpleQuantity": "SimpleQuantity",
    "http://hl7.org/fhir/StructureDefinition/MoneyQuantity": "MoneyQuantity",
}
SYSTEM_TYPES = {
    "http://hl7.org/fhirpath/System.String": "string",
    "http://hl7.org/fhirpath/System.Boolean": "boolean",
    "http://hl7.org/fhirpath/System.Integer": "integer",
    "http://hl7.org/fhirpath/System.Decimal": "decimal",
    "http://hl7.org/fhirpath/System.Date": "date",
    "http://hl7.org/fhirpath/System.DateTime": "dateTime",
    "http://hl7.org/fhirpath/System.Time": "time",
}


def load_bundle(path: Path) -> list[dict[str, Any]]:
    with path.open("rb") as fh:
        bundle = json.load(fh)
    return [e["resource"] for e in bundle["entry"]]


def type_code(t: dict[str, Any]) -> str:
    """The FHIR type of an ElementDefinition.type (System.* types carry the real one in an extension)."""
    code: str = t["code"]
    if code.startswith("http://hl7.org/fhirpath/"):
        for ext in t.get("extension", []):
            if ext["url"] == FHIR_TYPE_EXT:
                return str(ext["valueUrl"])
        return SYSTEM_TYPES[code]
    for profile in t.get("profile", []):
        if profile in PROFILED_QUANTITIES:
            return PROFILED_QUANTITIES[profile]
    return code


def reference_targets(types: list[dict[str, Any]]) -> list[str] | None:
    """Resource types a Reference may point to (None: any resource)."""
    names: list[str] = []
    for t in types:
        if t["code"] != "Reference":
            continue
        for profile in t.get("targetProfile", []):
            names.append(profile.rsplit("/", 1)[1])
    if not names or "Resource" in names:
        return None
    return sorted(set(names))


def upper_first(s: str) -> str:
    return s[:1].upper() + s[1:]


def parse_max(value: str) -> int:
    return -1 if value == "*" else int(value)


class DefBuilder:
    """Turns one StructureDefinition snapshot into def rows (nested elements become their own defs)."""

    def __init__(self, defs: dict[str, list[list[Any]]], constraints: dict[str, list[str]]) -> None:
        self.defs = defs
        self.constraints = constraints

    def add(self, sd: dict[str, Any], def_key: str) -> None:
        elements = sd["snapshot"]["element"]
        root_path = elements[0]["path"]
        children: dict[str, list[dict[str, Any]]] = {}
        has_children: set[str] = set()
        for el in elements[1:]:
            path = el["path"]
            parent = path.rsplit(".", 1)[0]
            children.setdefault(parent, []).append(el)
            has_children.add(parent)
        for el in elements:
            self._constraints(sd, el, def_key, root_path)

        def key_for(path: str) -> str:
            return def_key + path[len(root_path) :]

        for parent, kids in children.items():
            rows: list[list[Any]] = []
            for el in kids:
                name = el["path"].rsplit(".", 1)[1]
                binding = el.get("binding") or {}
                vs = None
                if binding.get("strength") == "required" and binding.get("valueSet"):
                    vs = binding["valueSet"].split("|")[0]
                mn, mx = int(el["min"]), parse_max(el["max"])
                if "contentReference" in el:
                    target = el["contentReference"].lstrip("#")
                    rows.append([name, key_for(target), mn, mx, vs, None, None])
                    continue
                types = [type_code(t) for t in el.get("type", [])]
                targets = reference_targets(el.get("type", []))
                if el["path"] in has_children:
                    rows.append([name, key_for(el["path"]), mn, mx, vs, None, None])
                    continue
                if name.endswith("[x]"):
                    base = name[:-3]
                    for t, raw in zip(types, el.get("type", []), strict=True):
                        # JSON name from the type code (doseQuantity), def from the profile (SimpleQuantity)
                        json_name = base + upper_first(raw["code"])
                        ref_targets = targets if t == "Reference" else None
                        rows.append([json_name, t, mn, mx, vs, base, ref_targets])
                    continue
                if name == "id" and parent == root_path and sd["kind"] == "resource":
                    types = ["id"]  # Resource.id is an id (R4 declares it as System.String)
                assert len(types) == 1, (el["path"], types)
                rows.append([name, types[0], mn, mx, vs, None, targets])
            self.defs[key_for(parent)] = rows

    def _constraints(self, sd: dict[str, Any], el: dict[str, Any], def_key: str, root_path: str) -> None:
        for c in el.get("constraint", []):
            source = c.get("source")
            if source and source.rsplit("/", 1)[1] != sd["id"]:
                continue  # inherited (ele-1, ext-1, dom-*): recorded where it is defined
            path = def_key + el["path"][len(root_path) :]
            self.constraints.setdefault(c["key"], [path, c["severity"], c["human"], c.get("expression", "")])


class ValueSetExpander:
    """Expands value sets from the core definitions only (no terminology server)."""

    def __init__(self, resources: list[dict[str, Any]]) -> None:
        self.valuesets = {r["url"]: r for r in resources if r["resourceType"] == "ValueSet"}
        self.codesystems = {r["url"]: r for r in resources if r["resourceType"] == "CodeSystem"}

    def all_codes(self, system: str) -> list[str] | None:
        cs = self.codesystems.get(system)
        if cs is None or cs.get("content") != "complete":
            return None
        out: list[str] = []

        def walk(concepts: list[dict[str, Any]]) -> None:
            for c in concepts:
                out.append(c["code"])
                walk(c.get("concept", []))

        walk(cs.get("concept", []))
        return out

    def descendants(self, system: str, code: str, include_self: bool) -> list[str] | None:
        cs = self.codesystems.get(system)
        if cs is None or cs.get("content") != "complete":
            return None
        out: list[str] = []

        def collect(c: dict[str, Any]) -> None:
            out.append(c["code"])
            for k in c.get("concept", []):
                collect(k)

        def find(concepts: list[dict[str, Any]]) -> bool:
            for c in concepts:
                if c["code"] == code:
                    collect(c)
                    return True
                if find(c.get("concept", [])):
                    return True
            return False

        if not find(cs.get("concept", [])):
            return None
        return out if include_self else out[1:]

    def expand_include(self, inc: dict[str, Any], seen: set[str]) -> dict[str, set[str]]:
        result: dict[str, set[str]] = {}
        if "valueSet" in inc:
            for ref in inc["valueSet"]:
                for system, codes in self.expand(ref.split("|")[0], seen).items():
                    result.setdefault(system, set()).update(codes)
        system = inc.get("system")
        if system is None:
            return result
        if "concept" in inc:
            codes: list[str] | None = [c["code"] for c in inc["concept"]]
        elif "filter" in inc:
            codes = []
            for f in inc["filter"]:
                if f["property"] == "concept" and f["op"] in ("is-a", "descendent-of"):
                    got = self.descendants(system, f["value"], f["op"] == "is-a")
                else:
                    got = None
                if got is None:
                    raise LookupError(f"filter {f['property']} {f['op']} on {system}")
                codes.extend(got)
        else:
            codes = self.all_codes(system)
        if codes is None:
            raise LookupError(f"code system {system} is not defined locally")
        result.setdefault(system, set()).update(codes)
        return result

    def expand(self, url: str, seen: set[str] | None = None) -> dict[str, set[str]]:
        seen = set() if seen is None else seen
        if url in seen:
            raise LookupError(f"circular value set {url}")
        seen = seen | {url}
        vs = self.valuesets.get(url)
        if vs is None:
            raise LookupError(f"value set {url} is not defined locally")
        compose = vs.get("compose")
        if compose is None:
            raise LookupError(f"value set {url} has no compose")
        out: dict[str, set[str]] = {}
        for inc in compose.get("include", []):
            for system, codes in self.expand_include(inc, seen).items():
                out.setdefault(system, set()).update(codes)
        for exc in compose.get("exclude", []):
            for system, codes in self.expand_include(exc, seen).items():
                out.get(system, set()).difference_update(codes)
        return out


def build(defs_dir: Path) -> dict[str, Any]:
    types_sds = [
        r for r in load_bundle(defs_dir / "profiles-types.json") if r["resourceType"] == "StructureDefinition"
    ]
    res_sds = [
        r
        for r in load_bundle(defs_dir / "profiles-resources.json")
        if r["resourceType"] == "StructureDefinition"
    ]
    terminology = load_bundle(defs_dir / "valuesets.json")

    defs: dict[str, list[list[Any]]] = {}
    constraints: dict[str, list[str]] = {}
    builder = DefBuilder(defs, constraints)
    primitives: dict[str, str | None] = {}
    datatypes: list[str] = []
    for sd in types_sds:
        if sd["kind"] == "primitive-type":
            regex = None
            for el in sd["snapshot"]["element"]:
                if el["path"] == sd["id"] + ".value":
                    for t in el.get("type", []):
                        for ext in t.get("extension", []):
                            if ext["url"] == REGEX_EXT:
                                regex = ext["valueString"]
            primitives[sd["id"]] = regex
            continue
        if sd.get("abstract"):
            # Element / BackboneElement: still needed for the ``_x`` sibling of primitives
            builder.add(sd, sd["id"])
            continue
        builder.add(sd, sd["id"])
        datatypes.append(sd["id"])

    resources: list[str] = []
    summary: dict[str, list[str]] = {}
    for sd in res_sds:
        if sd["kind"] != "resource" or sd.get("fhirVersion") != "4.0.1":
            continue  # MetadataResource (logical) and R4B back-ports are not R4 resources
        builder.add(sd, sd["id"])
        if not sd.get("abstract"):
            resources.append(sd["id"])
            summary[sd["id"]] = summary_elements(sd)

    expander = ValueSetExpander(terminology)
    valuesets: dict[str, list[list[Any]]] = {}
    unexpanded: dict[str, str] = {}
    for rows in defs.values():
        for row in rows:
            vs = row[4]
            if vs is None or vs in valuesets or vs in unexpanded:
                continue
            try:
                expansion = expander.expand(vs)
            except LookupError as exc:
                unexpanded[vs] = str(exc)
                continue
            valuesets[vs] = [[system, sorted(codes)] for system, codes in sorted(expansion.items())]

    codesystems: dict[str, list[Any]] = {}
    for url, cs in sorted(expander.codesystems.items()):
        codes = expander.all_codes(url)
        if codes:
            codesystems[url] = [bool(cs.get("caseSensitive", True)), sorted(set(codes))]

    return {
        "fhirVersion": "4.0.1",
        "source": "FHIR R4 4.0.1 core definitions (profiles-types, profiles-resources, valuesets)",
        "primitives": primitives,
        "resources": sorted(resources),
        "datatypes": sorted(datatypes),
        "defs": dict(sorted(defs.items())),
        "valuesets": dict(sorted(valuesets.items())),
        "unexpanded_valuesets": dict(sorted(unexpanded.items())),
        "codesystems": codesystems,
        "constraints": dict(sorted(constraints.items())),
        "summary": dict(sorted(summary.items())),
    }


def summary_elements(sd: dict[str, Any]) -> list[str]:
    """Top-level elements of a resource marked ``isSummary`` in its snapshot."""
    names = []
    for el in sd["snapshot"]["element"]:
        parts = el["path"].split(".")
        if len(parts) == 2 and el.get("isSummary"):
            names.append(parts[1])
    return names


def main(argv: list[str]) -> int:
    defs_dir = Path(argv[1]) if len(argv) > 1 else DEFAULT_DEFS
    out = Path(argv[2]) if len(argv) > 2 else DEFAULT_OUT
    data = build(defs_dir)
    raw = json.dumps(data, separators=(",", ":"), sort_keys=False).encode()
    out.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0 and no file name in the header: rebuilding the same definitions gives the same bytes
    out.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))
    print(
        f"wrote {out} ({out.stat().st_size:,} bytes; {len(data['resources'])} resources, "
        f"{len(data['defs'])} defs, {len(data['valuesets'])} value sets, "
        f"{len(data['unexpanded_valuesets'])} not expandable, {len(data['codesystems'])} code systems)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
