"""The result parameters of a search: what to return rather than what to match.

``_sort``, ``_count``, ``_offset``, ``_total``, ``_summary``, ``_elements``, ``_include`` and
``_revinclude`` (with ``:iterate``). Each returns its canonical text for the self link.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from chartkeeper.fhir.search.clauses import Unsupported, resolve_param
from chartkeeper.fhir.search.ir import Include, SortKey
from chartkeeper.fhir.search.params import resource_types, search_param
from chartkeeper.fhir.search.values_parse import BadValue

#: Page size when ``_count`` is absent, and the most one page returns (larger asks are cut).
DEFAULT_COUNT = 20
MAX_COUNT = 1000
#: The deepest ``_offset`` served: deeper pages cost a scan of every earlier row.
MAX_OFFSET = 100_000

_RESULT = frozenset(
    {"_sort", "_count", "_offset", "_total", "_summary", "_elements", "_include", "_revinclude"}
)
_UNSUPPORTED = frozenset(
    {"_contained", "_containedType", "_text", "_content", "_list", "_query", "_filter", "_score", "_graph"}
)
_ELEMENT = re.compile(r"[A-Za-z][A-Za-z0-9]{0,63}(\[x\])?")
_SORTABLE = frozenset({"string", "token", "reference", "date", "number", "quantity", "uri", "special"})


@dataclass
class ResultState:
    """Result parameters collected while parsing (turned into SearchQuery fields at the end)."""

    res_types: tuple[str, ...]
    system: bool
    includes: list[Include] = field(default_factory=list)
    sort: list[SortKey] = field(default_factory=list)
    count: int = DEFAULT_COUNT
    offset: int = 0
    total: str | None = None
    summary: str | None = None
    elements: list[str] = field(default_factory=list)

    def fields(self) -> dict[str, Any]:
        return {
            "includes": tuple(self.includes),
            "sort": tuple(self.sort),
            "count": self.count,
            "offset": self.offset,
            "total": self.total,
            "summary": self.summary,
            "elements": tuple(self.elements),
        }


def is_result_param(name: str) -> bool:
    base = name.split(":", 1)[0]
    return base in _RESULT or base in _UNSUPPORTED


def apply(state: ResultState, name: str, value: str) -> str:
    """Record one result parameter; return its canonical value."""
    base, _, modifier = name.partition(":")
    if base in _UNSUPPORTED:
        raise Unsupported(f"{base} is not supported")
    if base in ("_include", "_revinclude"):
        return _include(state, base == "_revinclude", modifier, value)
    if modifier:
        raise Unsupported(f"{base} takes no modifier")
    if base == "_count":
        state.count = min(_non_negative(value), MAX_COUNT)
        return str(state.count)
    if base == "_offset":
        state.offset = _non_negative(value)
        if state.offset > MAX_OFFSET:
            raise BadValue(f"_offset is limited to {MAX_OFFSET}; narrow the search instead")
        return str(state.offset)
    if base == "_total":
        state.total = _one_of(value, ("none", "estimate", "accurate"))
        return value
    if base == "_summary":
        state.summary = _one_of(value, ("true", "false", "count", "data", "text"))
        return value
    if base == "_elements":
        return _elements(state, value)
    return _sort(state, value)


def _non_negative(value: str) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 9:
        raise BadValue(f"{value!r} is not a non-negative integer")
    return int(value)


def _one_of(value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise BadValue(f"{value!r} is not one of {', '.join(allowed)}")
    return value


def _elements(state: ResultState, value: str) -> str:
    names = [n.strip() for n in value.split(",") if n.strip()]
    bad = [n for n in names if not _ELEMENT.fullmatch(n)]
    if bad or not names:
        raise BadValue(f"_elements takes top-level element names, not {', '.join(bad) or 'nothing'}")
    state.elements.extend(n for n in names if n not in state.elements)
    return ",".join(names)


def _sort(state: ResultState, value: str) -> str:
    keys = [k.strip() for k in value.split(",")]
    if not all(keys):
        raise BadValue("_sort has an empty key")
    for key in keys:
        descending = key.startswith("-")
        code = key[1:] if descending else key
        param = resolve_param(state.res_types, code)
        if param.type not in _SORTABLE:
            raise Unsupported(f"sorting by {param.type} parameter {code!r} is not supported")
        state.sort.append(SortKey(param=param, descending=descending))
    return ",".join(keys)


def _include(state: ResultState, reverse: bool, modifier: str, value: str) -> str:
    if modifier not in ("", "iterate", "recurse"):
        raise Unsupported(f"modifier :{modifier} is not supported on _include/_revinclude")
    iterate = bool(modifier)
    if value == "*":
        if reverse:
            raise Unsupported("_revinclude=* is not supported")
        if not state.res_types:
            raise Unsupported("_include=* needs _type in a system search")
        for rtype in state.res_types:
            state.includes.append(Include(rtype, None, None, iterate, reverse))
        return value
    parts = value.split(":")
    if len(parts) not in (2, 3) or not all(parts):
        raise BadValue(f"{value!r} is not Source:parameter[:Target]")
    source, code = parts[0], parts[1]
    target = parts[2] if len(parts) == 3 else None
    if source not in resource_types():
        raise BadValue(f"{source!r} is not a resource type")
    if not reverse and not iterate and state.res_types and source not in state.res_types:
        raise BadValue(f"_include source {source} is not a searched type (use :iterate)")
    if target is not None and target not in resource_types():
        raise BadValue(f"{target!r} is not a resource type")
    if code != "*":
        param = search_param(source, code)
        if param is None or param.type != "reference":
            raise BadValue(f"{source} has no reference parameter {code!r}")
        if target is not None and param.targets and target not in param.targets:
            raise BadValue(f"{source}.{code} does not refer to {target}")
    state.includes.append(Include(source, None if code == "*" else code, target, iterate, reverse))
    return value
