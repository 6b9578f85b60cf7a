"""Scope negotiation: what a token may carry is what was asked for, cut down to what is allowed.

RFC 6749 §3.3 lets the server grant less than requested and say so in the response's
``scope``; it must never grant more. Asking for nothing grants everything allowed.
"""

from __future__ import annotations

from chartkeeper.errors import InvalidInput
from chartkeeper.security.scopes import ResourceScope, ScopeSet


class InvalidScope(InvalidInput):
    """The requested scope is malformed, or none of it is allowed (OAuth ``invalid_scope``)."""


def _meet(asked: ResourceScope, allowed: ResourceScope) -> ResourceScope | None:
    if asked.context != allowed.context:
        return None
    if allowed.res_type != "*" and asked.res_type not in ("*", allowed.res_type):
        return None
    if allowed.query is not None and asked.query != allowed.query:
        return None
    perms = asked.permissions & allowed.permissions
    if not perms:
        return None
    res_type = allowed.res_type if asked.res_type == "*" else asked.res_type
    return ResourceScope(asked.context, res_type, frozenset(perms), asked.query)


def narrow(requested: str | None, allowed: ScopeSet) -> ScopeSet:
    """The granted scopes: ``requested`` intersected with ``allowed`` (all of ``allowed`` when
    nothing is requested). InvalidScope when the request is malformed or nothing of it remains."""
    if requested is None or not requested.strip():
        return allowed
    try:
        asked = ScopeSet.parse(requested)
    except InvalidInput as exc:
        raise InvalidScope(str(exc)) from exc
    granted: list[ResourceScope] = []
    for want in asked.resource_scopes:
        for have in allowed.resource_scopes:
            met = _meet(want, have)
            if met is not None and met not in granted:
                granted.append(met)
    other = asked.other & allowed.other
    result = ScopeSet(tuple(granted), frozenset(other))
    if not granted and not other:
        raise InvalidScope(f"none of the requested scopes is allowed: {requested.strip()}")
    # normalize through the parser so the string form is canonical
    return ScopeSet.parse(str(result))
