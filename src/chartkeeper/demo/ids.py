"""Seed-derived identifiers: resource ids, MRNs, SSNs, NPIs and per-slot random streams.

Ids are shaped like RFC 9562 version-8 UUIDs: the first 48 bits come from the seed tag, the version
nibble is followed by a resource type code, and the tail encodes the slot (registration) plus a
per-chart counter. Everything is a pure function of (seed, slot, ...), which is what lets shards of
one population be generated independently with identical results.
"""

from __future__ import annotations

import random

from chartkeeper.demo.rand import mix, seed_tag

TYPE_CODES: dict[str, int] = {
    "Bundle": 0x000,
    "Patient": 0x001,
    "Encounter": 0x002,
    "Condition": 0x003,
    "Observation": 0x004,
    "DiagnosticReport": 0x005,
    "MedicationRequest": 0x006,
    "AllergyIntolerance": 0x007,
    "Immunization": 0x008,
    "Procedure": 0x009,
    "DocumentReference": 0x00A,
    "Organization": 0x101,
    "Location": 0x102,
    "Practitioner": 0x103,
    "PractitionerRole": 0x104,
}
SSN_SPACE = 99 * 99 * 9999  # areas 900-998 (never issued), groups 01-99, serials 0001-9999


class IdScheme:
    """The identifiers and random streams of one seed."""

    __slots__ = ("heads", "mrn_offset", "ssn_offset", "tag")

    def __init__(self, seed: int) -> None:
        self.tag = tag = seed_tag(seed)
        head = f"{(tag >> 32) & 0xFFFFFFFF:08x}-{(tag >> 16) & 0xFFFF:04x}-8"
        self.heads = {t: f"{head}{c:03x}" for t, c in TYPE_CODES.items()}
        self.ssn_offset = mix(tag ^ 0x55) % SSN_SPACE
        self.mrn_offset = mix(tag ^ 0x4D) % 100000000

    def shared_id(self, rtype: str, index: int) -> str:
        """Id of the ``index``-th shared resource (Organization, Practitioner, ...) of type ``rtype``."""
        return f"{self.heads[rtype]}-bfff-000000{index:06x}"

    def patient_id(self, slot: int) -> str:
        return f"{self.heads['Patient']}{self.tail(slot)}000000"

    @staticmethod
    def tail(slot: int) -> str:
        """The slot part of every id of a registration; a 6-hex-digit counter completes it."""
        return f"-{0x8000 | ((slot >> 24) & 0x3FFF):04x}-{slot & 0xFFFFFF:06x}"

    def mrn(self, slot: int) -> str:
        """A unique 8-digit MRN (a bijection of the slot, so it never collides within 10^8 slots)."""
        return f"{(slot * 48271957 + self.mrn_offset) % 100000000:08d}"

    def ssn(self, slot: int) -> str:
        """A unique SSN in the never-issued 9xx area range, so no real person's number appears."""
        v = (slot * 48271957 + self.ssn_offset) % SSN_SPACE
        area, rest = divmod(v, 99 * 9999)
        group, serial = divmod(rest, 9999)
        return f"{900 + area:03d}-{group + 1:02d}-{serial + 1:04d}"

    def rng(self, slot: int, salt: int) -> random.Random:
        """The random stream ``salt`` of registration ``slot`` (2: person, 3: chart, 7 on slot 0: pool)."""
        return random.Random(mix(self.tag ^ mix(slot * 8 + salt)))


def npi(base9: int) -> str:
    """A 10-digit NPI with a valid Luhn check digit (computed with the 80840 prefix)."""
    digits = [int(c) for c in f"80840{base9:09d}"]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return f"{base9:09d}{(10 - total % 10) % 10}"
