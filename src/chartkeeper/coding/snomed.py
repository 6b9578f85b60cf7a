"""The curated SNOMED CT → ICD-10-CM map for the concepts Synthea and the demo population write.

The NLM map needs a licence, and Synthea data carries no ICD-10-CM at all, so the package ships a
small hand-written map (``data/snomed-icd10cm.json``): each concept's display read against the
Alphabetic Index, the code chosen a coder would choose from the concept alone, with a note where
the concept leaves site, side or type open. A test keeps every mapped code valid and billable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from chartkeeper.coding.models import SNOMED_SYSTEM


@dataclass(frozen=True, slots=True)
class MapEntry:
    snomed: str
    display: str
    icd10: str | None  # None: a finding that is not a diagnosis
    note: str


class SnomedMap:
    def __init__(self, entries: list[MapEntry]) -> None:
        self.entries = {e.snomed: e for e in entries}

    def lookup(self, system: str, code: str) -> MapEntry | None:
        if system != SNOMED_SYSTEM:
            return None
        return self.entries.get(code)


@cache
def default_snomed_map() -> SnomedMap:
    raw = resources.files("chartkeeper.coding").joinpath("data", "snomed-icd10cm.json").read_text("utf-8")
    data = json.loads(raw)
    return SnomedMap([MapEntry(e["snomed"], e["display"], e["icd10"], e["note"]) for e in data["map"]])
