"""Compile the FHIR R4 core value sets and code-system hierarchies that search needs into package data.

Usage::

    .venv/bin/python tools/build_search_terminology.py [--definitions DIR] [--out DIR]

Reads ``valuesets.json`` and ``profiles-resources.json`` from DIR (default
``$CHARTKEEPER_FHIR_DEFINITIONS``, else ``shared/data/fhir-r4-definitions`` beside the
checkout, else ``/work/shared/data/fhir-r4-definitions``) and writes
``search_terminology.json.gz`` into the package's ``fhir/data``:

* ``valueSets``: url -> {system: [codes]} for every value set that an element of an R4 resource
  is bound to (any strength) and that expands from the core definitions alone: enumerated
  concepts, whole code systems the spec defines completely, and ``is-a`` /
  ``descendent-of`` filters over such code systems; ``exclude`` is applied. Value sets that
  need an external terminology (SNOMED CT, LOINC, UCUM, ...) or a filter we cannot evaluate
  are left out, and ``:in`` / ``:not-in`` answer "not supported" for them.
* ``hierarchies``: system -> {code: parent, "" for a top-level code} for the complete core
  code systems whose concepts nest, for token ``:below`` / ``:above``.

The output is deterministic (sorted, gzip without a timestamp), so a rebuild from the same
spec changes no bytes. The app only loads the result; nothing reads the definitions at run time.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT_NAME = "search_terminology.json.gz"


def _default_definitions() -> Path:
    env = os.environ.get("CHARTKEEPER_FHIR_DEFINITIONS")
    if env:
        return Path(env)
    beside = ROOT.parent / "shared" / "data" / "fhir-r4-definitions"
    return beside if beside.is_dir() else Path("/work/shared/data/fhir-r4-definitions")


class CannotExpand(ValueError):
    """The value set needs something the core definitions do not hold."""


def _concepts(concepts: list[dict[str, Any]], parent: str | None) -> Iterator[tuple[str, str | None]]:
    for concept in concepts:
        yield concept["code"], parent
        yield from _concepts(concept.get("concept", []), concept["code"])


def _code_systems(bundle: dict[str, Any]) -> dict[str, dict[str, str | None]]:
    """Complete core code systems: url -> {code: parent or None}."""
    out: dict[str, dict[str, str | None]] = {}
    for entry in bundle["entry"]:
        res = entry["resource"]
        if res["resourceType"] == "CodeSystem" and res.get("content") == "complete" and res.get("concept"):
            out[res["url"]] = dict(_concepts(res["concept"], None))
    return out


def _descendants(parents: dict[str, str | None], root: str) -> set[str]:
    children: dict[str, list[str]] = {}
    for code, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(code)
    found: set[str] = set()
    stack = list(children.get(root, []))
    while stack:
        code = stack.pop()
        if code not in found:
            found.add(code)
            stack.extend(children.get(code, []))
    return found


def _part(part: dict[str, Any], systems: dict[str, dict[str, str | None]]) -> tuple[str, set[str]]:
    """The (system, codes) one include or exclude stands for."""
    if part.get("valueSet"):
        raise CannotExpand("imports another value set")
    system = part.get("system")
    if not system:
        raise CannotExpand("no system")
    if part.get("concept"):
        if part.get("filter"):
            raise CannotExpand("concepts and filters together")
        return system, {c["code"] for c in part["concept"]}
    if system not in systems:
        raise CannotExpand(f"{system} is not a complete core code system")
    codes = set(systems[system])
    for flt in part.get("filter", []):
        op, value = flt.get("op"), flt.get("value")
        if flt.get("property") != "concept" or op not in ("is-a", "descendent-of"):
            raise CannotExpand(f"filter {flt!r}")
        below = _descendants(systems[system], value)
        codes &= below | {value} if op == "is-a" else below
    return system, codes


def expand(valueset: dict[str, Any], systems: dict[str, dict[str, str | None]]) -> dict[str, list[str]]:
    """A value set's codes by system, or CannotExpand."""
    compose = valueset.get("compose") or {}
    codes: dict[str, set[str]] = {}
    for part in compose.get("include", []):
        system, found = _part(part, systems)
        codes.setdefault(system, set()).update(found)
    for part in compose.get("exclude", []):
        system, found = _part(part, systems)
        codes.get(system, set()).difference_update(found)
    out = {system: sorted(found) for system, found in codes.items() if found}
    if not out:
        raise CannotExpand("empty")
    return out


def bound_value_sets(profiles: dict[str, Any]) -> set[str]:
    """Canonical urls (without version) of every value set an R4 resource element is bound to."""
    found: set[str] = set()
    for entry in profiles["entry"]:
        res = entry["resource"]
        if res["resourceType"] != "StructureDefinition":
            continue
        for element in res.get("snapshot", {}).get("element", []):
            url = element.get("binding", {}).get("valueSet")
            if url:
                found.add(url.split("|", 1)[0])
    return found


def build(definitions: Path) -> dict[str, Any]:
    bundle = json.loads((definitions / "valuesets.json").read_text(encoding="utf-8"))
    profiles = json.loads((definitions / "profiles-resources.json").read_text(encoding="utf-8"))
    systems = _code_systems(bundle)
    bound = bound_value_sets(profiles)
    value_sets: dict[str, dict[str, list[str]]] = {}
    for entry in bundle["entry"]:
        res = entry["resource"]
        if res["resourceType"] != "ValueSet" or res["url"] not in bound:
            continue
        try:
            value_sets[res["url"]] = expand(res, systems)
        except CannotExpand:
            continue
    hierarchies = {
        url: {code: parent or "" for code, parent in sorted(parents.items())}
        for url, parents in sorted(systems.items())
        if any(parent is not None for parent in parents.values())
    }
    return {"version": "4.0.1", "valueSets": value_sets, "hierarchies": hierarchies}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--definitions", type=Path, default=_default_definitions())
    parser.add_argument("--out", type=Path, default=ROOT / "src" / "chartkeeper" / "fhir" / "data")
    args = parser.parse_args()
    data = build(args.definitions)
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
    packed = gzip.compress(raw, compresslevel=9, mtime=0)
    (args.out / OUT_NAME).write_bytes(packed)
    print(
        json.dumps(
            {
                "value_sets": len(data["valueSets"]),
                "hierarchies": len(data["hierarchies"]),
                "bytes": len(packed),
            }
        )
    )


if __name__ == "__main__":
    main()
