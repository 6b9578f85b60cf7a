"""Conditional references and ``ifNoneExist`` criteria: ``Organization?identifier=sys|val``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

_TYPE = re.compile(r"^[A-Z][A-Za-z]{1,63}$")


@dataclass(frozen=True, slots=True)
class Criteria:
    """A search that must find exactly one resource of ``res_type``."""

    res_type: str
    params: tuple[tuple[str, str], ...]

    def __str__(self) -> str:
        return f"{self.res_type}?" + "&".join(f"{k}={v}" for k, v in self.params)


def is_conditional_reference(reference: str) -> bool:
    """``Type?query`` (relative, with a query) is a conditional reference in a transaction."""
    head, sep, _ = reference.partition("?")
    return bool(sep) and bool(_TYPE.match(head))


def parse_criteria(text: str, res_type: str | None = None) -> Criteria:
    """``Type?a=b&c=d`` (or just ``a=b&c=d`` with ``res_type`` given, as in ifNoneExist)."""
    head, sep, query = text.partition("?")
    if sep:
        if not _TYPE.match(head):
            raise ValueError(f"not a resource type: {head!r}")
        res_type = head
    else:
        query = text
    if res_type is None:
        raise ValueError(f"no resource type in criteria {text!r}")
    params = tuple(parse_qsl(query, keep_blank_values=True))
    if not params:
        raise ValueError(f"criteria {text!r} has no search parameters")
    return Criteria(res_type, params)


def split_token(value: str) -> tuple[str | None, str | None]:
    """``system|code`` → (system, code); ``|code`` → ("", code); ``code`` → (None, code)."""
    if "|" not in value:
        return None, value
    system, _, code = value.partition("|")
    return system, (code or None)
