"""The quarantine: rejected input kept with its original bytes and the reason, never lost."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from chartkeeper.errors import NotFound
from chartkeeper.store.models import QuarantineItem
from chartkeeper.store.schema import quarantine


def add(
    conn: Connection,
    *,
    source: str,
    fmt: str,
    reason: str,
    content: bytes,
    issues: dict[str, Any] | None,
    now: int,
) -> int:
    """Keep ``content``; the same bytes from the same source already held are not kept twice."""
    sha = hashlib.sha256(content).hexdigest()
    held = conn.execute(
        select(quarantine.c.pk).where(
            quarantine.c.content_sha256 == sha,
            quarantine.c.source == source,
            quarantine.c.status == "held",
        )
    ).first()
    if held is not None:
        return int(held[0])
    stmt = insert(quarantine).returning(quarantine.c.pk)
    row = conn.execute(
        stmt,
        {
            "received_at": now,
            "source": source,
            "format": fmt,
            "reason": reason,
            "issues": issues,
            "content": content,
            "content_sha256": sha,
            "status": "held",
        },
    ).one()
    return int(row[0])


def _item(row: Any, with_content: bool) -> QuarantineItem:
    return QuarantineItem(
        pk=row.pk,
        received_at=row.received_at,
        source=row.source,
        format=row.format,
        reason=row.reason,
        issues=row.issues,
        status=row.status,
        size=int(row.size),
        content=bytes(row.content) if with_content else None,
        resolution=row.resolution,
    )


_LIST_COLS = (
    quarantine.c.pk,
    quarantine.c.received_at,
    quarantine.c.source,
    quarantine.c.format,
    quarantine.c.reason,
    quarantine.c.issues,
    quarantine.c.status,
    quarantine.c.resolution,
    func.length(quarantine.c.content).label("size"),
)


def list_items(
    conn: Connection, status: str | None = "held", limit: int = 100, offset: int = 0
) -> list[QuarantineItem]:
    stmt = select(*_LIST_COLS).order_by(quarantine.c.pk).limit(limit).offset(offset)
    if status is not None:
        stmt = stmt.where(quarantine.c.status == status)
    return [_item(row, with_content=False) for row in conn.execute(stmt)]


def get(conn: Connection, pk: int) -> QuarantineItem:
    row = conn.execute(select(*_LIST_COLS, quarantine.c.content).where(quarantine.c.pk == pk)).first()
    if row is None:
        raise NotFound(f"quarantine item {pk} does not exist")
    return _item(row, with_content=True)


def count(conn: Connection, status: str | None = "held") -> int:
    stmt = select(func.count()).select_from(quarantine)
    if status is not None:
        stmt = stmt.where(quarantine.c.status == status)
    return int(conn.execute(stmt).scalar_one())


def resolve(conn: Connection, pk: int, status: str, resolution: str, now: int) -> None:
    result = conn.execute(
        update(quarantine)
        .where(quarantine.c.pk == pk)
        .values(status=status, resolution=resolution, resolved_at=now)
    )
    if result.rowcount == 0:
        raise NotFound(f"quarantine item {pk} does not exist")
