"""PostgreSQL: a small write's rows inserted by one statement (``store.pg_json_rows``).

Every row travels inside one JSON document and is cast back to its column's type on the
server, so the property that matters is that nothing changes on the way: whatever text,
integer, float, boolean, NULL or JSON document the ordinary inserts store, this stores too;
an overlong value is refused rather than cut; serial keys follow the rows' order.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from chartkeeper.store import pg_json_rows
from chartkeeper.store.dialect import bulk_insert
from chartkeeper.store.repository import Store
from chartkeeper.store.schema import (
    audit_chain,
    idx_date,
    idx_number,
    idx_quantity,
    idx_reference,
    idx_string,
    idx_token,
    idx_uri,
    resource,
    resource_version,
)
from chartkeeper.store.writer import _RESOURCE_COLS as RESOURCE_COLUMNS  # the writer's own
from chartkeeper.store.writer import _VERSION_COLS as VERSION_COLUMNS

from conftest import scratch_pg_database

pytestmark = pytest.mark.postgres

_TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=40)
_BIGINT = st.integers(-(2**63), 2**63 - 1)
_FLOAT = st.floats(allow_nan=False, allow_infinity=False)
_JSON = st.recursive(
    st.none() | st.booleans() | _BIGINT | _FLOAT | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=12,
)
_PK = 900_000_000  # far above the demo's keys; every example is rolled back


@pytest.fixture(scope="module")
def pg_store() -> Iterator[Store]:
    """One scratch database for the module: every example rolls its rows back."""
    with scratch_pg_database("ck_json_rows") as url:
        store = Store.open(url)
        store.init()
        yield store
        store.engine.dispose()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    strings=st.lists(st.tuples(_BIGINT, _TEXT, _TEXT), min_size=1, max_size=4),
    tokens=st.lists(st.tuples(_BIGINT, st.none() | _TEXT, st.none() | _TEXT, st.none() | _TEXT), max_size=4),
    dates=st.lists(st.tuples(_BIGINT, _BIGINT, _BIGINT), max_size=3),
    references=st.lists(st.tuples(_BIGINT, st.none() | _TEXT, st.none() | _TEXT, _TEXT), max_size=3),
    quantities=st.lists(st.tuples(_BIGINT, st.none() | _TEXT, st.none() | _TEXT, _FLOAT), max_size=3),
    numbers=st.lists(st.tuples(_BIGINT, _FLOAT), max_size=3),
    uris=st.lists(st.tuples(_BIGINT, _TEXT), max_size=3),
    patient=st.none() | _TEXT,
    deleted=st.booleans(),
    content=st.none() | _JSON,
)
def test_one_statement_stores_exactly_what_the_ordinary_inserts_store(
    pg_store: Store,
    strings: list[tuple[Any, ...]],
    tokens: list[tuple[Any, ...]],
    dates: list[tuple[Any, ...]],
    references: list[tuple[Any, ...]],
    quantities: list[tuple[Any, ...]],
    numbers: list[tuple[Any, ...]],
    uris: list[tuple[Any, ...]],
    patient: str | None,
    deleted: bool,
    content: Any,
) -> None:
    index = [
        (idx_string, ("hash_identity", "value_normalized", "value_exact"), strings),
        (idx_token, ("hash_identity", "system", "code", "display"), tokens),
        (idx_reference, ("hash_identity", "target_type", "target_id", "reference"), references),
        (idx_date, ("hash_identity", "low", "high"), dates),
        (idx_quantity, ("hash_identity", "system", "code", "value"), quantities),
        (idx_number, ("hash_identity", "value"), numbers),
        (idx_uri, ("hash_identity", "uri"), uris),
    ]
    document = None if content is None else orjson.dumps(content).decode()

    def parts(pk: int) -> list[pg_json_rows.TableRows]:
        """The same values under the resource key ``pk``: both paths must store them alike."""
        res = (pk, "Patient", f"p{pk}", 3, -17, deleted, patient, "f" * 32)
        version = (pk, "Patient", f"p{pk}", 3, -17, "update", deleted, document)
        out: list[pg_json_rows.TableRows] = [
            (resource, RESOURCE_COLUMNS, [res]),
            (resource_version, VERSION_COLUMNS, [version]),
        ]
        for table, columns, rows in index:
            keyed = [((pk << 16) + n, pk, *row) for n, row in enumerate(rows)]
            out.append((table, ("row_key", "resource_pk", *columns), keyed))
        return out

    with pg_store.engine.connect() as conn, conn.begin() as tx:
        pg_json_rows.insert_rows(conn, parts(_PK))
        for table, columns, rows in parts(_PK + 1):
            bulk_insert(conn, table, columns, rows)
        for table, _columns, rows in parts(_PK):
            mine, theirs = (_stored(conn, table, pk, len(rows)) for pk in (_PK, _PK + 1))
            assert len(mine) == len(rows), table.name
            assert mine == theirs, table.name
        (version,) = _stored(conn, resource_version, _PK, 1)
        assert (version["content"] is None) == (
            content is None
        )  # JSON null is SQL NULL, as a plain insert stores it
        tx.rollback()


def _stored(conn: Connection, table: Any, pk: int, count: int) -> list[dict[str, Any]]:
    """The rows written under resource key ``pk``, in key order, without the columns that
    differ by key (keys, ids)."""
    if table is resource:
        where, order = table.c.pk == pk, table.c.pk
    elif table is resource_version:
        where, order = table.c.resource_pk == pk, table.c.pk
    else:
        where, order = table.c.row_key.between(pk << 16, (pk << 16) + count), table.c.row_key
    found = conn.execute(select(table).where(where).order_by(order)).mappings()
    differ = {"pk", "res_id", "resource_pk", "row_key"}
    return [{k: v for k, v in row.items() if k not in differ} for row in found]


def test_an_overlong_value_is_refused_not_cut(pg_store: Store) -> None:
    long_id = "x" * 65  # res_id is varchar(64)
    row = (_PK + 7, "Patient", long_id, 1, 0, False, None, "f" * 32)
    with pg_store.engine.connect() as conn, conn.begin() as tx:
        with pytest.raises(DBAPIError, match="too long"):
            pg_json_rows.insert_rows(conn, [(resource, RESOURCE_COLUMNS, [row])])
        tx.rollback()
    with pg_store.reading() as conn:
        assert _stored(conn, resource, _PK + 7, 1) == []


def test_serial_keys_follow_the_rows_order_in_every_table(pg_store: Store) -> None:
    links = [(f"a{n}", f"{n:064d}", f"{n + 1:064d}") for n in range(40)]
    with pg_store.engine.connect() as conn, conn.begin() as tx:
        pg_json_rows.insert_rows(conn, [(audit_chain, ("audit_id", "hash", "prev_hash"), links)])
        stored = conn.execute(
            select(audit_chain.c.audit_id)
            .where(audit_chain.c.audit_id.like("a%"))
            .order_by(audit_chain.c.seq)
        ).scalars()
        assert list(stored) == [link[0] for link in links]
        tx.rollback()


def test_nothing_to_insert_sends_nothing(pg_store: Store) -> None:
    with pg_store.engine.connect() as conn:
        pg_json_rows.insert_rows(conn, [(audit_chain, ("audit_id", "hash", "prev_hash"), [])])
        assert conn.connection.driver_connection.pgconn.transaction_status == 0  # IDLE: no statement ran
