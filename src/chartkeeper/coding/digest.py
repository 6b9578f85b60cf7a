"""The version of everything a stored review depends on besides the record: the rules.

A review is a function of one patient's resources *and* of the code set, the MCE edits, the
SNOMED CT map and the code that applies them. The digest hashes the data files and the source
of those modules, so a new code-set release, an edited rule or a changed summary format gives
every stored review a different fingerprint and the next use recomputes them all; nobody has to
remember to bump a version number.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources
from pathlib import Path

from chartkeeper import __version__
from chartkeeper.coding import cases, codeset, models, rules, snomed, summary, validate

#: The data files the validator reads (see codeset, rules and snomed).
DATA_FILES = ("icd10cm-tabular.json.gz", "mce-edits.json.gz", "snomed-icd10cm.json")
#: The modules whose code decides a review (cases read the record, the rest judge it).
MODULES = (cases, codeset, models, rules, snomed, summary, validate)


@cache
def rules_digest() -> str:
    """16 hex digits over the data files, the modules' source and the summary format."""
    h = hashlib.blake2b(digest_size=8)
    h.update(f"format {summary.FORMAT}\n".encode())
    data = resources.files("chartkeeper.coding").joinpath("data")
    for name in DATA_FILES:
        h.update(name.encode())
        h.update(data.joinpath(name).read_bytes())
    for module in MODULES:
        h.update(module.__name__.encode())
        source = Path(module.__file__ or "")
        # without source files (a frozen build), the release stands for the code
        h.update(source.read_bytes() if source.is_file() else __version__.encode())
    return h.hexdigest()
