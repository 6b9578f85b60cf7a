"""``parse_search``: a FHIR R4 search's parameters -> the query IR (``ir.SearchQuery``).

Transport-free: the HTTP shell hands over the decoded (name, value) pairs of the query
string (or of a ``_search`` POST body) and gets either a ``SearchQuery`` or ``InvalidInput``
whose issues name each parameter and what is wrong with it, all problems at once.

``strict=False`` is ``Prefer: handling=lenient``: unknown and unsupported parameters are
dropped and listed in ``SearchQuery.dropped`` instead of failing the search. Bad values of
known parameters fail in both modes (a search that silently matches everything is worse).
"""

from __future__ import annotations

from collections.abc import Sequence

from chartkeeper.errors import InvalidInput
from chartkeeper.fhir.instant import now_us as current_us
from chartkeeper.fhir.outcome import Issue
from chartkeeper.fhir.search import results
from chartkeeper.fhir.search.clauses import UnknownParam, Unsupported, parse_clause
from chartkeeper.fhir.search.ir import Clause, SearchQuery
from chartkeeper.fhir.search.params import resource_types
from chartkeeper.fhir.search.terminology import Terminology
from chartkeeper.fhir.search.values_parse import BadValue

#: Not search parameters but transport (the shell reads them); accepted and not applied.
TRANSPORT = frozenset({"_format", "_pretty"})


def parse_search(
    res_type: str | None,
    params: Sequence[tuple[str, str]],
    *,
    strict: bool = True,
    now_us: int | None = None,
    terminology: Terminology | None = None,
) -> SearchQuery:
    """Parse a type search (``res_type``) or a system search (None, ``_type`` allowed).

    ``now_us`` fixes "now" for ``ap`` dates (tests and the matcher pass the same value).
    ``terminology`` answers token ``:below``/``:above``/``:in``/``:not-in``; None is what the
    fhir package ships (the application adds ICD-10-CM, see ``terminology.py``).
    """
    now = current_us() if now_us is None else now_us
    issues: list[Issue] = []
    if res_type is not None and res_type not in resource_types():
        raise InvalidInput(
            f"{res_type!r} is not an R4 resource type",
            [Issue("error", "not-supported", f"unknown resource type {res_type!r}")],
        )
    res_types = _search_types(res_type, params, issues)
    state = results.ResultState(res_types=res_types, system=res_type is None)
    clauses: list[Clause] = []
    applied: list[tuple[str, str]] = []
    dropped: list[tuple[str, str]] = []
    notes: list[tuple[str, str]] = []
    for name, value in params:
        if name in TRANSPORT or name == "_type":
            if name == "_type" and res_type is None:
                applied.append((name, value))
            continue
        try:
            _encodable(name, value)
            if results.is_result_param(name):
                canonical = results.apply(state, name, value)
                if name != "_offset":  # each paging link sets its own
                    applied.append((name, canonical))
                continue
            if value == "":
                dropped.append((name, value))  # an empty value is ignored, as the spec allows
                continue
            clauses.append(parse_clause(res_types, name, value, now, terminology))
            applied.append((name, value))
        except (UnknownParam, Unsupported) as exc:
            if strict:
                code = "not-supported"
                issues.append(Issue("error", code, f"{name}: {exc}", expression=name))
            else:
                dropped.append((name, value))
                notes.append((name, str(exc)))
        except BadValue as exc:
            issues.append(Issue("error", "invalid", f"{name}={value!r}: {exc}", expression=name))
    if issues:
        raise InvalidInput("; ".join(i.message for i in issues), issues)
    return SearchQuery(
        res_type=res_type,
        res_types=res_types,
        clauses=tuple(clauses),
        applied=tuple(applied),
        dropped=tuple(dropped),
        notes=tuple(notes),
        **state.fields(),
    )


def _search_types(
    res_type: str | None, params: Sequence[tuple[str, str]], issues: list[Issue]
) -> tuple[str, ...]:
    """The searched types: ``res_type``, or the union of every ``_type`` (system search only)."""
    if res_type is not None:
        if any(name == "_type" for name, _ in params):
            issues.append(Issue("error", "invalid", "_type is only allowed in a system search", "_type"))
        return (res_type,)
    found: dict[str, None] = {}
    for name, value in params:
        if name != "_type":
            continue
        for item in value.split(","):
            if item in resource_types():
                found[item] = None
            else:
                issues.append(Issue("error", "invalid", f"_type: {item!r} is not a resource type", "_type"))
    return tuple(found)


def _encodable(name: str, value: str) -> None:
    """Lone surrogates (undecodable input) and NUL cannot reach a database as text."""
    try:
        name.encode()
        value.encode()
    except UnicodeEncodeError as exc:
        raise BadValue("the parameter is not valid UTF-8 text") from exc
    if "\x00" in name or "\x00" in value:
        raise BadValue("the parameter contains a NUL character")
