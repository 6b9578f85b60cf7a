"""RecordService: the FHIR RESTful interactions except search, for any shell.

Every method takes the Caller first, checks its scopes (Forbidden), limits what it returns to
the caller's access filter (a resource outside the caller's compartment is reported as not
found and audited as denied) and records one AccessEvent — success, denied or failed — before
returning. Writes run in one database transaction each; see ``ops`` and ADR 0007.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from chartkeeper.errors import Conflict, Forbidden, InvalidInput, NotFound
from chartkeeper.fhir.outcome import Issue
from chartkeeper.fhir.validation import validate_resource
from chartkeeper.fhir.validation.validator import get_validator
from chartkeeper.records import ops
from chartkeeper.records.audit import Trail, audited, require
from chartkeeper.records.bundles import BundleProcessor
from chartkeeper.records.models import HistoryPage, Matcher, Saved, Searcher
from chartkeeper.records.paging import PageRequest
from chartkeeper.records.reading import everything_in, history_in
from chartkeeper.records.snapshots import PageSnapshots
from chartkeeper.security.caller import Caller
from chartkeeper.security.ports import AuditAction, AuditSink
from chartkeeper.security.scopes import Action
from chartkeeper.store import patient_events
from chartkeeper.store.models import StoredVersion
from chartkeeper.store.patient_events import PatientWriteListener
from chartkeeper.store.repository import Store

T = TypeVar("T")


class RecordService:
    """Create, read, vread, update, patch, delete (plain and conditional), history, batch,
    transaction, ``Patient/$everything`` and ``$validate``.

    matcher: finds ids for conditional criteria; defaults to the store's identity lookup, and
        the full search implementation replaces it.
    searcher: runs search entries (``GET [type]?query``) of batches and transactions; without
        one they are answered NotSupported.
    """

    def __init__(
        self,
        store: Store,
        audit: AuditSink,
        matcher: Matcher | None = None,
        searcher: Searcher | None = None,
        patients_written: PatientWriteListener | None = None,
    ) -> None:
        self.store = store
        self.audit = audit
        self.matcher = matcher or ops.lookup_matcher(store)
        self.searcher = searcher
        self.patients_written = patients_written
        self.everything_snapshots = PageSnapshots()

    # -- plumbing -------------------------------------------------------------------------
    def _ctx(self, caller: Caller, trail: Trail) -> ops.Ctx:
        return ops.Ctx(self.store, caller, trail, self.matcher)

    def _write(self, trail: Trail, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one write transaction. The API's own writers queue on row locks, but a
        writer that takes none (a concurrent ingest on PostgreSQL) can still win a unique-key
        race; the loser is retried once, when it sees the winner's row, then reported as 409."""
        for attempt in (1, 2):
            trail.resources.clear()
            try:
                with self.store.transaction() as conn:
                    result = work(conn)
                    written = patient_events.take(conn)
            except IntegrityError as exc:
                if attempt == 2:
                    raise Conflict("the resource was written concurrently; retry") from exc
            else:
                self._tell(written)
                return result
        raise AssertionError("unreachable")

    def _tell(self, patient_ids: list[str]) -> None:
        """After the commit: the master patient index matches the Patients written (ADR 0015)."""
        patient_events.tell(self.patients_written, patient_ids, "fhir-api")

    # -- create ---------------------------------------------------------------------------
    def create(self, caller: Caller, resource: Any, *, if_none_exist: str | None = None) -> Saved:
        """POST [type]: a new resource with a server-assigned id (any id in the body is ignored).

        With ``if_none_exist`` (the If-None-Exist header): no match → create; one match → that
        resource, untouched (``outcome == "matched"``); several → PreconditionFailed.
        """
        with audited(self.audit, caller, "create", query=if_none_exist) as trail:
            res_type = ops.resource_type_of(resource)
            require(caller, res_type, Action.CREATE)
            ctx = self._ctx(caller, trail)

            def work(conn: Connection) -> Saved:
                if if_none_exist is not None:
                    self.store.serialize_writers(conn)
                    found = ops.one_or_none(ops.match(ctx, conn, res_type, if_none_exist), "If-None-Exist")
                    if found is not None:
                        return self._matched(ctx, conn, res_type, found)
                return ops.put(ctx, conn, ops.prepare(resource, res_type, ops.new_id()), None)

            return self._write(trail, work)

    def _matched(self, ctx: ops.Ctx, conn: Connection, res_type: str, res_id: str) -> Saved:
        try:
            stored = ops.read(ctx, conn, res_type, res_id)
        except Forbidden as exc:  # no read permission: the match is not the caller's to see
            raise Forbidden(f"If-None-Exist matched a resource the caller may not read: {exc}") from exc
        return Saved(res_type, res_id, "matched", stored.version_id, stored.last_updated, stored.content)

    # -- reads ----------------------------------------------------------------------------
    def read(self, caller: Caller, res_type: str, res_id: str) -> StoredVersion:
        """GET [type]/[id]: NotFound (also for resources outside the caller's compartment), Gone."""
        # ops.read is one statement (row and content together)
        with audited(self.audit, caller, "read") as trail, self.store.reading_one() as conn:
            ops.known_type(res_type)
            return ops.read(self._ctx(caller, trail), conn, res_type, res_id)

    def vread(self, caller: Caller, res_type: str, res_id: str, version_id: str) -> StoredVersion:
        """GET [type]/[id]/_history/[vid]: Gone if that version is a deletion."""
        with audited(self.audit, caller, "vread") as trail, self.store.reading() as conn:
            ops.known_type(res_type)
            return ops.vread(self._ctx(caller, trail), conn, res_type, res_id, version_id)

    # -- update and patch -----------------------------------------------------------------
    def update(
        self, caller: Caller, res_type: str, res_id: str, resource: Any, *, if_match: int | None = None
    ) -> Saved:
        """PUT [type]/[id]: update, or create with this id (update-as-create).

        The body's id must equal ``res_id`` (400 otherwise). ``if_match``: the version the
        client last saw; any other current version (or none) is PreconditionFailed.
        """
        with audited(self.audit, caller, "update") as trail:
            ops.known_type(res_type)
            self._may_write(caller, res_type)
            ops.check_id(res_id)
            if isinstance(resource, dict) and resource.get("id") != res_id:
                raise InvalidInput(
                    f"the resource id {resource.get('id')!r} does not match the URL id {res_id!r}"
                )
            ctx = self._ctx(caller, trail)
            return self._write(
                trail, lambda conn: ops.put(ctx, conn, ops.prepare(resource, res_type, res_id), if_match)
            )

    def conditional_update(
        self, caller: Caller, res_type: str, query: str, resource: Any, *, if_match: int | None = None
    ) -> Saved:
        """PUT [type]?[criteria]: no match → create (with the body's id if it has one, else a new
        one); one match → update it (a body id must equal it); several → PreconditionFailed."""
        with audited(self.audit, caller, "update", query=query) as trail:
            ops.known_type(res_type)
            self._may_write(caller, res_type)
            ctx = self._ctx(caller, trail)

            def work(conn: Connection) -> Saved:
                self.store.serialize_writers(conn)
                found = ops.one_or_none(ops.match(ctx, conn, res_type, query), "the conditional update")
                body_id = resource.get("id") if isinstance(resource, dict) else None
                if found is not None and body_id is not None and body_id != found:
                    raise InvalidInput(f"the resource id {body_id!r} differs from the match {found!r}")
                res_id = found or (body_id if isinstance(body_id, str) else None) or ops.new_id()
                ops.check_id(res_id)
                return ops.put(ctx, conn, ops.prepare(resource, res_type, res_id), if_match)

            return self._write(trail, work)

    def patch(
        self, caller: Caller, res_type: str, res_id: str, operations: Any, *, if_match: int | None = None
    ) -> Saved:
        """PATCH [type]/[id] with a JSON Patch; the result is validated like an update."""
        with audited(self.audit, caller, "patch") as trail:
            ops.known_type(res_type)
            require(caller, res_type, Action.UPDATE)
            ctx = self._ctx(caller, trail)
            return self._write(
                trail, lambda conn: ops.patch_in(ctx, conn, res_type, res_id, operations, if_match)
            )

    def conditional_patch(
        self, caller: Caller, res_type: str, query: str, operations: Any, *, if_match: int | None = None
    ) -> Saved:
        """PATCH [type]?[criteria]: one match → patch it; none → NotFound; several → 412."""
        with audited(self.audit, caller, "patch", query=query) as trail:
            ops.known_type(res_type)
            require(caller, res_type, Action.UPDATE)
            ctx = self._ctx(caller, trail)

            def work(conn: Connection) -> Saved:
                self.store.serialize_writers(conn)
                found = ops.one_or_none(ops.match(ctx, conn, res_type, query), "the conditional patch")
                if found is None:
                    raise NotFound(f"no {res_type} matches {query}")
                return ops.patch_in(ctx, conn, res_type, found, operations, if_match)

            return self._write(trail, work)

    def _may_write(self, caller: Caller, res_type: str) -> None:
        if not (caller.permits(res_type, Action.UPDATE) or caller.permits(res_type, Action.CREATE)):
            require(caller, res_type, Action.UPDATE)

    # -- delete ---------------------------------------------------------------------------
    def delete(self, caller: Caller, res_type: str, res_id: str, *, if_match: int | None = None) -> Saved:
        """DELETE [type]/[id]: a tombstone version; absent or already deleted → outcome "none"."""
        with audited(self.audit, caller, "delete") as trail:
            ops.known_type(res_type)
            require(caller, res_type, Action.DELETE)
            ctx = self._ctx(caller, trail)
            return self._write(trail, lambda conn: ops.remove(ctx, conn, res_type, res_id, if_match))

    def conditional_delete(self, caller: Caller, res_type: str, query: str) -> Saved:
        """DELETE [type]?[criteria]: no match or one → an ordinary delete; several → 412
        (conditionalDelete "single" in the CapabilityStatement)."""
        with audited(self.audit, caller, "delete", query=query) as trail:
            ops.known_type(res_type)
            require(caller, res_type, Action.DELETE)
            ctx = self._ctx(caller, trail)

            def work(conn: Connection) -> Saved:
                self.store.serialize_writers(conn)
                found = ops.one_or_none(ops.match(ctx, conn, res_type, query), "the conditional delete")
                if found is None:
                    return Saved(res_type, None, "none")
                return ops.remove(ctx, conn, res_type, found, None)

            return self._write(trail, work)

    # -- history --------------------------------------------------------------------------
    def history(
        self, caller: Caller, res_type: str | None, res_id: str | None, page: PageRequest
    ) -> HistoryPage:
        """Instance (``res_type`` and ``res_id``), type (``res_type``) or system history, newest
        first, with ``_since``/``_at`` and keyset paging (stable while new versions arrive)."""
        action: AuditAction = (
            "history-instance" if res_id else ("history-type" if res_type else "history-system")
        )
        with audited(self.audit, caller, action) as trail, self.store.reading() as conn:
            return history_in(self._ctx(caller, trail), conn, res_type, res_id, page)

    # -- operations -----------------------------------------------------------------------
    def everything(
        self, caller: Caller, patient_id: str, page: PageRequest, *, serialized: bool = False
    ) -> HistoryPage:
        """Patient/[id]/$everything: the patient, its compartment and the Practitioners,
        Organizations, Locations and Medications they reference; ``_since``, ``_type``, paging.
        ``serialized``: entries may carry their JSON text (``StoredVersion.json_value``) instead
        of parsed content, for a shell that only writes them out."""
        with audited(self.audit, caller, "operation", operation="$everything") as trail:
            return everything_in(
                self._ctx(caller, trail),
                patient_id,
                page,
                serialized=serialized,
                snapshots=self.everything_snapshots,
            )

    def validate(
        self,
        caller: Caller,
        resource: Any,
        *,
        res_type: str,
        res_id: str | None = None,
        mode: str | None = None,
    ) -> list[Issue]:
        """[type]/$validate and [type]/[id]/$validate: every issue found (warnings too).

        mode "create"/"update"/"delete" (the operation's parameter) adds the checks of that
        interaction: update needs the body id to equal ``res_id``; delete only that it exists.
        """
        with audited(self.audit, caller, "operation", operation="$validate") as trail:
            ops.known_type(res_type)
            self._may_write(caller, res_type)
            if mode not in (None, "create", "update", "delete"):
                raise InvalidInput(f"$validate mode must be create, update or delete, not {mode!r}")
            if mode == "delete":
                if res_id is None:
                    raise InvalidInput("$validate mode=delete needs an instance ([type]/[id]/$validate)")
                with self.store.reading() as conn:
                    ops.read(self._ctx(caller, trail), conn, res_type, res_id)
                return []
            if not isinstance(resource, dict) or resource.get("resourceType") != res_type:
                raise InvalidInput(f"$validate needs a {res_type} resource")
            issues = validate_resource(resource)
            if (mode == "update" or res_id is not None) and resource.get("id") != res_id:
                issues.append(
                    Issue("error", "invalid", f"the resource id must be {res_id!r}", f"{res_type}.id")
                )
            return issues

    # -- bundles --------------------------------------------------------------------------
    def transaction(
        self, caller: Caller, bundle: dict[str, Any], *, base: str, minimal: bool = False
    ) -> dict[str, Any]:
        """A transaction Bundle, all or nothing in one database transaction (http.html#trules);
        returns the transaction-response Bundle (``minimal``: write entries without resources)."""
        with audited(self.audit, caller, "transaction") as trail:
            processor = BundleProcessor(self._ctx(caller, trail), base, history_in, self.searcher)
            processor.minimal = minimal
            return self._write(trail, lambda conn: processor.transaction(conn, bundle))

    def batch(
        self, caller: Caller, bundle: dict[str, Any], *, base: str, minimal: bool = False
    ) -> dict[str, Any]:
        """A batch Bundle: each entry on its own (own transaction, own audit record, own
        OperationOutcome when it fails); returns the batch-response Bundle."""
        with audited(self.audit, caller, "batch") as trail:
            processor = BundleProcessor(self._ctx(caller, trail), base, history_in, self.searcher)
            processor.minimal = minimal
            response = processor.batch(bundle, self.audit)
            self._tell(processor.patients_written)
            return response


def known_types() -> frozenset[str]:
    return frozenset(get_validator().resource_types)
