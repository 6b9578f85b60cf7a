"""Server-assigned ids: RFC 9562 version 7 UUIDs, time-ordered, random below the millisecond."""

from __future__ import annotations

import time
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from chartkeeper.fhir.bundle import ID_PATTERN
from chartkeeper.fhir.new_ids import time_ordered_id


def test_an_id_is_a_version_7_uuid_and_a_valid_fhir_id() -> None:
    text = time_ordered_id()
    parsed = uuid.UUID(text)
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert str(parsed) == text and ID_PATTERN.match(text)


def test_the_id_starts_with_the_time_in_milliseconds() -> None:
    before = time.time_ns() // 1_000_000
    text = time_ordered_id()
    after = time.time_ns() // 1_000_000
    assert before <= uuid.UUID(text).int >> 80 <= after


def test_ids_of_later_milliseconds_sort_after_earlier_ones_and_never_repeat() -> None:
    first = time_ordered_id()
    time.sleep(0.002)
    later = [time_ordered_id() for _ in range(10_000)]
    assert all(first < other for other in later)  # text order is time order: index locality
    assert len(set(later)) == len(later)  # 74 random bits per millisecond


@settings(max_examples=200)
@given(st.integers(min_value=0, max_value=(1 << 48) - 1))
def test_any_millisecond_keeps_the_layout(millis: int) -> None:
    from unittest import mock

    with mock.patch("chartkeeper.fhir.new_ids.time.time_ns", return_value=millis * 1_000_000):
        parsed = uuid.UUID(time_ordered_id())
    assert parsed.int >> 80 == millis and parsed.version == 7 and parsed.variant == uuid.RFC_4122
