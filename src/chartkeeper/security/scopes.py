"""SMART App Launch v2 scopes (with the v1 spellings still in the wild).

A resource scope is ``context/Type.permissions``: context ``patient``, ``user`` or ``system``;
Type a resource type or ``*``; permissions a subset of ``cruds`` in that order (v2) or
``read`` / ``write`` / ``*`` (v1: read = rs, write = cud, * = cruds). Other scopes (``openid``,
``fhirUser``, ``launch/patient``, ``offline_access``) are kept but grant no resource access.

v2 granular scopes (``patient/Observation.rs?category=laboratory``) narrow a grant by a
search; this version parses them and grants nothing for them (deny, never widen).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from chartkeeper.errors import InvalidInput


class Action(str, Enum):
    """The five SMART v2 permissions; every FHIR interaction needs one of them."""

    CREATE = "c"
    READ = "r"  # read, vread, instance history
    UPDATE = "u"  # update, patch
    DELETE = "d"
    SEARCH = "s"  # search, type and system history, export


_V1 = {"read": "rs", "write": "cud", "*": "cruds"}
_RESOURCE_SCOPE = re.compile(
    r"^(?P<context>patient|user|system)/(?P<type>\*|[A-Z][A-Za-z]{1,63})\."
    r"(?P<perms>[cruds]{1,5}|read|write|\*)(?:\?(?P<query>\S+))?$"
)
_OTHER_SCOPE = re.compile(r"^[A-Za-z][A-Za-z0-9_/:.\-]{0,127}$")


@dataclass(frozen=True, slots=True)
class ResourceScope:
    context: str  # patient | user | system
    res_type: str  # a type or "*"
    permissions: frozenset[str]
    query: str | None = None

    def grants(self, res_type: str, action: Action) -> bool:
        if self.query is not None:
            return False
        return (self.res_type == "*" or self.res_type == res_type) and action.value in self.permissions


@dataclass(frozen=True, slots=True)
class ScopeSet:
    """A parsed, normalized set of scopes."""

    resource_scopes: tuple[ResourceScope, ...] = ()
    other: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str) -> ScopeSet:
        """Parse a space-separated scope string; raise InvalidInput naming the bad scope."""
        resource: list[ResourceScope] = []
        other: set[str] = set()
        for token in text.split():
            m = _RESOURCE_SCOPE.match(token)
            if m:
                perms = m["perms"]
                letters = _V1.get(perms, perms)
                if perms not in _V1 and letters != "".join(c for c in "cruds" if c in letters):
                    raise InvalidInput(f"scope {token!r}: permissions must be in the order c r u d s")
                resource.append(ResourceScope(m["context"], m["type"], frozenset(letters), m["query"]))
            elif "/" in token and token.split("/", 1)[0] in ("patient", "user", "system"):
                raise InvalidInput(f"scope {token!r} is not a SMART resource scope (context/Type.cruds)")
            elif _OTHER_SCOPE.match(token):
                other.add(token)
            else:
                raise InvalidInput(f"scope {token!r} is malformed")
        return cls(tuple(resource), frozenset(other))

    def __str__(self) -> str:
        parts = []
        for s in self.resource_scopes:
            perms = "".join(c for c in "cruds" if c in s.permissions)
            parts.append(f"{s.context}/{s.res_type}.{perms}" + (f"?{s.query}" if s.query else ""))
        return " ".join(parts + sorted(self.other))

    def permits(self, res_type: str, action: Action) -> bool:
        return any(s.grants(res_type, action) for s in self.resource_scopes)

    def granted_types(self, action: Action, contexts: tuple[str, ...]) -> frozenset[str] | None:
        """Types granted ``action`` by scopes of these contexts; ``None`` means every type."""
        types: set[str] = set()
        for s in self.resource_scopes:
            if s.context in contexts and s.query is None and action.value in s.permissions:
                if s.res_type == "*":
                    return None
                types.add(s.res_type)
        return frozenset(types)
