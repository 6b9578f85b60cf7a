"""Finding resource ids by simple criteria: conditional references and ``ifNoneExist``.

Full FHIR search (the query IR lowered to SQL) belongs to the search module; this covers the
parameter kinds that identify a resource: ``_id``, token (identifier), uri (url), reference,
and string (exact, after normalization).
"""

from __future__ import annotations

from sqlalchemy import Select, and_, select
from sqlalchemy.engine import Connection

from chartkeeper.errors import InvalidInput
from chartkeeper.fhir.conditional import Criteria, split_token
from chartkeeper.fhir.search.extract import hash_identity
from chartkeeper.fhir.search.normalize import normalize_string
from chartkeeper.fhir.search.params import search_param
from chartkeeper.store.schema import idx_reference, idx_string, idx_token, idx_uri, resource


def find_ids(conn: Connection, criteria: Criteria, limit: int = 2) -> list[str]:
    """Ids of current resources matching every parameter (AND); at most ``limit``."""
    stmt: Select[tuple[str]] = select(resource.c.res_id).where(
        resource.c.res_type == criteria.res_type, resource.c.deleted.is_(False)
    )
    for code, value in criteria.params:
        if code == "_id":
            stmt = stmt.where(resource.c.res_id == value)
            continue
        param = search_param(criteria.res_type, code)
        if param is None:
            raise InvalidInput(f"unknown search parameter {code!r} for {criteria.res_type} in {criteria}")
        identity = hash_identity(criteria.res_type, code)
        if param.type == "token":
            system, token = split_token(value)
            cond = [idx_token.c.hash_identity == identity, idx_token.c.resource_pk == resource.c.pk]
            if token is not None:
                cond.append(idx_token.c.code == token)
            if system == "":
                cond.append(idx_token.c.system.is_(None))
            elif system is not None:
                cond.append(idx_token.c.system == system)
            stmt = stmt.where(select(idx_token.c.resource_pk).where(and_(*cond)).exists())
        elif param.type == "string":
            stmt = stmt.where(
                select(idx_string.c.resource_pk)
                .where(
                    idx_string.c.hash_identity == identity,
                    idx_string.c.resource_pk == resource.c.pk,
                    idx_string.c.value_normalized == normalize_string(value),
                )
                .exists()
            )
        elif param.type == "uri":
            stmt = stmt.where(
                select(idx_uri.c.resource_pk)
                .where(
                    idx_uri.c.hash_identity == identity,
                    idx_uri.c.resource_pk == resource.c.pk,
                    idx_uri.c.uri == value,
                )
                .exists()
            )
        elif param.type == "reference":
            target_type, _, target_id = value.rpartition("/")
            cond = [
                idx_reference.c.hash_identity == identity,
                idx_reference.c.resource_pk == resource.c.pk,
                idx_reference.c.target_id == target_id,
            ]
            if target_type:
                cond.append(idx_reference.c.target_type == target_type.rsplit("/", 1)[-1])
            stmt = stmt.where(select(idx_reference.c.resource_pk).where(and_(*cond)).exists())
        else:
            raise InvalidInput(
                f"search parameter {code!r} ({param.type}) cannot identify a resource in {criteria}"
            )
    return [row[0] for row in conn.execute(stmt.limit(limit))]
