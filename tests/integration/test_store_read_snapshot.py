"""Reads on SQLite take no write lock: a reader neither waits for the writer nor blocks it,
and a read nested inside another read works (it used to wait for BEGIN IMMEDIATE)."""

from __future__ import annotations

from sqlalchemy import text

from chartkeeper.intake.prepare import resource_write
from chartkeeper.store.repository import Store


def test_nested_reads_and_a_write_during_a_read(sqlite_store: Store) -> None:
    sqlite_store.apply([resource_write("Patient", "p1", {"resourceType": "Patient", "id": "p1"})])
    with sqlite_store.reading() as outer:
        assert outer.execute(text("SELECT count(*) FROM resource")).scalar_one() == 1
        assert sqlite_store.read("Patient", "p1")["id"] == "p1"  # a second reader, nested
        sqlite_store.apply(  # the writer is not blocked by the open read
            [resource_write("Patient", "p2", {"resourceType": "Patient", "id": "p2"})]
        )
        # the open read keeps its snapshot
        assert outer.execute(text("SELECT count(*) FROM resource")).scalar_one() == 1
    assert sqlite_store.count_by_type() == {"Patient": 2}
