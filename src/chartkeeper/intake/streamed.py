"""Bundles too large to hold in memory, applied atomically in bounded memory.

A 100 MB transaction Bundle parsed whole costs close to a gigabyte of Python objects. Here it
is read twice with a streaming JSON parser (ijson, C backend): first the entries' headers
(fullUrl, type, id, request) to settle ids, conditional creates and the fullUrl map; then
the entries one at a time — references rewritten, validated, indexed — and written in
chunks, all inside the caller's savepoint, so the bundle is still all or nothing.

Bundle-level rules checked here: importable type, unique fullUrls, every reference
resolvable. The remaining Bundle invariants of the validator need the whole bundle at once
and are not checked on this path.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ijson  # type: ignore[import-untyped]
from sqlalchemy.engine import Connection

from chartkeeper.fhir.bundle import (
    IMPORTABLE_BUNDLE_TYPES,
    ImportPlan,
    PlannedEntry,
    Resolver,
    outside_references,
    plan_entry,
    reference_nodes,
    resolve_names,
    rewrite_references,
)
from chartkeeper.fhir.instant import now_us
from chartkeeper.fhir.outcome import Issue
from chartkeeper.intake import sources
from chartkeeper.intake.integrity import missing_references
from chartkeeper.intake.models import StreamedBundleUnit
from chartkeeper.intake.prepare import resource_write, validate_entry_resource
from chartkeeper.store import writer
from chartkeeper.store.models import ResourceWrite, WriteSummary

#: JSON documents larger than this are streamed rather than parsed whole.
LARGE_DOCUMENT_BYTES = 32 << 20
CHUNK_ENTRIES = 2000
MAX_ISSUES = 200


class StreamedBundleError(Exception):
    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(issues[0].one_line() if issues else "rejected")
        self.issues = issues


def _header(path: Path) -> tuple[Any, Any]:
    """The top-level resourceType and type, wherever they sit in the file."""
    resource_type = bundle_type = None
    with sources.open_binary(path) as stream:
        for prefix, event, value in ijson.parse(stream):
            if event == "string" and prefix == "resourceType":
                resource_type = value
            elif event == "string" and prefix == "type":
                bundle_type = value
    return resource_type, bundle_type


def _entries(path: Path) -> Iterator[Any]:
    with sources.open_binary(path) as stream:
        yield from ijson.items(stream, "entry.item", use_float=True)


def apply_streamed_bundle(conn: Connection, unit: StreamedBundleUnit, resolver: Resolver) -> WriteSummary:
    """Apply the bundle in ``conn``'s current transaction; StreamedBundleError lists what is wrong."""
    try:
        return _apply(conn, unit.path, resolver)
    except (ijson.JSONError, UnicodeDecodeError, ValueError) as exc:
        raise StreamedBundleError([Issue("fatal", "structure", f"not valid JSON: {exc}", None)]) from exc


def _apply(conn: Connection, path: Path, resolver: Resolver) -> WriteSummary:
    resource_type, bundle_type = _header(path)
    if resource_type != "Bundle":
        message = "a JSON document this large must be a Bundle (use NDJSON for many resources)"
        raise StreamedBundleError([Issue("error", "too-costly", message, "$")])
    if bundle_type not in IMPORTABLE_BUNDLE_TYPES:
        raise StreamedBundleError(
            [
                Issue(
                    "error", "not-supported", f"cannot import a Bundle of type {bundle_type!r}", "Bundle.type"
                )
            ]
        )
    has_requests = bundle_type in ("transaction", "batch")
    skeleton, issues = _skeleton(path, has_requests)
    names = resolve_names(skeleton, resolver)
    issues.extend(i for i in skeleton.issues if i.is_error)
    if issues:
        raise StreamedBundleError(issues[:MAX_ISSUES])
    by_index = {int(e.expression[len("Bundle.entry[") : -1]): e for e in skeleton.entries}
    inside = {(e.res_type, e.res_id) for e in skeleton.entries if e.res_id is not None}
    summary = WriteSummary()
    chunk: list[ResourceWrite] = []
    ref_checks: list[tuple[str, str, str]] = []
    now = now_us()
    for index, raw_entry in enumerate(_entries(path)):
        settled = by_index.get(index)
        if settled is None or settled.skip:
            continue
        if settled.delete:
            assert settled.res_id is not None
            chunk.append(ResourceWrite(settled.res_type, settled.res_id, None, "", None, None, delete=True))
        else:
            write = _prepare_entry(
                raw_entry, settled, has_requests, names, resolver, issues, ref_checks, inside
            )
            if write is not None:
                chunk.append(write)
        if len(issues) >= MAX_ISSUES:
            break
        if len(chunk) >= CHUNK_ENTRIES and not issues:
            summary.add(writer.apply_writes(conn, chunk, now))
            chunk = []
            # ingest relaxes the collector; here memory must stay flat. The chunk's garbage is
            # young: collecting generations 0 and 1 frees it without walking the whole heap
            # (a full collection per chunk cost 0.2 s in a fresh process, seconds in a server)
            gc.collect(1)
    if not issues and chunk:
        summary.add(writer.apply_writes(conn, chunk, now))
    if not issues:
        issues.extend(missing_references(conn, ref_checks))
    if issues:
        raise StreamedBundleError(issues[:MAX_ISSUES])
    return summary


def _skeleton(path: Path, has_requests: bool) -> tuple[ImportPlan, list[Issue]]:
    """Pass one: every entry's ids and request, without keeping its resource."""
    plan = ImportPlan()
    issues: list[Issue] = []
    for index, raw_entry in enumerate(_entries(path)):
        where = f"Bundle.entry[{index}]"
        if not isinstance(raw_entry, dict):
            issues.append(Issue("error", "structure", "entry must be an object", where))
            continue
        planned = plan_entry(raw_entry, where, has_requests, plan)
        if planned is not None:
            planned.resource = None
            planned.refs = []
            plan.entries.append(planned)
        if len(issues) + len(plan.issues) >= MAX_ISSUES:
            break
    return plan, issues


def _prepare_entry(
    raw_entry: dict[str, Any],
    settled: PlannedEntry,
    has_requests: bool,
    names: Any,
    resolver: Resolver,
    issues: list[Issue],
    ref_checks: list[tuple[str, str, str]],
    inside: set[tuple[str, str]],
) -> ResourceWrite | None:
    """Pass two for one entry: its resource, references rewritten, validated and indexed."""
    entry = plan_entry(raw_entry, settled.expression, has_requests, ImportPlan())
    if entry is None or entry.resource is None:
        return None
    entry.res_id = settled.res_id
    entry.refs = reference_nodes(entry.resource)
    found: list[Issue] = []
    rewrite_references(entry, names, resolver, found)
    found.extend(validate_entry_resource(entry.resource, entry.expression))
    if found:
        issues.extend(found)
        return None
    assert entry.res_id is not None
    ref_checks.extend(outside_references(entry, inside))
    return resource_write(entry.res_type, entry.res_id, entry.resource)
