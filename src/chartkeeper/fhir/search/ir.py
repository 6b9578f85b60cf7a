"""The parsed search: a frozen, transport-free query IR that SQL and the test matcher both read.

A ``SearchQuery`` is an AND of clauses; each ``ParamClause`` is an OR of values of one
parameter. Values are parsed and normalized once here, the same way index rows were written
(``normalize.py``), so every backend compares like with like:

* strings are normalized (case, accents, whitespace) as the string index is;
* dates are inclusive microsecond ranges, as the date index is;
* numbers and quantities carry the inclusive range ``[low, high]`` the prefix compares
  against (the value's implied precision for ``eq``, ±10 % for ``ap``).

Chains (``subject:Patient.name=x``) and reverse chains (``_has:Observation:patient:code=x``)
nest a clause inside another, so several levels need nothing extra.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Prefix = Literal["eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"]
PREFIXES: tuple[Prefix, ...] = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")


@dataclass(frozen=True, slots=True)
class Param:
    """A search parameter resolved for the resource types it is applied to.

    ``res_types`` is every type the parameter is searched on (one for a type search, several
    for ``_type`` or an untyped chain); index rows are keyed by (type, code) per type.
    ``type`` is ``special`` for the columns ``_id`` and ``_lastUpdated``.
    """

    code: str
    type: str
    res_types: tuple[str, ...]
    targets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StringValue:
    normalized: str  # normalize_string(raw): what ``value_normalized`` holds
    raw: str  # as given, for ``:exact``


@dataclass(frozen=True, slots=True)
class TokenValue:
    """``system|code``. system None: any system; system "": no system. code None: any code."""

    system: str | None
    code: str | None
    text: str | None = None  # ``:text``: the display/text, lower-cased


@dataclass(frozen=True, slots=True)
class ReferenceValue:
    """``Type/id``, ``id`` (type None) or an absolute/canonical ``url`` matched as written."""

    target_type: str | None
    target_id: str | None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class RangeValue:
    """A date, number or quantity with its prefix.

    Dates: ``low``/``high`` are the inclusive microsecond range of the search value (already
    widened for ``ap``). Numbers and quantities: ``value`` is the number given; ``low``/``high``
    are its precision range ``[low, high)`` for ``eq``/``ne`` and the closed ±10 % range for
    ``ap`` (see ``values_parse.number_range``). For quantities ``system``/``code`` restrict
    the unit (None: any).
    """

    prefix: Prefix
    low: float | int
    high: float | int
    value: float = 0.0
    system: str | None = None
    code: str | None = None


@dataclass(frozen=True, slots=True)
class UriValue:
    uri: str


@dataclass(frozen=True, slots=True)
class MissingValue:
    """``:missing=true|false``: whether the parameter has no index value at all."""

    missing: bool


@dataclass(frozen=True, slots=True)
class CodeGroup:
    """Codes of one system: a row matches when its system is ``system`` (None: a row without
    a system, as ``code`` elements are indexed) and its code is one of ``codes`` or starts
    with one of ``prefixes``."""

    system: str | None
    codes: tuple[str, ...]
    prefixes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CodeSetValue:
    """Token ``:below``/``:above`` (a code's subsumption) or ``:in``/``:not-in`` (a value set),
    resolved to codes when parsed (``terminology.py``); ``source`` is the value as given."""

    source: str
    groups: tuple[CodeGroup, ...]


Value = StringValue | TokenValue | ReferenceValue | RangeValue | UriValue | MissingValue | CodeSetValue


@dataclass(frozen=True, slots=True)
class ParamClause:
    """One parameter, one modifier, values OR-ed. ``modifier`` is None, ``exact``,
    ``contains``, ``text``, ``not``, ``missing``, ``below``, ``above``, ``in`` or ``not-in``
    (``not-in`` is the negation of ``in`` as ``not`` is of no modifier).

    Reference ``:identifier`` and token ``:of-type`` are parsed into a plain token clause on
    a derived parameter (``identifier_code``/``of_type_code``) whose rows extraction writes
    beside the parameter's own."""

    param: Param
    modifier: str | None
    values: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class ChainClause:
    """``ref:Type.inner``: some resource that ``param`` points to, of ``target_types``,
    matches ``inner`` (which is parsed for those types)."""

    param: Param
    target_types: tuple[str, ...]
    inner: Clause


@dataclass(frozen=True, slots=True)
class HasClause:
    """``_has:Source:ref:inner``: some ``source_type`` resource whose ``ref`` points to this
    one matches ``inner``."""

    source_type: str
    ref: Param
    inner: Clause


@dataclass(frozen=True, slots=True)
class CompositeClause:
    """A composite parameter (``code-value-quantity=loinc|8480-6$gt140``): for some value,
    every component matches. Only composites over single elements of the resource itself
    are parsed (see ``clauses.composite_components``), so "the same element" is the resource.
    ``values`` holds one tuple of component values per OR-ed value, in component order."""

    param: Param
    components: tuple[Param, ...]
    values: tuple[tuple[Value, ...], ...]


@dataclass(frozen=True, slots=True)
class AnyClause:
    """Some of ``clauses`` matches: the OR-ed values of a composite over repeating elements,
    each a clause on its own derived parameter (``derived.COMPONENT_COMPOSITES``)."""

    clauses: tuple[ParamClause, ...]


Clause = ParamClause | ChainClause | HasClause | CompositeClause | AnyClause


@dataclass(frozen=True, slots=True)
class Include:
    """``_include=Source:param[:Target]`` or ``_revinclude=...``; ``param`` None is ``*``."""

    source_type: str
    param: str | None
    target_type: str | None
    iterate: bool
    reverse: bool


@dataclass(frozen=True, slots=True)
class SortKey:
    param: Param
    descending: bool


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A parsed search. ``res_types`` is empty for a system search without ``_type``."""

    res_type: str | None
    res_types: tuple[str, ...]
    clauses: tuple[Clause, ...] = ()
    includes: tuple[Include, ...] = ()
    sort: tuple[SortKey, ...] = ()
    count: int = 20
    offset: int = 0
    total: Literal["none", "estimate", "accurate"] | None = None
    summary: Literal["true", "false", "count", "data", "text"] | None = None
    elements: tuple[str, ...] = ()
    applied: tuple[tuple[str, str], ...] = ()
    dropped: tuple[tuple[str, str], ...] = field(default=())
    notes: tuple[tuple[str, str], ...] = ()  # (name, why it was dropped), lenient handling

    def applied_params(self) -> list[tuple[str, str]]:
        """The parameters actually applied, in canonical form (``_count`` as capped), for the
        Bundle's links; ``_offset`` is left out: each link (self, next, previous) adds its own
        from ``SearchPage``."""
        return list(self.applied)
