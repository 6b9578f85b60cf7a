"""Parsing one filter parameter (name and value) into a clause of the query IR.

Names are ``code[:modifier]``, ``ref[:Type].chained-name`` (chains, any depth) or
``_has:Source:ref:name`` (reverse chains, any depth). A parameter is resolved against every
resource type it is searched on; it must mean the same kind of thing on all of them.

Token ``:below``/``:above``/``:in``/``:not-in`` are resolved to codes here through the
injected terminology (``codesets.py``); reference ``:identifier``, token ``:of-type`` and the
composites over ``Observation.component`` become plain clauses on derived parameters whose
rows extraction writes (``derived.py``, docs/adr/0013).
"""

from __future__ import annotations

from collections.abc import Callable

from chartkeeper.fhir.search.codesets import CODE_SET_MODIFIERS, parse_in, parse_of_type, parse_subsumption
from chartkeeper.fhir.search.derived import COMPONENT_COMPOSITES, component_key, identifier_code, of_type_code
from chartkeeper.fhir.search.ir import (
    AnyClause,
    ChainClause,
    Clause,
    CompositeClause,
    HasClause,
    MissingValue,
    Param,
    ParamClause,
    TokenValue,
    Value,
)
from chartkeeper.fhir.search.params import resource_types, search_param
from chartkeeper.fhir.search.terminology import Terminology, default_terminology
from chartkeeper.fhir.search.values_parse import (
    BadValue,
    Unsupported,
    parse_date,
    parse_number,
    parse_quantity,
    parse_reference,
    parse_string,
    parse_token,
    parse_token_text,
    parse_uri,
    split_unescaped,
    unescape,
)

#: The parameters every resource has (a system search without ``_type`` may use only these).
COMMON = ("_id", "_lastUpdated", "_tag", "_profile", "_security", "_source")

#: Modifiers supported per parameter type (``missing`` is added for all but ``special``).
MODIFIERS: dict[str, frozenset[str]] = {
    "string": frozenset({"exact", "contains"}),
    "token": frozenset({"text", "not", "below", "above", "in", "not-in", "of-type"}),
    "reference": frozenset({"identifier"}),  # plus a resource type name
    "date": frozenset(),
    "number": frozenset(),
    "quantity": frozenset(),
    "uri": frozenset({"below", "above"}),
    "special": frozenset(),
}


__all__ = ["MODIFIERS", "BadValue", "UnknownParam", "Unsupported", "parse_clause", "resolve_param"]


class UnknownParam(ValueError):
    """A parameter this server does not know (lenient searches drop these)."""


def resolve_param(res_types: tuple[str, ...], code: str) -> Param:
    """The parameter ``code`` as searched on ``res_types`` (empty: every type, common only)."""
    if code in ("_id", "_lastUpdated"):
        return Param(code=code, type="special", res_types=res_types or tuple(sorted(resource_types())))
    if not res_types:
        if code not in COMMON:
            raise UnknownParam(f"unknown search parameter {code!r} for a search across all types")
        found = search_param("Patient", code)
        assert found is not None  # every type has the common parameters
        return Param(code=code, type=found.type, res_types=tuple(sorted(resource_types())))
    kinds: set[str] = set()
    targets: dict[str, None] = {}
    for rtype in res_types:
        found = search_param(rtype, code)
        if found is None:
            raise UnknownParam(f"unknown search parameter {code!r} for {rtype}")
        kinds.add(found.type)
        targets.update(dict.fromkeys(found.targets))
    if len(kinds) > 1:
        raise BadValue(f"{code!r} has different types on {', '.join(res_types)}: {sorted(kinds)}")
    return Param(code=code, type=kinds.pop(), res_types=res_types, targets=tuple(targets))


def parse_clause(
    res_types: tuple[str, ...], name: str, value: str, now_us: int, terminology: Terminology | None = None
) -> Clause:
    """One parameter of a search on ``res_types``. Raises UnknownParam, Unsupported or BadValue.

    ``terminology`` answers token ``:below``/``:above``/``:in``/``:not-in`` (default: what
    the fhir package ships, ``terminology.default_terminology``)."""
    terms = terminology if terminology is not None else default_terminology()
    if name.startswith("_has:"):
        return _parse_has(res_types, name, value, now_us, terms)
    head, dot, rest = name.partition(".")
    code, colon, modifier = head.partition(":")
    if colon and not modifier:
        raise BadValue(f"{name!r} has an empty modifier")
    param = resolve_param(res_types, code)
    if dot:
        return _parse_chain(param, modifier or None, rest, value, now_us, terms)
    if param.type == "composite":
        return _parse_composite(param, modifier, value, now_us)
    if modifier in ("identifier", "of-type"):
        return _parse_derived(param, modifier, value)
    return ParamClause(
        param=param, modifier=modifier or None, values=_values(param, modifier, value, now_us, terms)
    )


