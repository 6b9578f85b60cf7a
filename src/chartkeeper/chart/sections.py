"""A chart as its pages see it: the banner, and each section built only when a page asks.

Each chart page reads only the resource types it shows (``PAGE_TYPES``), and a section is
computed from them the first time a template uses it: the encounters page builds no results,
the summary builds ten result rows, not one per observation. Asking for a section whose types
were not read is a programming error (``LookupError``), never an empty list that would look
like "nothing recorded".
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from chartkeeper.chart import documents, results, summary
from chartkeeper.chart.models import Document, Entry, Result, Trend, Visit

Json = dict[str, Any]

#: what the summary shows: the four lists, the latest encounters, results and trend plots
SUMMARY_TYPES = frozenset(
    {"Condition", "MedicationRequest", "AllergyIntolerance", "Immunization", "Encounter", "Observation"}
)
DOCUMENT_TYPES = frozenset({"DocumentReference", "DiagnosticReport"})
#: the resource types each chart page reads besides the Patient (the banner)
PAGE_TYPES: dict[str, frozenset[str]] = {
    "summary": SUMMARY_TYPES,
    "encounters": frozenset({"Encounter"}),
    "results": frozenset({"Observation"}),
    "trends": frozenset({"Observation"}),
    "documents": DOCUMENT_TYPES,
    "banner": frozenset(),
}


class Chart:
    """One patient's banner and the resources read for one page, by type."""

    def __init__(
        self, patient: Json, members: list[Json], types: frozenset[str], *, truncated: bool = False
    ) -> None:
        self.banner = summary.banner(patient)
        self.types = types
        self.truncated = truncated  # more resources exist than were read (the oldest left out)
        self.resource_count = 1 + len(members)
        self._by_type: dict[str, list[Json]] = {t: [] for t in types}
        for res in members:
            self._by_type.setdefault(str(res.get("resourceType")), []).append(res)

    def _of(self, *types: str) -> list[Json]:
        missing = sorted(set(types) - self.types)
        if missing:
            raise LookupError(f"this chart was read without {', '.join(missing)}")
        return [res for t in types for res in self._by_type[t]]

    @cached_property
    def problems(self) -> list[Entry]:
        return summary.problems(self._of("Condition"))

    @cached_property
    def medications(self) -> list[Entry]:
        return summary.medications(self._of("MedicationRequest"))

    @cached_property
    def allergies(self) -> list[Entry]:
        return summary.allergies(self._of("AllergyIntolerance"))

    @cached_property
    def immunizations(self) -> list[Entry]:
        return summary.immunizations(self._of("Immunization"))

    @cached_property
    def visits(self) -> list[Visit]:
        return summary.visits(self._of("Encounter"))

    @cached_property
    def results(self) -> list[Result]:
        return results.results(self._of("Observation"))

    def latest_results(self, count: int) -> list[Result]:
        """The first ``count`` rows of ``results``, without building the others."""
        if "results" in self.__dict__:
            return self.results[:count]
        return results.results(self._of("Observation"), limit=count)

    @cached_property
    def trends(self) -> list[Trend]:
        return results.trends(self._of("Observation"))

    @cached_property
    def documents(self) -> list[Document]:
        return documents.documents(self._of("DocumentReference", "DiagnosticReport"))
