"""Mutated HL7 v2 messages (10,500 in all): only AE/AR rejections, never a crash or a partial write.

Most cases run parse → map → validate without a database (cheap); a sample is applied to a
real SQLite store to show a rejected message writes nothing but its quarantine entry.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chartkeeper.intake.hl7v2.parse import decode, split_messages
from chartkeeper.intake.hl7v2.process import V2Prepared, apply_v2, prepare_v2
from chartkeeper.store.repository import Store

from conftest import SHARED_DATA
from hl7v2_samples import MDM, VXU, adt, oru

_FILES = ["LAB-ORU-2.hl7", "ADT-A01-01.hl7", "MDM-T02-03.hl7", "VXU-V04-01.hl7"]
_FILES += ["ORM-O01-01.hl7", "OML-O21-03.hl7", "SIU-S12-01.hl7", "ADT-A60-01.hl7"]
_FILES += ["PC1-Problem-Update-v2.3.1.hl7", "MDM-T10-01.hl7"]
SEEDS = [
    oru("F1"),
    adt("A03", "F2", discharge="20240105173000+0000"),
    MDM.format(cid="F3"),
    VXU.format(cid="F4"),
] + [
    next(split_messages(decode((SHARED_DATA / "hl7v2" / "microsoft-fhir-converter" / f).read_bytes())))
    for f in _FILES
]
_NOISE = '|^~\\&\r\n\x0b\x1c0123456789.-+ ZPIDOBXMSH"é\x00'

_OPS = ("replace", "insert", "delete", "dup-segment", "drop-segment", "truncate", "field")


def _mutate(text: str, rnd: random.Random) -> str:
    """One to four random edits: noise bytes, deletions, duplicated/dropped segments, garbled fields."""
    for _ in range(rnd.randint(1, 4)):
        if not text:
            break
        op, where = rnd.choice(_OPS), rnd.randrange(1 << 16)
        noise = "".join(rnd.choice(_NOISE) for _ in range(rnd.randint(1, 6)))
        at = where % len(text)
        segments = text.split("\r")
        seg = where % len(segments)
        if op == "replace":
            text = text[:at] + noise + text[at + len(noise) :]
        elif op == "insert":
            text = text[:at] + noise + text[at:]
        elif op == "delete":
            text = text[:at] + text[at + len(noise) :]
        elif op == "dup-segment":
            text = "\r".join([*segments[: seg + 1], segments[seg], *segments[seg + 1 :]])
        elif op == "drop-segment":
            text = "\r".join(segments[:seg] + segments[seg + 1 :])
        elif op == "truncate":
            text = text[:at]
        else:  # blank or garble one field of one segment
            fields = segments[seg].split("|")
            fields[where % len(fields)] = noise.replace("|", "")
            segments[seg] = "|".join(fields)
            text = "\r".join(segments)
    return text


def _check(prepared: V2Prepared) -> None:
    if prepared.rejection is None:
        assert prepared.writes, "an accepted message maps to at least one resource"
        return
    rejection = prepared.rejection
    assert rejection.ack_code in ("AE", "AR")
    assert rejection.reason and rejection.issues
    assert "internal error" not in rejection.reason, rejection.reason  # a mapping bug, caught as AE
    assert prepared.writes == []


@pytest.mark.parametrize("seed", range(len(SEEDS)), ids=[f"seed{i}" for i in range(len(SEEDS))])
@settings(
    max_examples=750, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
@given(rnd=st.randoms(use_true_random=False))
def test_mutated_messages_are_rejected_cleanly(seed: int, rnd: random.Random) -> None:
    text = _mutate(SEEDS[seed], rnd)
    _check(prepare_v2(text.encode("utf-8", errors="surrogatepass"), "fuzz"))


@settings(
    max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
@given(seed=st.integers(min_value=0, max_value=len(SEEDS) - 1), rnd=st.randoms(use_true_random=False))
def test_a_rejected_message_writes_nothing(sqlite_store: Store, seed: int, rnd: random.Random) -> None:
    prepared = prepare_v2(_mutate(SEEDS[seed], rnd).encode(), "fuzz")
    before_resources = sqlite_store.count_versions()
    before_held = sqlite_store.quarantine_count()
    with sqlite_store.transaction() as conn:
        outcome = apply_v2(conn, prepared)
    if outcome.status == "rejected":
        assert sqlite_store.count_versions() == before_resources
        assert sqlite_store.quarantine_count() in (before_held, before_held + 1)  # same bytes are kept once
    else:
        assert outcome.ack_code == "AA"