def _parse_derived(param: Param, modifier: str, value: str) -> Clause:
    """Reference ``:identifier`` and token ``:of-type``: a plain token clause on the derived
    rows extraction writes for them (``derived.py``)."""
    if modifier == "identifier" and param.type == "reference":
        _require_branch(param, "Reference", ":identifier applies to parameters over Reference elements")
        derived = Param(code=identifier_code(param.code), type="token", res_types=param.res_types)
        return ParamClause(param=derived, modifier=None, values=_split(value, parse_token))
    if modifier == "of-type" and param.type == "token":
        _require_branch(param, "Identifier", ":of-type applies to parameters over Identifier elements")
        derived = Param(code=of_type_code(param.code), type="token", res_types=param.res_types)
        return ParamClause(param=derived, modifier=None, values=_split(value, parse_of_type))
    raise Unsupported(f"modifier :{modifier} is not supported on {param.type} parameter {param.code!r}")


def _require_branch(param: Param, fhir_type: str, message: str) -> None:
    """Every searched type's ``param`` reads some element of ``fhir_type``, else Unsupported."""
    for rtype in param.res_types:
        found = search_param(rtype, param.code)
        if found is None or not any(kind == fhir_type for _, kind in found.branches):
            raise Unsupported(f"{message}; {rtype}.{param.code} is not one")


def _split(value: str, parse: Callable[[str], Value]) -> tuple[Value, ...]:
    raws = split_unescaped(value, ",")
    if any(not raw for raw in raws):
        raise BadValue("empty value in a comma-separated list")
    return tuple(parse(raw) for raw in raws)


def _parse_chain(
    param: Param, type_modifier: str | None, rest: str, value: str, now_us: int, terms: Terminology
) -> Clause:
    if param.type != "reference":
        raise BadValue(f"{param.code!r} is a {param.type} parameter and cannot be chained")
    if type_modifier is not None:
        if type_modifier not in resource_types():
            raise BadValue(f"{type_modifier!r} is not a resource type")
        if param.targets and type_modifier not in param.targets:
            raise BadValue(f"{param.code!r} does not refer to {type_modifier}")
        candidates: tuple[str, ...] = (type_modifier,)
    else:
        candidates = param.targets or tuple(sorted(resource_types()))
    next_code = rest.split(":", 1)[0].split(".", 1)[0]
    if next_code != "_has" and next_code not in ("_id", "_lastUpdated"):
        candidates = tuple(t for t in candidates if search_param(t, next_code) is not None)
    if not candidates:
        raise UnknownParam(f"no type that {param.code!r} refers to has a search parameter {next_code!r}")
    inner = parse_clause(candidates, rest, value, now_us, terms)
    return ChainClause(param=param, target_types=candidates, inner=inner)


def _parse_has(res_types: tuple[str, ...], name: str, value: str, now_us: int, terms: Terminology) -> Clause:
    parts = name.split(":", 3)
    if len(parts) < 4 or not all(parts):
        raise BadValue(f"{name!r} is not _has:Type:reference:parameter")
    _, source, ref_code, rest = parts
    if source not in resource_types():
        raise BadValue(f"{source!r} is not a resource type")
    ref = resolve_param((source,), ref_code)
    if ref.type != "reference":
        raise BadValue(f"{source}.{ref_code} is not a reference parameter")
    if res_types and ref.targets and not set(res_types) & set(ref.targets):
        raise BadValue(f"{source}.{ref_code} never refers to {', '.join(res_types)}")
    return HasClause(source_type=source, ref=ref, inner=parse_clause((source,), rest, value, now_us, terms))


