"""What token ``:below``, ``:above``, ``:in`` and ``:not-in`` know about codes: a port.

The query parser resolves these modifiers to explicit code sets (``ir.CodeSetValue``) when it
parses, so SQL and the matcher only compare codes and never consult a terminology. Where the
knowledge comes from is injected by the shell that parses (see docs/adr/0013):

* ``CodeHierarchy``: one code system's subsumption, ``below`` (the code and everything it
  subsumes) and ``above`` (the code and everything that subsumes it). The answer is codes plus
  code *prefixes*, so a hierarchy that is lexical (ICD-10-CM: ``E11.6`` subsumes every code
  starting ``E11.6``) needs no enumeration of tens of thousands of 7th-character codes.
* value sets by canonical url, expanded to codes per system.

``default_terminology()`` is what the fhir package ships: the FHIR R4 core value sets bound
to resource elements and the hierarchies of the nested core code systems
(``data/search_terminology.json.gz``, built by ``tools/build_search_terminology.py``). Domain
packages add their own systems with ``Terminology.with_hierarchy`` (``chartkeeper.coding``
provides ICD-10-CM) and the application wires them in; ``fhir`` never imports them.
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Protocol

import orjson


@dataclass(frozen=True, slots=True)
class Subsumed:
    """Codes, and code prefixes: a code matches when it is one of ``codes`` or starts with
    one of ``prefixes``."""

    codes: tuple[str, ...]
    prefixes: tuple[str, ...] = ()


class CodeHierarchy(Protocol):
    """Subsumption within one code system. Both return None for a code the system lacks."""

    def below(self, code: str) -> Subsumed | None: ...

    def above(self, code: str) -> Subsumed | None: ...


@dataclass(frozen=True, slots=True)
class ParentTable:
    """A hierarchy given as child -> parent (a code with several parents is not expressible;
    the FHIR core code systems nest concepts, so each has one)."""

    parents: Mapping[str, str]
    codes: frozenset[str]

    def below(self, code: str) -> Subsumed | None:
        if code not in self.codes:
            return None
        children: dict[str, list[str]] = {}
        for child, parent in self.parents.items():
            children.setdefault(parent, []).append(child)
        found = {code}
        stack = [code]
        while stack:
            for child in children.get(stack.pop(), []):
                if child not in found:
                    found.add(child)
                    stack.append(child)
        return Subsumed(codes=tuple(sorted(found)))

    def above(self, code: str) -> Subsumed | None:
        if code not in self.codes:
            return None
        found = [code]
        while (parent := self.parents.get(found[-1])) is not None and parent not in found:
            found.append(parent)
        return Subsumed(codes=tuple(sorted(found)))


@dataclass(frozen=True)
class Terminology:
    """Hierarchies by code-system url and expanded value sets by canonical url."""

    hierarchies: Mapping[str, CodeHierarchy] = field(default_factory=dict)
    value_sets: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)

    def with_hierarchy(self, system: str, hierarchy: CodeHierarchy) -> Terminology:
        """A copy that also knows ``system``'s hierarchy (replacing any it had)."""
        return Terminology(hierarchies={**self.hierarchies, system: hierarchy}, value_sets=self.value_sets)

    def value_set(self, url: str) -> Mapping[str, tuple[str, ...]] | None:
        """The codes of ``url`` by system; ``url|4.0.1`` is accepted for the core sets."""
        base, bar, version = url.partition("|")
        if bar and version != "4.0.1":
            return None
        return self.value_sets.get(base)


@cache
def default_terminology() -> Terminology:
    """The FHIR R4 core value sets and code-system hierarchies shipped with the package."""
    raw = resources.files("chartkeeper.fhir").joinpath("data", "search_terminology.json.gz").read_bytes()
    data = orjson.loads(gzip.decompress(raw))
    value_sets = {
        url: {system: tuple(codes) for system, codes in by_system.items()}
        for url, by_system in data["valueSets"].items()
    }
    hierarchies: dict[str, CodeHierarchy] = {}
    for system, parents in data["hierarchies"].items():
        linked = {code: parent for code, parent in parents.items() if parent}
        hierarchies[system] = ParentTable(parents=linked, codes=frozenset(parents))
    return Terminology(hierarchies=hierarchies, value_sets=value_sets)
