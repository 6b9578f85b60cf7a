"""Batch and transaction Bundles with FHIR's REST semantics (http.html#transaction).

Not the ingest import: a POST entry gets a new server id (its fullUrl is only a temporary
name), references to fullUrls are rewritten to the ids assigned, PUT/PATCH/DELETE/GET entries
act on the URL they name, conditional entries are resolved against the store.

A transaction is resolved first (identities, then references), then processed in the order of
http.html#trules — DELETE, POST, PUT/PATCH, GET — in one database transaction taken exclusively
among writers, so it is all or nothing and never interleaves with another. A batch runs each
entry as its own one-entry unit, with its own audit record and OperationOutcome.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import orjson
from sqlalchemy.engine import Connection

from chartkeeper.errors import ChartkeeperError, InvalidInput
from chartkeeper.fhir.bundle import BundleNames, PlannedEntry, reference_nodes, rewrite_references
from chartkeeper.fhir.conditional import Criteria, parse_criteria
from chartkeeper.fhir.outcome import Issue
from chartkeeper.records import ops
from chartkeeper.records.audit import audited
from chartkeeper.records.entries import ORDER, Entry, parse_entry
from chartkeeper.records.models import HistoryPage, NotSupported, Saved, Searcher
from chartkeeper.records.outcomes import error_outcome, status_line
from chartkeeper.records.paging import PageRequest, parse_at, parse_count, parse_since
from chartkeeper.records.render import etag, history_bundle, read_entry, saved_entry
from chartkeeper.security.ports import AuditAction, AuditSink
from chartkeeper.store import patient_events

HistoryFn = Callable[[ops.Ctx, Connection, str | None, str | None, PageRequest], HistoryPage]
_AUDIT: dict[str, AuditAction] = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
JSON_PATCH = "application/json-patch+json"


class BundleProcessor:
    """Runs the entries of one Bundle for one caller (see the module docstring)."""

    def __init__(self, ctx: ops.Ctx, base: str, history: HistoryFn, searcher: Searcher | None = None) -> None:
        self.ctx = ctx
        self.base = base
        self.history = history
        self.searcher = searcher
        self.minimal = False  # Prefer: return=minimal: write entries carry no resource
        self.patients_written: list[str] = []  # by committed batch entries (for the MPI)

    # -- transaction ----------------------------------------------------------------------
    def transaction(self, conn: Connection, bundle: dict[str, Any]) -> dict[str, Any]:
        entries = self._entries(bundle, "transaction")
        self.ctx.store.serialize_writers(conn)
        for entry in entries:
            self._locate(entry, self._identify, conn, entry)
        self._no_overlap(entries)
        names = self._names(entries)
        issues: list[Issue] = []
        for entry in entries:
            self._rewrite(conn, entry, names, issues)
        if any(i.is_error for i in issues):
            raise InvalidInput(issues[0].one_line(), issues)
        for entry in entries:
            self._locate(entry, self._prepare, conn, entry)
        results: dict[int, dict[str, Any]] = {}
        for entry in sorted(entries, key=lambda e: (ORDER[e.method], e.index)):
            results[entry.index] = self._locate(entry, self._execute, conn, entry)
        return {
            "resourceType": "Bundle",
            "type": "transaction-response",
            "entry": [results[e.index] for e in entries],
        }

    # -- batch ----------------------------------------------------------------------------
    def batch(self, bundle: dict[str, Any], sink: AuditSink) -> dict[str, Any]:
        raw_entries = self._raw_entries(bundle, "batch")
        out = []
        for index, raw in enumerate(raw_entries):
            request = raw.get("request") if isinstance(raw, dict) else None
            method = request.get("method") if isinstance(request, dict) else None
            action: AuditAction = _AUDIT.get(str(method), "read")
            try:
                with audited(sink, self.ctx.caller, action) as trail:
                    one = BundleProcessor(
                        ops.Ctx(self.ctx.store, self.ctx.caller, trail, self.ctx.matcher),
                        self.base,
                        self.history,
                        self.searcher,
                    )
                    one.minimal = self.minimal
                    out.append(one._batch_entry(raw, index))
                    self.patients_written.extend(one.patients_written)
            except ChartkeeperError as exc:
                status, outcome = error_outcome(exc)
                out.append({"response": {"status": status_line(status), "outcome": outcome}})
        return {"resourceType": "Bundle", "type": "batch-response", "entry": out}

    def _batch_entry(self, raw: Any, index: int) -> dict[str, Any]:
        entry = parse_entry(raw, index, self.base)
        with self.ctx.store.transaction() as conn:
            self.ctx.store.serialize_writers(conn)
            self._identify(conn, entry)
            issues: list[Issue] = []
            self._rewrite(conn, entry, self._names([entry]), issues)
            if any(i.is_error for i in issues):
                raise InvalidInput(issues[0].one_line(), issues)
            self._prepare(conn, entry)
            result = self._execute(conn, entry)
            written = patient_events.take(conn)
        self.patients_written.extend(written)  # committed
        return result

    # -- steps ----------------------------------------------------------------------------
    def _raw_entries(self, bundle: Any, kind: str) -> list[Any]:
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            raise InvalidInput("the body must be a Bundle")
        if bundle.get("type") != kind:
            raise InvalidInput(f"expected a Bundle of type {kind}, not {bundle.get('type')!r}")
        raw = bundle.get("entry", [])
        if not isinstance(raw, list):
            raise InvalidInput("Bundle.entry must be an array")
        return raw

    def _entries(self, bundle: Any, kind: str) -> list[Entry]:
        entries = [parse_entry(raw, i, self.base) for i, raw in enumerate(self._raw_entries(bundle, kind))]
        full_urls = [e.full_url for e in entries if e.full_url]
        if len(full_urls) != len(set(full_urls)):
            raise InvalidInput("two entries of the Bundle have the same fullUrl")
        return entries

    def _locate(
        self, entry: Entry, step: Callable[[Connection, Entry], Any], conn: Connection, arg: Entry
    ) -> Any:
        """Run a step; an error names the entry it came from (same error class)."""
        try:
            return step(conn, arg)
        except ChartkeeperError as exc:
            if str(exc).startswith(entry.where):
                raise
            located = type(exc)(f"{entry.where}: {exc}")
            if isinstance(exc, InvalidInput) and isinstance(located, InvalidInput):
                located.issues = exc.issues
            raise located from exc

    def _identify(self, conn: Connection, entry: Entry) -> None:
        """Settle which resource the entry is about (new ids, conditional matches)."""
        ctx, path = self.ctx, entry.path
        if entry.method in ("GET", "HEAD"):
            return
        if not path or path[0] == "_history" or len(path) > 2:
            raise InvalidInput(f"{entry.method} {'/'.join(path)!r} is not [type] or [type]/[id]")
        res_type = entry.res_type
        assert res_type is not None
        if entry.method == "POST":
            if len(path) != 1:
                raise InvalidInput("a POST entry's url is the resource type")
            if entry.if_none_exist:
                found = ops.one_or_none(ops.match(ctx, conn, res_type, entry.if_none_exist), "ifNoneExist")
                entry.matched = found is not None
                entry.res_id = found or ops.new_id()
            else:
                entry.res_id = ops.new_id()
            return
        if len(path) == 2:
            ops.check_id(path[1])
            entry.res_id = path[1]
        elif entry.query and entry.method in ("PUT", "DELETE"):
            found = ops.one_or_none(
                ops.match(ctx, conn, res_type, entry.query), f"conditional {entry.method}"
            )
            body_id = entry.resource.get("id") if entry.resource else None
            if entry.method == "PUT" and found and body_id not in (None, found):
                raise InvalidInput(f"the resource id {body_id!r} differs from the match {found!r}")
            entry.res_id = found or (body_id if entry.method == "PUT" and isinstance(body_id, str) else None)
            if entry.method == "PUT" and entry.res_id is None:
                entry.res_id = ops.new_id()
        else:
            raise InvalidInput(f"a {entry.method} entry's url is [type]/[id] or [type]?[criteria]")
        if entry.method == "PUT" and entry.resource is not None:
            body_id = entry.resource.get("id")
            if body_id is not None and body_id != entry.res_id:
                raise InvalidInput(f"the resource id {body_id!r} does not match the url")

    def _no_overlap(self, entries: list[Entry]) -> None:
        """http.html#trules: the same resource written twice in one transaction fails it."""
        seen: dict[tuple[str, str], int] = {}
        for entry in entries:
            if entry.method in ("GET", "HEAD") or entry.res_id is None or entry.res_type is None:
                continue
            key = (entry.res_type, entry.res_id)
            if key in seen:
                raise InvalidInput(
                    f"Bundle.entry[{seen[key]}] and {entry.where} both act on {key[0]}/{key[1]}"
                )
            seen[key] = entry.index

    def _names(self, entries: list[Entry]) -> BundleNames:
        names = BundleNames()
        for entry in entries:
            if entry.method not in ("POST", "PUT") or entry.res_id is None:
                continue
            ref = f"{entry.res_type}/{entry.res_id}"
            if entry.full_url:
                names.by_full_url[entry.full_url] = ref
            if entry.if_none_exist and entry.res_type:
                with contextlib.suppress(ValueError):  # malformed criteria failed in _identify
                    names.by_criteria[str(parse_criteria(entry.if_none_exist, entry.res_type))] = ref
        return names

    def _rewrite(self, conn: Connection, entry: Entry, names: BundleNames, issues: list[Issue]) -> None:
        """fullUrl and conditional references → ``Type/id`` (unresolvable ones are issues)."""
        if entry.resource is None or entry.matched or entry.method not in ("POST", "PUT"):
            return

        def resolver(criteria: Criteria) -> list[str]:
            return self.ctx.matcher(conn, criteria.res_type, ops.criteria_query(criteria), 2)

        planned = PlannedEntry(entry.where, entry.res_type or "", entry.res_id, entry.resource)
        planned.refs = reference_nodes(entry.resource)
        rewrite_references(planned, names, resolver, issues)

    def _prepare(self, conn: Connection, entry: Entry) -> None:
        if entry.method in ("POST", "PUT") and not entry.matched:
            if entry.resource is None:
                raise InvalidInput(f"a {entry.method} entry needs a resource")
            assert entry.res_type is not None and entry.res_id is not None
            entry.write = ops.prepare(entry.resource, entry.res_type, entry.res_id, entry.where)

    def _execute(self, conn: Connection, entry: Entry) -> dict[str, Any]:
        ctx, res_type, res_id = self.ctx, entry.res_type, entry.res_id
        if entry.method in ("GET", "HEAD"):
            return self._get(conn, entry)
        assert res_type is not None
        if entry.method == "DELETE":
            if res_id is None:
                return saved_entry(Saved(res_type, None, "none"), self.base, not self.minimal)
            return saved_entry(
                ops.remove(ctx, conn, res_type, res_id, entry.if_match), self.base, not self.minimal
            )
        assert res_id is not None
        if entry.method == "PATCH":
            return saved_entry(self._patch(conn, entry, res_type, res_id), self.base, not self.minimal)
        if entry.matched:
            stored = ops.read(ctx, conn, res_type, res_id)
            matched = Saved(
                res_type, res_id, "matched", stored.version_id, stored.last_updated, stored.content
            )
            return saved_entry(matched, self.base, not self.minimal)
        assert entry.write is not None
        return saved_entry(ops.put(ctx, conn, entry.write, entry.if_match), self.base, not self.minimal)

    def _patch(self, conn: Connection, entry: Entry, res_type: str, res_id: str) -> Saved:
        """A PATCH entry carries its JSON Patch as a Binary (http.html#transaction)."""
        binary = entry.resource
        if not binary or binary.get("resourceType") != "Binary" or binary.get("contentType") != JSON_PATCH:
            raise NotSupported(f"a PATCH entry needs a Binary with contentType {JSON_PATCH}")
        try:
            operations = orjson.loads(base64.b64decode(str(binary.get("data", "")), validate=True))
        except (ValueError, orjson.JSONDecodeError) as exc:
            raise InvalidInput(f"the PATCH Binary does not hold JSON: {exc}") from exc
        return ops.patch_in(self.ctx, conn, res_type, res_id, operations, entry.if_match, entry.where)

    def _search(self, conn: Connection, entry: Entry) -> dict[str, Any]:
        res_type = entry.path[0] if entry.path else None
        if self.searcher is None:
            raise NotSupported(f"GET {res_type or ''}?{entry.query}: search is not supported yet")
        found = self.searcher(self.ctx.caller, conn, res_type, entry.query, self.base, self.ctx.trail)
        return {"resource": found, "response": {"status": status_line(200)}}

    def _get(self, conn: Connection, entry: Entry) -> dict[str, Any]:
        """read, vread, history, and search through the injected Searcher (if any)."""
        path, params = entry.path, parse_qs(entry.query)
        if len(path) <= 1 and not (path and path[0] == "_history"):
            return self._search(conn, entry)
        if path[-1:] == ["_history"] and len(path) <= 3:
            first = {k: v[0] for k, v in params.items() if v}
            page = PageRequest(
                count=parse_count(first.get("_count")),
                since=parse_since(first.get("_since")),
                at=parse_at(first.get("_at")),
            )
            res_type = path[0] if len(path) >= 2 else None
            res_id = path[1] if len(path) == 3 else None
            found = self.history(self.ctx, conn, res_type, res_id, page)
            self_url = f"{self.base}/{'/'.join(path)}" + (f"?{entry.query}" if entry.query else "")
            return {
                "resource": history_bundle(found, self.base, self_url, None),
                "response": {"status": "200 OK"},
            }
        if len(path) == 2 and not entry.query:
            stored = ops.read(self.ctx, conn, path[0], path[1])
        elif len(path) == 4 and path[2] == "_history":
            stored = ops.vread(self.ctx, conn, path[0], path[1], path[3])
        else:
            raise NotSupported(f"GET {'/'.join(path)}?{entry.query}: not an interaction this server supports")
        if entry.if_none_match and entry.if_none_match.strip() == etag(stored.version_id):
            return {"response": {"status": status_line(304), "etag": etag(stored.version_id)}}
        return read_entry(stored, self.base)
