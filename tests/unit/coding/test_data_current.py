"""The shipped coding data is what tools/build_coding_data.py makes from its sources today."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

from conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "src" / "chartkeeper" / "coding" / "data"
NAMES = ("icd10cm-tabular.json.gz", "icd10cm-index.json.gz", "icd10cm-terms.json.gz", "mce-edits.json.gz")


def test_coding_data_files_are_up_to_date(tmp_path: Path) -> None:
    index_csv = SHARED_DATA / "icd10cm-index" / "ICD10CM_2025_Index.csv"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "build_coding_data.py"),
            "--index-csv",
            str(index_csv),
            "--out",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
    )
    for name in NAMES:
        # compare contents, not bytes: another zlib may compress the same JSON differently
        fresh, committed = (gzip.decompress((d / name).read_bytes()) for d in (tmp_path, DATA))
        assert fresh == committed, f"{name} is stale: run tools/build_coding_data.py"


def test_seventh_character_codes_agree_with_simple_icd_10_cm() -> None:
    """The app derives 7th-character codes instead of storing 51,000 of them: same answers."""
    import simple_icd_10_cm as reference

    from chartkeeper.coding.codeset import default_codeset

    cs = default_codeset()
    extended = [c for c in reference.get_all_codes(True) if reference.is_extended_subcategory(c)]
    assert len(extended) > 50_000
    for code in extended[::37]:
        assert cs.status(code).billable, code
        # the build tidies "type I or II/\tinitial encounter" into "type I or II / initial encounter"
        expected = " ".join(reference.get_description(code).replace("/\t", " / ").split())
        assert cs.status(code).description == expected, code
    leaves = [
        c
        for c in reference.get_all_codes(True)
        if reference.is_leaf(c) and not reference.is_chapter_or_block(c)
    ]
    assert sum(1 for c in leaves[::11] if not cs.status(c).billable) == 0
