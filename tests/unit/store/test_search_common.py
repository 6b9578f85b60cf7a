"""Prefix ranges: the successor of a prefix bounds exactly the strings that start with it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chartkeeper.store.search.common import like_escape, successor


def test_successor_edges() -> None:
    assert successor("abc") == "abd"
    assert successor("a\U0010ffff") == "b"
    assert successor("\U0010ffff") is None
    assert successor("a\ud7ff") == "a\ue000"  # skips the surrogate block, as UTF-8 does


@given(prefix=st.text(min_size=1, max_size=5), tail=st.text(max_size=5), other=st.text(max_size=8))
def test_the_range_holds_exactly_the_strings_with_the_prefix(prefix: str, tail: str, other: str) -> None:
    upper = successor(prefix)

    def in_range(s: str) -> bool:
        key, low = s.encode("utf-8", "surrogatepass"), prefix.encode("utf-8", "surrogatepass")
        return key >= low and (upper is None or key < upper.encode("utf-8", "surrogatepass"))

    assert in_range(prefix + tail)
    assert in_range(other) == other.startswith(prefix)


def test_like_escape() -> None:
    assert like_escape("50%_a\\b") == "50\\%\\_a\\\\b"
