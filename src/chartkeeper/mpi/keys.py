"""Blocking keys as stored hashes: how the real-time path finds a patient's candidates.

A key is one blocking rule's columns with their values; a patient's keys are stored in
``mpi_key`` and a new record's candidates are the patients sharing any of them, which is
exactly the set of pairs the batch scan's blocking rules would generate for it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from chartkeeper.mpi.settings import BLOCKING_KEYS

_NAME_KEYS = [(n, k) for n, k in enumerate(BLOCKING_KEYS) if k[:2] == ("given_name", "family_name")]


def key_hash(rule: int, values: tuple[Any, ...]) -> int:
    """A signed 64-bit hash of (rule number, values): stable across processes and machines."""
    text = "\x1f".join([str(rule), *(str(v) for v in values)])
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big", signed=True)


def record_keys(record: Mapping[str, Any]) -> list[int]:
    """The keys stored for a comparison record (a rule with a missing value gives no key)."""
    found = []
    for rule, columns in enumerate(BLOCKING_KEYS):
        values = tuple(record.get(c) for c in columns)
        if all(v is not None and v != "" for v in values):
            found.append(key_hash(rule, values))
    return found


def lookup_keys(record: Mapping[str, Any]) -> list[int]:
    """The keys to look up for a record: its own, plus its name keys with given/family swapped."""
    found = record_keys(record)
    given, family = record.get("given_name"), record.get("family_name")
    for rule, columns in _NAME_KEYS:
        rest = tuple(record.get(c) for c in columns[2:])
        if given and family and all(v is not None and v != "" for v in rest):
            found.append(key_hash(rule, (family, given, *rest)))
    return found