def composite_components(param: Param) -> tuple[Param, ...]:
    """The component parameters of a composite the index answers exactly, else Unsupported.

    Exact when the composite's expression is the resource itself (R4: Observation's
    ``code-value-*``): each component is then one element of the resource, indexed by the
    component's own parameter, so "both values on the same element" is "on the resource".
    Composites over repeating elements (``component-code-value-quantity``, ``useContext``)
    would need index rows that tie component values together, which are not written.
    """
    if len(param.res_types) != 1:
        raise Unsupported(f"composite parameter {param.code!r} is supported on one resource type only")
    rtype = param.res_types[0]
    found = search_param(rtype, param.code)
    if found is None or found.expression is None or found.expression.strip() != rtype:
        raise Unsupported(f"composite parameter {param.code!r} is not supported (its parts may repeat)")
    components = []
    for component in found.components:
        if component.code is None:
            raise Unsupported(f"composite parameter {param.code!r} has an unknown component")
        components.append(resolve_param((rtype,), component.code))
    return tuple(components)


def _parse_composite(param: Param, modifier: str, value: str, now_us: int) -> Clause:
    if modifier:
        raise Unsupported(f"modifier :{modifier} is not supported on composite parameter {param.code!r}")
    if len(param.res_types) == 1 and (param.res_types[0], param.code) in COMPONENT_COMPOSITES:
        return _parse_component_composite(param, value)
    components = composite_components(param)
    values = []
    for raw in split_unescaped(value, ","):
        parts = split_unescaped(raw, "$")
        if len(parts) != len(components) or not all(parts):
            raise BadValue(f"{param.code} takes {len(components)} values joined by $")
        values.append(
            tuple(
                _value_parser(c, "", now_us, default_terminology())(part)
                for c, part in zip(components, parts, strict=True)
            )
        )
    return CompositeClause(param=param, components=components, values=tuple(values))


def _parse_component_composite(param: Param, value: str) -> Clause:
    """``component-code-value-quantity=system|code$[prefix]value[|system|code]``: per OR-ed
    value, a plain clause on the derived rows of elements so coded (``derived.py``)."""
    kind = COMPONENT_COMPOSITES[(param.res_types[0], param.code)][2]
    parse_value: Callable[[str], Value] = parse_quantity if kind == "quantity" else parse_token
    clauses = []
    for raw in split_unescaped(value, ","):
        parts = split_unescaped(raw, "$")
        if len(parts) != 2 or not all(parts):
            raise BadValue(f"{param.code} takes a code and a value joined by $")
        token = parse_token(parts[0])
        if token.code is None:
            raise BadValue(f"{param.code}: the first part needs a code (system|code, |code or code)")
        derived = Param(
            code=component_key(param.code, token.system, token.code), type=kind, res_types=param.res_types
        )
        clauses.append(ParamClause(param=derived, modifier=None, values=(parse_value(parts[1]),)))
    return clauses[0] if len(clauses) == 1 else AnyClause(clauses=tuple(clauses))


def _values(param: Param, modifier: str, value: str, now_us: int, terms: Terminology) -> tuple[Value, ...]:
    if modifier == "missing":
        if param.type == "special":
            raise Unsupported(f"{param.code}:missing is not supported (every resource has it)")
        if value not in ("true", "false"):
            raise BadValue(":missing takes true or false")
        return (MissingValue(missing=value == "true"),)
    return _split(value, _value_parser(param, modifier, now_us, terms))


def _value_parser(param: Param, modifier: str, now_us: int, terms: Terminology) -> Callable[[str], Value]:
    if modifier:
        allowed = MODIFIERS.get(param.type, frozenset())
        is_type = param.type == "reference" and modifier in resource_types()
        if modifier not in allowed and not is_type:
            raise Unsupported(
                f"modifier :{modifier} is not supported on {param.type} parameter {param.code!r}"
            )
    kind = param.type
    if param.code == "_id":
        return lambda raw: TokenValue(system=None, code=unescape(raw))
    if param.code == "_lastUpdated":
        kind = "date"
    if kind == "string":
        return parse_string
    if kind == "token":
        if modifier in ("below", "above"):
            return lambda raw: parse_subsumption(raw, modifier, terms)
        if modifier in CODE_SET_MODIFIERS:
            return lambda raw: parse_in(raw, modifier, terms)
        return parse_token_text if modifier == "text" else parse_token
    if kind == "reference":
        type_modifier = modifier or None
        return lambda raw: parse_reference(raw, type_modifier, param.targets)
    if kind == "date":
        return lambda raw: parse_date(raw, now_us)
    if kind == "number":
        return parse_number
    if kind == "quantity":
        return parse_quantity
    if kind == "uri":
        return parse_uri
    raise Unsupported(f"{param.type} parameter {param.code!r} is not supported")
