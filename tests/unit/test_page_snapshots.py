"""Paging snapshots of $everything: scope, expiry, capacity, and the cursor that carries them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chartkeeper.errors import InvalidInput
from chartkeeper.records.paging import offset_cursor, parse_offset_cursor
from chartkeeper.records.snapshots import PageSnapshots
from chartkeeper.store.models import UNRESTRICTED, AccessFilter, EverythingScope

SCOPE = EverythingScope("p1", UNRESTRICTED, None, None, frozenset({"AuditEvent"}))


def test_a_snapshot_answers_its_own_scope_only() -> None:
    snapshots = PageSnapshots()
    token = snapshots.keep(SCOPE, [3, 1, 2])
    assert list(snapshots.find(token, SCOPE) or []) == [3, 1, 2]
    assert (
        snapshots.find(token, EverythingScope("p2", UNRESTRICTED, None, None, frozenset({"AuditEvent"})))
        is None
    )
    narrower = AccessFilter(types=None, patient_ids=frozenset({"p1"}))
    assert (
        snapshots.find(token, EverythingScope("p1", narrower, None, None, frozenset({"AuditEvent"}))) is None
    )
    assert (
        snapshots.find(token, EverythingScope("p1", UNRESTRICTED, 5, None, frozenset({"AuditEvent"}))) is None
    )
    assert snapshots.find(token, EverythingScope("p1", UNRESTRICTED, None, frozenset({"Patient"}))) is None
    assert snapshots.find("nope", SCOPE) is None
    assert snapshots.keep(SCOPE, [1]) != token  # every first page gets its own token


def test_snapshots_expire_and_the_least_recently_used_go_first(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr("chartkeeper.records.snapshots.time.monotonic", lambda: now[0])
    snapshots = PageSnapshots(ttl_s=60, capacity=2)
    a = snapshots.keep(SCOPE, [1])
    b = snapshots.keep(SCOPE, [2])
    assert snapshots.find(a, SCOPE) is not None  # a is now the most recently used
    c = snapshots.keep(SCOPE, [3])
    assert snapshots.find(b, SCOPE) is None and len(snapshots) == 2
    now[0] += 61
    assert snapshots.find(a, SCOPE) is None and snapshots.find(c, SCOPE) is None


@given(
    st.integers(min_value=0, max_value=10**9),
    st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)),
)
def test_offset_cursor_round_trips(offset: int, token: str | None) -> None:
    assert parse_offset_cursor(offset_cursor(offset, token)) == (offset, token)


@pytest.mark.parametrize("bad", ["", "x", "-1", "1.", "1.a b", "1.a/b", "1." + "a" * 65, "1.2.3"])
def test_offset_cursor_refuses_what_no_page_gave(bad: str) -> None:
    with pytest.raises(InvalidInput):
        parse_offset_cursor(bad)
