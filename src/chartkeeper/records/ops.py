"""The interactions' building blocks, each run on a connection the caller already holds.

Why on a connection: a single interaction and a whole transaction Bundle use the same steps;
the Bundle runs them all in one database transaction (reads included, so a GET entry sees the
bundle's own writes). Every step checks the caller's access for the rows it touches and adds
them to the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson
from sqlalchemy.engine import Connection

from chartkeeper.errors import Forbidden, Gone, InvalidInput, NotFound, PreconditionFailed
from chartkeeper.fhir.bundle import ID_PATTERN
from chartkeeper.fhir.conditional import Criteria, parse_criteria
from chartkeeper.fhir.new_ids import time_ordered_id
from chartkeeper.fhir.resource import with_server_meta
from chartkeeper.fhir.validation.entry import validate_entry_resource
from chartkeeper.fhir.validation.validator import get_validator
from chartkeeper.records.audit import Trail, require
from chartkeeper.records.models import Hidden, Matcher, Saved, Unprocessable, WriteOutcome
from chartkeeper.records.patch import apply_json_patch
from chartkeeper.security.caller import Caller
from chartkeeper.security.scopes import Action
from chartkeeper.store.models import CurrentRow, ResourceWrite, StoredVersion
from chartkeeper.store.repository import Store
from chartkeeper.store.resources import resource_write


@dataclass
class Ctx:
    """Who is acting, where, and what has been touched so far."""

    store: Store
    caller: Caller
    trail: Trail
    matcher: Matcher


def lookup_matcher(store: Store) -> Matcher:
    """The default Matcher: the store's identity lookup (``_id``, token, uri, reference, exact
    string). Unknown or unsupported parameters are InvalidInput (400), never ignored."""

    def match(conn: Connection, res_type: str, query: str, limit: int) -> list[str]:
        try:
            criteria = parse_criteria(query, res_type)
        except ValueError as exc:
            raise InvalidInput(f"conditional criteria: {exc}") from exc
        return store.find_ids(criteria, conn, limit)

    return match


def criteria_query(criteria: Criteria) -> str:
    return urlencode(criteria.params)


def known_type(res_type: str) -> None:
    """404 for a type FHIR R4 does not define (http.html: unknown resource type)."""
    if res_type not in get_validator().resource_types:
        raise NotFound(f"{res_type!r} is not a FHIR R4 resource type")


def check_id(res_id: str) -> None:
    if not ID_PATTERN.match(res_id):
        raise InvalidInput(f"{res_id!r} is not a valid FHIR id ([A-Za-z0-9-.]{{1,64}})")


def new_id() -> str:
    """The id of a resource created without one (POST): time-ordered (``fhir.new_ids``)."""
    return time_ordered_id()


def resource_type_of(resource: Any) -> str:
    if not isinstance(resource, dict):
        raise InvalidInput("the body must be a JSON object (a FHIR resource)")
    res_type = resource.get("resourceType")
    if not isinstance(res_type, str):
        raise InvalidInput("the resource has no resourceType")
    known_type(res_type)
    return res_type


def prepare(resource: Any, res_type: str, res_id: str, where: str | None = None) -> ResourceWrite:
    """Check the body is a valid ``res_type`` and make it the write of ``res_type/res_id``.

    Type mismatch → 400; validation errors → Unprocessable (422), issues located at ``where``
    (a Bundle entry) when given.
    """
    if resource_type_of(resource) != res_type:
        raise InvalidInput(f"the resource is a {resource.get('resourceType')}, not a {res_type}")
    resource["id"] = res_id
    issues = validate_entry_resource(resource, where)
    if issues:
        raise Unprocessable(f"{res_type} is not valid: {issues[0].one_line()}", issues)
    return resource_write(res_type, res_id, resource)


def check_version(row: CurrentRow | None, if_match: int | None, what: str) -> None:
    """If-Match: the current version must be exactly ``if_match`` (412 otherwise, and when there
    is no resource at all, as RFC 9110 says for a missing representation)."""
    if if_match is None:
        return
    if row is None:
        raise PreconditionFailed(f'{what} does not exist (If-Match W/"{if_match}")')
    if row.version_id != if_match:
        raise PreconditionFailed(f"{what} is at version {row.version_id}, not {if_match} (If-Match)")


def put(ctx: Ctx, conn: Connection, write: ResourceWrite, if_match: int | None) -> Saved:
    """Create or update ``write`` under the row lock; refuse what the caller may not write.

    Writing a resource that does not exist (or was deleted) needs the create permission,
    changing one that does needs update.
    """
    what = f"{write.res_type}/{write.res_id}"
    row = ctx.store.lock_rows(conn, [(write.res_type, write.res_id)]).get((write.res_type, write.res_id))
    live = row is not None and not row.deleted
    action = Action.UPDATE if live else Action.CREATE
    require(ctx.caller, write.res_type, action)
    check_version(row, if_match, what)
    access = ctx.caller.access_filter(action)
    if live and row is not None and not access.allows(row.res_type, row.res_id, row.patient_id):
        raise Forbidden(f"{what} is outside the caller's compartment")
    if not access.allows(write.res_type, write.res_id, write.patient_id):
        raise Forbidden(f"the new content of {what} would be outside the caller's compartment")
    summary = ctx.store.apply([write], conn)
    after = ctx.store.current_row(write.res_type, write.res_id, conn)
    assert after is not None and write.content is not None
    ctx.trail.touch(write.res_type, write.res_id, after.version_id, write.patient_id)
    outcome: WriteOutcome = "created" if not live else ("updated" if summary.updated else "unchanged")
    content = with_server_meta(orjson.loads(write.content), after.version_id, after.last_updated)
    return Saved(write.res_type, write.res_id, outcome, after.version_id, after.last_updated, content)


def remove(ctx: Ctx, conn: Connection, res_type: str, res_id: str, if_match: int | None) -> Saved:
    """Delete (a tombstone version). Absent or already deleted: nothing happens (204)."""
    require(ctx.caller, res_type, Action.DELETE)
    what = f"{res_type}/{res_id}"
    row = ctx.store.lock_rows(conn, [(res_type, res_id)]).get((res_type, res_id))
    check_version(row, if_match, what)
    if row is None or row.deleted:
        return Saved(res_type, res_id, "none", row.version_id if row else None)
    if not ctx.caller.access_filter(Action.DELETE).allows(res_type, res_id, row.patient_id):
        raise Forbidden(f"{what} is outside the caller's compartment")
    ctx.store.apply([ResourceWrite(res_type, res_id, None, "", None, None, delete=True)], conn)
    after = ctx.store.current_row(res_type, res_id, conn)
    assert after is not None
    ctx.trail.touch(res_type, res_id, after.version_id, row.patient_id)
    return Saved(res_type, res_id, "deleted", after.version_id, after.last_updated)


def visible_row(ctx: Ctx, conn: Connection, res_type: str, res_id: str) -> CurrentRow:
    """The row, if the caller may read it: NotFound if absent, Hidden if outside its compartment
    (a compartment-limited caller also gets Hidden for deleted rows, whose compartment is gone)."""
    require(ctx.caller, res_type, Action.READ)
    return _visible(ctx, res_type, res_id, ctx.store.current_row(res_type, res_id, conn))


def _visible(ctx: Ctx, res_type: str, res_id: str, row: CurrentRow | None) -> CurrentRow:
    if row is None:
        raise NotFound(f"{res_type}/{res_id} does not exist")
    access = ctx.caller.access_filter(Action.READ)
    if (row.deleted and access.patient_ids is not None) or (
        not row.deleted and not access.allows(res_type, res_id, row.patient_id)
    ):
        ctx.trail.touch(res_type, res_id)
        raise Hidden(f"{res_type}/{res_id} does not exist")
    return row


def read(ctx: Ctx, conn: Connection, res_type: str, res_id: str) -> StoredVersion:
    """The current version; Gone (410) if deleted. The row and its content come in one query;
    the content is returned only once the row's checks have passed."""
    require(ctx.caller, res_type, Action.READ)
    found = ctx.store.current_with_version(res_type, res_id, conn)
    row = _visible(ctx, res_type, res_id, None if found is None else found[0])
    ctx.trail.touch(res_type, res_id, row.version_id, row.patient_id)
    if row.deleted:
        raise Gone(f"{res_type}/{res_id} was deleted (version {row.version_id})")
    assert found is not None
    return found[1]


