"""Which search parameters this server answers, per resource type: the CapabilityStatement
lists exactly these (nothing claimed that does not work).

A parameter is supported when the parser accepts it: it is asked to parse one sample value of
the parameter's type; ``Unsupported`` (e.g. a composite over repeating elements, ``_text``)
leaves it out, while a value it finds malformed still means the parameter itself is understood.
"""

from __future__ import annotations

from functools import cache

from chartkeeper.fhir.search.clauses import MODIFIERS, UnknownParam, Unsupported, parse_clause
from chartkeeper.fhir.search.params import SearchParam, search_param, search_params
from chartkeeper.fhir.search.values_parse import BadValue

_SAMPLE = {
    "string": "a",
    "token": "a",
    "reference": "x",
    "date": "2020",
    "number": "1",
    "quantity": "1",
    "uri": "http://example.org",
    "composite": "a$1",
    "special": "a",
}


@cache
def supported_params(res_type: str) -> tuple[SearchParam, ...]:
    """The search parameters of ``res_type`` that ``parse_search`` accepts, by code."""
    out = []
    for code, param in sorted(search_params(res_type).items()):
        try:
            parse_clause((res_type,), code, _SAMPLE.get(param.type, "a"), 0)
        except (Unsupported, UnknownParam):
            continue
        except BadValue:
            pass
        out.append(param)
    return tuple(out)


@cache
def modifiers(res_type: str, code: str) -> tuple[str, ...]:
    """The modifiers the parser accepts on ``res_type``'s parameter ``code``, sorted (for the
    CapabilityStatement and the docs). A reference parameter also takes the names of the types
    it refers to (``[type]``: any resource type, when it names none); ``:identifier`` is
    listed only where it reads Reference elements (not canonicals). Token ``:below``/``:above`` need a code system
    whose hierarchy is known and ``:in``/``:not-in`` a shipped value set (see docs/search.md);
    ``:of-type`` is listed only where the parameter indexes Identifiers."""
    param = search_param(res_type, code)
    if param is None or param.type == "composite" or code in ("_id", "_lastUpdated"):
        return ()
    found = set(MODIFIERS.get(param.type, frozenset())) | {"missing"}
    kinds = {fhir_type for _, fhir_type in param.branches}
    if param.type == "token" and "Identifier" not in kinds:
        found.discard("of-type")
    if param.type == "reference":
        if "Reference" not in kinds:
            found.discard("identifier")
        found |= set(param.targets) if param.targets else {"[type]"}
    return tuple(sorted(found))
