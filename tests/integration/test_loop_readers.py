"""``Store.reading_one`` on an event loop's thread keeps one connection between reads
(``store.loop_readers``): each read still sees what was committed before it, an error of the
caller keeps the connection, a database error replaces it, and a read nested in another or
made off the loop takes a pooled connection."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy.exc import DBAPIError

from chartkeeper.errors import NotFound
from chartkeeper.store import versions
from chartkeeper.store.repository import Store
from chartkeeper.store.resources import resource_write


def _put(store: Store, res_id: str, family: str) -> None:
    store.apply(
        [
            resource_write(
                "Patient", res_id, {"resourceType": "Patient", "id": res_id, "name": [{"family": family}]}
            )
        ]
    )


def _family(store: Store, res_id: str) -> tuple[Any, str | None]:
    with store.reading_one() as conn:
        found = versions.current_with_version(conn, "Patient", res_id)
        family = None if found is None or found[1].content is None else found[1].content["name"][0]["family"]
        return conn, family


def test_the_loop_keeps_one_connection_and_each_read_sees_the_latest_commit(store: Store) -> None:
    _put(store, "p", "Before")

    async def reads() -> None:
        first, family = _family(store, "p")
        assert family == "Before"
        _put(store, "p", "After")  # committed by another connection between two reads
        second, family = _family(store, "p")
        assert second is first and family == "After"
        with store.reading_one() as outer, store.reading_one() as inner:
            assert outer is first and inner is not first  # nested: a pooled connection
        off_loop = await asyncio.to_thread(_family, store, "p")
        assert off_loop[0] is not first and off_loop[1] == "After"

    asyncio.run(reads())
    store.close()


def test_a_callers_error_keeps_the_connection_a_database_error_replaces_it(store: Store) -> None:
    _put(store, "p", "Kept")

    async def reads() -> None:
        first, _ = _family(store, "p")
        with pytest.raises(NotFound), store.reading_one() as conn:
            assert conn is first
            raise NotFound("Patient/none")  # what a read of a missing id raises inside
        assert _family(store, "p")[0] is first
        with pytest.raises(DBAPIError), store.reading_one() as conn:
            conn.exec_driver_sql("SELECT * FROM no_such_table")
        replaced, family = _family(store, "p")
        assert replaced is not first and family == "Kept"

    asyncio.run(reads())
    store.close()