def vread(ctx: Ctx, conn: Connection, res_type: str, res_id: str, version: str) -> StoredVersion:
    """One version; Gone (410) if that version is a deletion."""
    row = visible_row(ctx, conn, res_type, res_id)
    if not version.isdigit():
        raise NotFound(f"{res_type}/{res_id} has no version {version!r}")
    stored = ctx.store.read_version(res_type, res_id, int(version), conn)
    ctx.trail.touch(res_type, res_id, stored.version_id, row.patient_id)
    if stored.deleted:
        raise Gone(f"version {version} of {res_type}/{res_id} is a deletion")
    return stored


def match(ctx: Ctx, conn: Connection, res_type: str, query: str) -> list[str]:
    """Ids (at most 2: enough to tell 0, 1 and many) matching conditional criteria."""
    if not query.strip():
        raise InvalidInput("conditional criteria are empty")
    return ctx.matcher(conn, res_type, query, 2)


def one_or_none(ids: list[str], what: str) -> str | None:
    """0 or 1 match; several → 412, as http.html says for conditional create/update/delete."""
    if len(ids) > 1:
        raise PreconditionFailed(f"{what} matches more than one resource: the criteria are not selective")
    return ids[0] if ids else None


def patch_in(
    ctx: Ctx,
    conn: Connection,
    res_type: str,
    res_id: str,
    operations: Any,
    if_match: int | None,
    where: str | None = None,
) -> Saved:
    """Apply a JSON Patch to the current version under the row lock and write the result."""
    row = ctx.store.lock_rows(conn, [(res_type, res_id)]).get((res_type, res_id))
    current = read(ctx, conn, res_type, res_id)
    check_version(row, if_match, f"{res_type}/{res_id}")  # before the patch itself can fail
    assert current.content is not None
    patched = apply_json_patch(current.content, operations)
    return put(ctx, conn, prepare(patched, res_type, res_id, where), if_match)
