"""Compile the FHIR R4 SearchParameter and Patient CompartmentDefinition resources into package data.

Usage::

    .venv/bin/python tools/build_search_params.py [--definitions DIR] [--out DIR] [--report]

Reads ``search-parameters.json``, ``compartmentdefinition-patient.json``,
``profiles-resources.json`` and ``profiles-types.json`` from DIR (default
``$CHARTKEEPER_FHIR_DEFINITIONS``, else ``shared/data/fhir-r4-definitions`` beside the
checkout, else ``/work/shared/data/fhir-r4-definitions``) and writes
``search_parameters.json.gz`` and ``compartment_patient.json.gz`` into the package's
``fhir/data``. Each expression is parsed and compiled here, once, against the type model from
the StructureDefinitions; the app only loads the result. The output is deterministic (sorted,
gzip without a timestamp) so a rebuild from the same spec changes no bytes.

The build fails if an expression does not compile. ``--report`` lists branches that give no
index rows by design (composite, special, and value types the converters do not index).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from chartkeeper.fhir.search.fhirpath import Compiler  # noqa: E402
from chartkeeper.fhir.search.typemodel import TypeModel  # noqa: E402
from chartkeeper.fhir.search.values import converter  # noqa: E402


def _default_definitions() -> Path:
    """$CHARTKEEPER_FHIR_DEFINITIONS, else ``shared/`` beside the checkout, else /work/shared."""
    env = os.environ.get("CHARTKEEPER_FHIR_DEFINITIONS")
    if env:
        return Path(env)
    beside = ROOT.parent / "shared" / "data" / "fhir-r4-definitions"
    return beside if beside.is_dir() else Path("/work/shared/data/fhir-r4-definitions")


DEFAULT_DEFINITIONS = _default_definitions()
DEFAULT_OUT = ROOT / "src" / "chartkeeper" / "fhir" / "data"
COMMON_BASES = ("Resource", "DomainResource")


def _load(path: Path) -> Any:
    with path.open(encoding="utf-8") as f:
        return json.load(f)


def _write(path: Path, data: Any) -> int:
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
    packed = gzip.compress(raw, compresslevel=9, mtime=0)
    path.write_bytes(packed)
    return len(packed)


def _definition(r: dict[str, Any]) -> dict[str, Any]:
    d: dict[str, Any] = {"url": r["url"], "code": r["code"], "type": r["type"], "base": r["base"]}
    if r.get("expression"):
        d["expression"] = r["expression"]
    for key in ("target", "modifier", "comparator"):
        if r.get(key):
            d[key] = r[key]
    if r.get("component"):
        d["component"] = [
            {"definition": c["definition"], "expression": c["expression"]} for c in r["component"]
        ]
    return d


def build(definitions_dir: Path, out_dir: Path, report: bool) -> None:
    types = TypeModel.from_bundles(
        _load(definitions_dir / "profiles-resources.json"), _load(definitions_dir / "profiles-types.json")
    )
    bundle = _load(definitions_dir / "search-parameters.json")
    resource_types = sorted(types.resource_types())
    compilers = {t: Compiler(types, t) for t in resource_types}

    definitions: list[dict[str, Any]] = []
    per_type: dict[str, dict[str, list[Any]]] = {t: {} for t in resource_types}
    skipped_no_expression: list[str] = []
    no_rows: dict[tuple[str, str], list[str]] = {}
    for entry in bundle["entry"]:
        r = entry["resource"]
        expression = r.get("expression")
        if not expression:
            skipped_no_expression.append(r["code"])
            continue
        index = len(definitions)
        definitions.append(_definition(r))
        applies_to = (
            resource_types
            if any(b in COMMON_BASES for b in r["base"])
            else [b for b in r["base"] if b in per_type]
        )
        for rtype in applies_to:
            if "DomainResource" in r["base"] and not types.is_subtype(rtype, "DomainResource"):
                continue
            branches = compilers[rtype].compile(expression)
            if not branches:
                raise SystemExit(f"{r['id']}: no branch of {expression!r} applies to {rtype}")
            if r["code"] in per_type[rtype]:
                raise SystemExit(f"{rtype}: two definitions of {r['code']}")
            per_type[rtype][r["code"]] = [index, [[ops, ftype] for ops, ftype in branches]]
            for _ops, ftype in branches:
                if converter(r["type"], ftype) is None:
                    no_rows.setdefault((r["type"], ftype), []).append(f"{rtype}.{r['code']}")
    unresolved = sorted({u for c in compilers.values() for u in c.unresolved})
    if unresolved:
        raise SystemExit("expressions name unknown elements: " + ", ".join(unresolved))

    compartment = _load(definitions_dir / "compartmentdefinition-patient.json")
    compartment_params: dict[str, list[str]] = {}
    for res in compartment["resource"]:
        codes = res.get("param", [])
        if not codes:
            continue
        missing = [c for c in codes if c not in per_type.get(res["code"], {})]
        if missing:
            raise SystemExit(f"compartment: {res['code']} has no parameter {missing}")
        compartment_params[res["code"]] = list(codes)

    out_dir.mkdir(parents=True, exist_ok=True)
    size_params = _write(
        out_dir / "search_parameters.json.gz",
        {
            "fhirVersion": "4.0.1",
            "resourceTypes": resource_types,
            "definitions": definitions,
            "types": per_type,
        },
    )
    size_compartment = _write(out_dir / "compartment_patient.json.gz", compartment_params)
    n_params = sum(len(p) for p in per_type.values())
    print(
        f"{len(definitions)} definitions, {len(resource_types)} resource types, {n_params} (type, code) "
        f"entries; search_parameters.json.gz {size_params} B, compartment_patient.json.gz "
        f"{size_compartment} B; no expression (not indexed): {', '.join(sorted(set(skipped_no_expression)))}"
    )
    if report:
        for (ptype, ftype), where in sorted(no_rows.items()):
            print(f"  no rows for {ptype} on {ftype}: {len(where)} e.g. {', '.join(where[:4])}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--definitions", type=Path, default=DEFAULT_DEFINITIONS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    build(args.definitions, args.out, args.report)


if __name__ == "__main__":
    main()
