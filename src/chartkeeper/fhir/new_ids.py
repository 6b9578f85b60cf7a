"""Ids the server gives new resources: time-ordered UUIDs (RFC 9562 version 7).

A random UUID (version 4) lands anywhere in the unique (type, id) index, and in the audit
chain's index of AuditEvent ids: every new AuditEvent, one per audited read, touched a random
leaf page of two indexes that hold millions of entries. A page first touched after a
checkpoint is written to PostgreSQL's log whole (8 kB), and an index whose inserts are spread
over all its pages cannot stay in memory. A version 7 UUID starts with the time in
milliseconds, so new ids go to the right-hand edge of those indexes, as serial keys do, and
the pages they touch are few and hot (measured in ``docs/PERFORMANCE.md``).

The remaining 74 bits are random (``secrets``), so ids stay unguessable and unique across
processes and machines; they are valid FHIR ids (36 characters of ``[0-9a-f-]``). The time
they reveal is the resource's creation time, which ``meta.lastUpdated`` of its first version
says anyway.
"""

from __future__ import annotations

import secrets
import time
import uuid


def time_ordered_id() -> str:
    """A new version 7 UUID as text: 48 bits of Unix time in ms, then 74 random bits."""
    millis = time.time_ns() // 1_000_000
    random_bits = secrets.randbits(74)
    value = (millis & 0xFFFF_FFFF_FFFF) << 80
    value |= 0x7 << 76  # version 7
    value |= (random_bits >> 62) << 64  # rand_a: 12 bits
    value |= 0b10 << 62  # RFC 9562 variant
    value |= random_bits & ((1 << 62) - 1)  # rand_b: 62 bits
    return str(uuid.UUID(int=value))
