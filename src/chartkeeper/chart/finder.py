"""The patient finder: FHIR search for candidates, then typo- and phonetic-tolerant ranking.

FHIR's ``name`` search is a starts-with match, so a misspelled name finds nothing by itself.
The finder asks for candidates with short prefixes of the names the user typed (the first two
letters; the first and third, for a slip in the second letter; phonetic alternatives of the
first sound such as C/K or PH/F) — for two or more names, a prefix of the first AND one of the
last — together with the exact filters (birth date, sex, identifier) so the database narrows
first. At most ``MAX_CANDIDATES`` come back per prefix —
a big database never loads into Python — and those are ranked by edit distance (rapidfuzz)
and Metaphone codes (jellyfish). Every search is one audited ``search-type`` access.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chartkeeper.chart import text
from chartkeeper.chart.models import PatientRow
from chartkeeper.chart.names import name_tokens, prefixes, score
from chartkeeper.chart.summary import identifiers
from chartkeeper.fhir.search.query import parse_search
from chartkeeper.records.audit import audited, require
from chartkeeper.security.caller import Caller
from chartkeeper.security.ports import AuditSink
from chartkeeper.security.scopes import Action
from chartkeeper.store.models import AccessFilter, StoredVersion
from chartkeeper.store.repository import Store

Json = dict[str, Any]
MAX_CANDIDATES = 500
MIN_SCORE = 70.0
PAGE_SIZE = 20
#: identifier types not shown in result lists (a social security number is not for over-the-shoulder eyes)
_HIDDEN_IDS = frozenset({"SS", "SB"})


@dataclass(frozen=True, slots=True)
class FindRequest:
    name: str = ""
    birthdate: str = ""
    identifier: str = ""
    gender: str = ""

    @property
    def empty(self) -> bool:
        return not (self.name.strip() or self.birthdate or self.identifier.strip() or self.gender)


@dataclass(frozen=True, slots=True)
class FindResult:
    rows: list[PatientRow]
    total: int
    page: int
    pages: int
    truncated: bool  # some prefix had more candidates than were read: narrow the search


def probes(tokens: list[str]) -> list[tuple[str, ...]]:
    """The candidate searches: one name prefix for a single typed name; for several, a prefix
    of the first and one of the last together (FHIR ANDs repeated ``name`` parameters), which
    keeps the candidate set small on a big database."""
    if len(tokens) == 1:
        return [(p,) for p in sorted(prefixes(tokens[0]))]
    return [(a, b) for a in sorted(prefixes(tokens[0])) for b in sorted(prefixes(tokens[-1]))]


class PatientFinder:
    def __init__(self, store: Store, audit: AuditSink) -> None:
        self.store = store
        self.audit = audit

    def find(self, caller: Caller, request: FindRequest, page: int = 0) -> FindResult:
        filters = [
            (k, v)
            for k, v in (
                ("birthdate", request.birthdate),
                ("gender", request.gender),
                ("identifier", request.identifier.strip()),
            )
            if v
        ]
        tokens = name_tokens(request.name)
        query = "&".join(f"{k}={v}" for k, v in [*filters, *(("name~", t) for t in tokens)])
        with audited(self.audit, caller, "search-type", query=f"Patient?{query}") as trail:
            require(caller, "Patient", Action.SEARCH)
            access = caller.access_filter(Action.SEARCH)
            if tokens:
                ranked, truncated = self._ranked(tokens, filters, access)
                total = len(ranked)
                chosen = ranked[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
            else:
                chosen, total, truncated = self._plain(filters, access, page)
            rows = [self._row(p, s, access) for p, s in chosen]
            for row in rows:
                trail.touch("Patient", row.patient_id)
        pages = max(1, -(-total // PAGE_SIZE))
        return FindResult(rows, total, page + 1, pages, truncated)

    def _ranked(
        self, tokens: list[str], filters: list[tuple[str, str]], access: AccessFilter
    ) -> tuple[list[tuple[Json, float]], bool]:
        candidates: dict[str, Json] = {}
        truncated = False
        for probe in probes(tokens):
            query = parse_search("Patient", [*filters, *(("name", p) for p in probe)])
            found = self.store.search(query, access, count=MAX_CANDIDATES, offset=0)
            truncated = truncated or found.next_offset is not None
            for version in found.matches:
                if version.content is not None:
                    candidates[version.res_id] = version.content
        scored = [(p, score(tokens, p)) for p in candidates.values()]
        ranked = sorted(
            (x for x in scored if x[1] >= MIN_SCORE), key=lambda x: (-x[1], text.human_name(x[0].get("name")))
        )
        return ranked, truncated

    def _plain(
        self, filters: list[tuple[str, str]], access: AccessFilter, page: int
    ) -> tuple[list[tuple[Json, float]], int, bool]:
        query = parse_search("Patient", [*filters, ("_sort", "family"), ("_total", "accurate")])
        found = self.store.search(query, access, count=PAGE_SIZE, offset=page * PAGE_SIZE)
        rows = [(v.content, 100.0) for v in found.matches if v.content is not None]
        return rows, found.total if found.total is not None else len(rows), False

    def _row(self, patient: Json, match: float, access: AccessFilter) -> PatientRow:
        pid = str(patient["id"])
        return PatientRow(
            patient_id=pid,
            name=text.human_name(patient.get("name")),
            birth_date=str(patient.get("birthDate", "")),
            age=None
            if patient.get("deceasedDateTime") or patient.get("deceasedBoolean")
            else text.age(patient.get("birthDate")),
            sex=str(patient.get("gender", "")),
            identifiers=[(label, value) for label, value in identifiers(patient) if label not in _HIDDEN_IDS],
            last_encounter=self._last_encounter(pid, access),
            score=match,
        )

    def _last_encounter(self, patient_id: str, access: AccessFilter) -> str:
        """The start date of the patient's latest encounter (one indexed search per row)."""
        if access.types is not None and "Encounter" not in access.types:
            return ""
        query = parse_search("Encounter", [("patient", f"Patient/{patient_id}"), ("_sort", "-date")])
        found: list[StoredVersion] = self.store.search(query, access, count=1, offset=0).matches
        if not found or found[0].content is None:
            return ""
        return text.day(found[0].content.get("period", {}).get("start"))
