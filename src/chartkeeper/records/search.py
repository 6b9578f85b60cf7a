"""FHIR search for any shell: parse, run with the caller's access filter in SQL, build the
searchset Bundle, audit.

The same code answers ``GET [type]?``, ``POST [type]/_search``, system search, the search
entries of batches and transactions, and the conditional criteria of conditional writes, so
all of them agree on what a query means.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode

from sqlalchemy.engine import Connection

from chartkeeper.errors import Forbidden, InvalidInput
from chartkeeper.fhir.instant import format_instant, now_us
from chartkeeper.fhir.outcome import Issue, operation_outcome
from chartkeeper.fhir.search.ir import SearchQuery
from chartkeeper.fhir.search.presentation import apply_elements, summarize
from chartkeeper.fhir.search.query import parse_search
from chartkeeper.fhir.search.terminology import Terminology
from chartkeeper.records.audit import Trail, audited, require
from chartkeeper.records.models import Matcher, Searcher
from chartkeeper.records.ops import known_type
from chartkeeper.security.caller import Caller
from chartkeeper.security.ports import AuditAction, AuditSink
from chartkeeper.security.scopes import Action
from chartkeeper.store.models import UNRESTRICTED, StoredVersion
from chartkeeper.store.repository import Store
from chartkeeper.store.search import SearchPage

#: Parameters about the HTTP response, not the query: the shell handles them.
RESPONSE_PARAMS = frozenset({"_format", "_pretty"})
_SUBJECT_FIELDS = ("subject", "patient", "beneficiary")


def query_pairs(query: str) -> list[tuple[str, str]]:
    """``a=1&b=2`` as decoded pairs, blank values kept (the parser reports them)."""
    try:
        return parse_qsl(query, keep_blank_values=True, strict_parsing=False, max_num_fields=1000)
    except ValueError as exc:
        raise InvalidInput(f"the query string cannot be read: {exc}") from exc


def _patient_of(version: StoredVersion) -> str | None:
    """The patient a resource is about, for the audit record (Patient itself, or its subject)."""
    if version.res_type == "Patient":
        return version.res_id
    content = version.content or {}
    for name in _SUBJECT_FIELDS:
        ref = content.get(name)
        if isinstance(ref, dict) and str(ref.get("reference", "")).startswith("Patient/"):
            return str(ref["reference"]).split("/", 1)[1]
    return None


def _present(version: StoredVersion, query: SearchQuery) -> dict[str, Any]:
    content = version.content or {}
    if query.summary not in (None, "false"):
        content = summarize(content, query.summary)
    if query.elements:
        content = apply_elements(content, query.elements)
    return content


def _link(base: str, res_type: str | None, params: list[tuple[str, str]], offset: int) -> str:
    path = f"{base}/{res_type}" if res_type else base
    return f"{path}?{urlencode([*params, ('_offset', str(offset))])}"


def searchset(page: SearchPage, query: SearchQuery, base: str, res_type: str | None) -> dict[str, Any]:
    """The searchset Bundle of one page: links built from what was applied, matches, includes,
    and (lenient handling) an OperationOutcome entry naming the parameters that were dropped."""
    applied = query.applied_params()
    links = [{"relation": "self", "url": _link(base, res_type, applied, page.offset)}]
    for relation, offset in (("next", page.next_offset), ("previous", page.previous_offset)):
        if offset is not None:
            links.append({"relation": relation, "url": _link(base, res_type, applied, offset)})
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "meta": {"lastUpdated": format_instant(now_us())},
    }
    if page.total is not None:
        bundle["total"] = page.total
    bundle["link"] = links
    entries = [
        {
            "fullUrl": f"{base}/{v.res_type}/{v.res_id}",
            "resource": _present(v, query),
            "search": {"mode": mode},
        }
        for mode, versions in (("match", page.matches), ("include", page.included))
        for v in versions
    ]
    if query.dropped:
        names = ", ".join(sorted({name for name, _ in query.dropped}))
        issues = [Issue("warning", "not-supported", f"parameters not applied: {names}")]
        issues += [
            Issue("warning", "not-supported", f"{name}: {why}", expression=name) for name, why in query.notes
        ]
        outcome = operation_outcome(issues)
        entries.append({"resource": outcome, "search": {"mode": "outcome"}})
    if entries:
        bundle["entry"] = entries
    return bundle


class SearchService:
    """Search with scopes, access filter and audit; also the Matcher and Searcher of writes."""

    def __init__(self, store: Store, audit: AuditSink, terminology: Terminology | None = None) -> None:
        """``terminology`` answers token ``:below``/``:above``/``:in``/``:not-in`` (None: what
        the fhir package ships; the application adds ICD-10-CM)."""
        self.store = store
        self.audit = audit
        self.terminology = terminology

    def search(
        self,
        caller: Caller,
        res_type: str | None,
        params: Sequence[tuple[str, str]],
        *,
        base: str,
        strict: bool = False,
    ) -> dict[str, Any]:
        """One page of ``[base]/[res_type]?params`` (system search when res_type is None),
        audited as one AccessEvent naming every resource returned."""
        pairs = [(k, v) for k, v in params if k not in RESPONSE_PARAMS]
        action: AuditAction = "search-type" if res_type else "search-system"
        with audited(self.audit, caller, action, query=urlencode(pairs)) as trail:
            return self.search_in(caller, None, res_type, pairs, base=base, strict=strict, trail=trail)

    def search_in(
        self,
        caller: Caller,
        conn: Connection | None,
        res_type: str | None,
        params: Sequence[tuple[str, str]],
        *,
        base: str,
        trail: Trail,
        strict: bool = False,
    ) -> dict[str, Any]:
        """The search itself, on ``conn`` when given; what it returns is added to ``trail``."""
        pairs = [(k, v) for k, v in params if k not in RESPONSE_PARAMS]
        if res_type is not None:
            known_type(res_type)
            require(caller, res_type, Action.SEARCH)
        query = parse_search(res_type, pairs, strict=strict, terminology=self.terminology)
        self._check_types(caller, query)
        page = self.store.search(query, caller.access_filter(Action.SEARCH), conn=conn)
        _touch(trail, page)
        return searchset(page, query, base, res_type)

    def _check_types(self, caller: Caller, query: SearchQuery) -> None:
        """A system search naming types in ``_type`` needs search permission on each of them;
        without ``_type`` it covers the types the caller may search (the access filter)."""
        for res_type in query.res_types:
            if not caller.permits(res_type, Action.SEARCH):
                raise Forbidden(f"the caller's scopes do not permit search on {res_type}")

    def matcher(self) -> Matcher:
        """Conditional criteria (If-None-Exist, conditional update/patch/delete) as full search.
        Unrestricted: the service decides afterwards whether the caller may see the match."""

        def match(conn: Connection, res_type: str, query: str, limit: int) -> list[str]:
            parsed = parse_search(res_type, query_pairs(query), strict=True, terminology=self.terminology)
            page = self.store.search(parsed, UNRESTRICTED, count=limit, offset=0, conn=conn)
            return [v.res_id for v in page.matches]

        return match

    def searcher(self) -> Searcher:
        """The search entries of batches and transactions, on the Bundle's connection."""

        def run(
            caller: Caller, conn: Connection, res_type: str | None, query: str, base: str, trail: Any
        ) -> dict[str, Any]:
            return self.search_in(caller, conn, res_type, query_pairs(query), base=base, trail=trail)

        return run


def _touch(trail: Trail, page: SearchPage) -> None:
    for version in (*page.matches, *page.included):
        trail.touch_version(version, _patient_of(version))
