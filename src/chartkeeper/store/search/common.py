"""What every predicate builder shares: index tables per parameter type, hash identities,
the row-key range of a resource, and string helpers (prefix ranges, LIKE escaping).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Table, and_, literal

from chartkeeper.fhir.search.extract import hash_identity
from chartkeeper.fhir.search.ir import Param
from chartkeeper.store.schema import (
    INDEX_KEY_BITS,
    idx_date,
    idx_number,
    idx_quantity,
    idx_reference,
    idx_string,
    idx_token,
    idx_uri,
)

#: The store cuts string values and token codes to this many characters (writer._STRING_MAX);
#: queries are cut the same way so that they compare with what rows hold.
STRING_MAX = 255

TABLES: dict[str, Table] = {
    "string": idx_string,
    "token": idx_token,
    "reference": idx_reference,
    "date": idx_date,
    "number": idx_number,
    "quantity": idx_quantity,
    "uri": idx_uri,
}


def table_for(param: Param) -> Table:
    return TABLES[param.type]


def identity_condition(table: Any, param: Param, *, indexed: bool = True) -> ColumnElement[bool]:
    """Rows of ``param`` on any of its resource types (index rows are keyed per type).

    ``indexed=False`` for probes of one resource's rows: its key range is the index to use,
    and SQLite would otherwise walk every row of the parameter through (hash, value).
    """
    hashes = sorted({hash_identity(t, param.code) for t in param.res_types})
    column = table.c.hash_identity if indexed else table.c.hash_identity + literal(0)
    if len(hashes) == 1:
        return column == hashes[0]  # type: ignore[no-any-return]
    return column.in_(hashes)  # type: ignore[no-any-return]


def rows_of(table: Any, pk: Any) -> ColumnElement[bool]:
    """Index rows of the resource whose key is ``pk`` (a column or a value): one contiguous
    range of the table's primary key, so no index on resource_pk is needed."""
    if isinstance(pk, int):
        return and_(table.c.row_key >= pk << INDEX_KEY_BITS, table.c.row_key < (pk + 1) << INDEX_KEY_BITS)
    low = pk * literal(1 << INDEX_KEY_BITS)
    return and_(table.c.row_key >= low, table.c.row_key < low + literal(1 << INDEX_KEY_BITS))


def successor(prefix: str) -> str | None:
    """The least string greater than every string starting with ``prefix`` (code point order,
    which is UTF-8 byte order: SQLite's BINARY and PostgreSQL's "C" collation)."""
    chars = list(prefix)
    while chars:
        following = ord(chars[-1]) + 1
        if following == 0xD800:
            following = 0xE000  # surrogates are not characters (nor valid in UTF-8)
        if following <= 0x10FFFF:
            chars[-1] = chr(following)
            return "".join(chars)
        chars.pop()
    return None


def starts_with(column: Any, prefix: str) -> ColumnElement[bool]:
    """``column`` starts with ``prefix`` as an index range (never a LIKE, which PostgreSQL's
    btree and SQLite's case-insensitive LIKE would not use)."""
    upper = successor(prefix)
    if upper is None:
        return column >= prefix  # type: ignore[no-any-return]
    return and_(column >= prefix, column < upper)


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
