"""Parsing the token modifiers that need terminology or derived rows into the IR.

``:below`` / ``:above`` (``system|code``) and ``:in`` / ``:not-in`` (a value set's canonical
url) become a ``CodeSetValue`` listing codes per system, resolved here, once, through the
injected ``Terminology``; ``:of-type`` (``system|code|value``) becomes a token value on the
derived ``<code>:of-type`` rows. A system without a known hierarchy or a value set this
server does not hold is ``Unsupported`` (a 400 under strict handling, a warning when lenient);
a code the hierarchy does not know is a ``BadValue`` (400 in both modes).
"""

from __future__ import annotations

from chartkeeper.fhir.search.derived import of_type_key
from chartkeeper.fhir.search.ir import CodeGroup, CodeSetValue, TokenValue
from chartkeeper.fhir.search.terminology import Subsumed, Terminology
from chartkeeper.fhir.search.values_parse import BadValue, Unsupported, split_unescaped, unescape

#: The token modifiers that take a code set.
CODE_SET_MODIFIERS = frozenset({"below", "above", "in", "not-in"})


def parse_subsumption(raw: str, modifier: str, terminology: Terminology) -> CodeSetValue:
    """``system|code`` for ``:below`` (the code and what it subsumes) or ``:above``."""
    parts = split_unescaped(raw, "|")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise BadValue(f":{modifier} takes system|code (the code system names the hierarchy)")
    system, code = unescape(parts[0]), unescape(parts[1])
    hierarchy = terminology.hierarchies.get(system)
    if hierarchy is None:
        raise Unsupported(
            f":{modifier} is not supported for {system!r}: no hierarchy of that code system is known"
        )
    found: Subsumed | None = hierarchy.below(code) if modifier == "below" else hierarchy.above(code)
    if found is None:
        raise BadValue(f"{code!r} is not a code of {system}")
    return _value(raw, {system: found})


def parse_in(raw: str, modifier: str, terminology: Terminology) -> CodeSetValue:
    """A value set's canonical url (``|4.0.1`` allowed) for ``:in`` / ``:not-in``."""
    url = unescape(raw).strip()
    if not url:
        raise BadValue(f":{modifier} takes a value set url")
    codes = terminology.value_set(url)
    if codes is None:
        raise Unsupported(
            f":{modifier}: value set {url!r} is not available on this server "
            "(the FHIR R4 core value sets bound to resource elements are)"
        )
    return _value(raw, {system: Subsumed(codes=tuple(found)) for system, found in codes.items()})


def _value(raw: str, by_system: dict[str, Subsumed]) -> CodeSetValue:
    """Groups per system, plus one for rows without a system (``code`` elements, whose system
    is implied by their binding), compared on the code alone."""
    groups = [
        CodeGroup(system=s, codes=found.codes, prefixes=found.prefixes)
        for s, found in sorted(by_system.items())
    ]
    codes = sorted({c for found in by_system.values() for c in found.codes})
    prefixes = sorted({p for found in by_system.values() for p in found.prefixes})
    groups.append(CodeGroup(system=None, codes=tuple(codes), prefixes=tuple(prefixes)))
    return CodeSetValue(source=raw, groups=tuple(groups))


def parse_of_type(raw: str) -> TokenValue:
    """``system|code|value``: an Identifier whose type has that coding and whose value is value."""
    parts = split_unescaped(raw, "|")
    if len(parts) != 3 or not all(parts):
        raise BadValue(":of-type takes system|code|value (the identifier type's coding, then the value)")
    system, code, value = (unescape(p) for p in parts)
    return TokenValue(system=system, code=of_type_key(code, value))
