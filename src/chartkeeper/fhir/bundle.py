"""Reading a Bundle as an import plan: entries, ids, fullUrl → ``Type/id`` and reference rewriting.

Pure FHIR semantics; the store is reached only through a ``resolver`` callback, so the same
code runs in ingest worker processes (no resolver: anything that needs the database is
reported back as deferred) and in the writer process (with a resolver).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chartkeeper.fhir.conditional import Criteria, is_conditional_reference, parse_criteria
from chartkeeper.fhir.outcome import Issue
from chartkeeper.fhir.resource import fingerprint

ID_PATTERN = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_RELATIVE = re.compile(r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[A-Za-z0-9\-.]{1,64})?$")
_ABSOLUTE = re.compile(
    r"^https?://.+/([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[A-Za-z0-9\-.]{1,64})?$"
)
_NAMESPACE = uuid.UUID("5b9b1d52-8f8c-4c0e-9a0e-6f2a4c7d1e10")

#: resolver(criteria) → ids of stored resources matching it (at most 2 needed)
Resolver = Callable[[Criteria], list[str]]

IMPORTABLE_BUNDLE_TYPES = frozenset(
    {"transaction", "batch", "collection", "document", "searchset", "message"}
)


@dataclass(slots=True)
class PlannedEntry:
    """One entry to apply: an upsert of ``resource`` or a delete of ``res_type/res_id``."""

    expression: str
    res_type: str
    res_id: str | None
    resource: dict[str, Any] | None
    delete: bool = False
    full_url: str | None = None
    if_none_exist: Criteria | None = None
    delete_criteria: Criteria | None = None
    skip: bool = False  # conditional create matched an existing resource
    refs: list[dict[str, Any]] = field(default_factory=list)  # the objects holding a "reference"


@dataclass(slots=True)
class ImportPlan:
    entries: list[PlannedEntry] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    needs_store: bool = False  # conditional create/reference/delete: resolve in the writer

    @property
    def ok(self) -> bool:
        return not any(i.is_error for i in self.issues)


def content_id(resource: dict[str, Any]) -> str:
    """An id for a resource that arrived without one, derived from its content.

    Re-importing the same id-less content then finds the same resource instead of making a
    copy: imports stay idempotent.
    """
    return str(uuid.uuid5(_NAMESPACE, fingerprint(resource)))


def parse_reference(reference: str) -> tuple[str, str] | None:
    """``Type/id`` or ``http://base/Type/id`` → (type, id); anything else → None."""
    match = _RELATIVE.match(reference) or _ABSOLUTE.match(reference)
    return (match.group(1), match.group(2)) if match else None


def plan_resource(resource: dict[str, Any], expression: str) -> ImportPlan:
    """A single resource (a file or an NDJSON line) is an upsert keeping its id."""
    plan = ImportPlan()
    res_type = resource.get("resourceType")
    if not isinstance(res_type, str):
        plan.issues.append(Issue("error", "structure", "no resourceType", expression))
        return plan
    res_id = resource.get("id")
    if res_id is None:
        res_id = content_id(resource)
        resource["id"] = res_id
    entry = PlannedEntry(expression, res_type, res_id if isinstance(res_id, str) else None, resource)
    entry.refs = reference_nodes(resource)
    plan.entries.append(entry)
    return plan


def plan_bundle(bundle: dict[str, Any]) -> ImportPlan:
    """Turn a Bundle into entries with their final ids, as an import (ids kept)."""
    plan = ImportPlan()
    bundle_type = bundle.get("type")
    if bundle_type not in IMPORTABLE_BUNDLE_TYPES:
        plan.issues.append(
            Issue("error", "not-supported", f"cannot import a Bundle of type {bundle_type!r}", "Bundle.type")
        )
        return plan
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        plan.issues.append(Issue("error", "structure", "entry must be an array", "Bundle.entry"))
        return plan
    for index, entry in enumerate(entries):
        where = f"Bundle.entry[{index}]"
        if not isinstance(entry, dict):
            plan.issues.append(Issue("error", "structure", "entry must be an object", where))
            continue
        planned = plan_entry(entry, where, bundle_type == "transaction" or bundle_type == "batch", plan)
        if planned is not None:
            plan.entries.append(planned)
    return plan


def plan_entry(
    entry: dict[str, Any], where: str, has_requests: bool, plan: ImportPlan
) -> PlannedEntry | None:
    request = entry.get("request") if has_requests else None
    method = request.get("method") if isinstance(request, dict) else None
    url = request.get("url") if isinstance(request, dict) else None
    full_url = entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else None
    resource = entry.get("resource")
    if method == "GET" or method == "HEAD":
        return None  # reads inside a batch have nothing to import
    if method == "PATCH":
        plan.issues.append(
            Issue("error", "not-supported", "PATCH entries cannot be imported", f"{where}.request")
        )
        return None
    if method == "DELETE":
        return _plan_delete(url, where, plan)
    if not isinstance(resource, dict):
        plan.issues.append(Issue("error", "required", "entry has no resource", f"{where}.resource"))
        return None
    res_type = resource.get("resourceType")
    if not isinstance(res_type, str):
        plan.issues.append(Issue("error", "structure", "resource has no resourceType", f"{where}.resource"))
        return None
    res_id = resource.get("id")
    if method == "PUT" and isinstance(url, str) and "?" not in url:
        parsed = parse_reference(url)
        if parsed is None or parsed[0] != res_type:
            plan.issues.append(
                Issue("error", "invalid", f"PUT url {url!r} is not {res_type}/[id]", f"{where}.request.url")
            )
            return None
        if res_id is not None and res_id != parsed[1]:
            plan.issues.append(
                Issue(
                    "error",
                    "invalid",
                    f"resource id {res_id!r} differs from the PUT url {url!r}",
                    f"{where}.resource.id",
                )
            )
            return None
        res_id = parsed[1]
    if res_id is None:
        res_id = _id_from_full_url(full_url) or content_id(resource)
    if not isinstance(res_id, str):
        plan.issues.append(Issue("error", "structure", "id must be a string", f"{where}.resource.id"))
        return None
    resource["id"] = res_id
    criteria = None
    if_none_exist = request.get("ifNoneExist") if isinstance(request, dict) else None
    if isinstance(if_none_exist, str) and if_none_exist:
        try:
            criteria = parse_criteria(if_none_exist, res_type)
        except ValueError as exc:
            plan.issues.append(
                Issue("error", "invalid", f"ifNoneExist: {exc}", f"{where}.request.ifNoneExist")
            )
            return None
        plan.needs_store = True
    planned = PlannedEntry(where, res_type, res_id, resource, full_url=full_url, if_none_exist=criteria)
    planned.refs = reference_nodes(resource)
    return planned


def _plan_delete(url: Any, where: str, plan: ImportPlan) -> PlannedEntry | None:
    if not isinstance(url, str):
        plan.issues.append(
            Issue("error", "required", "DELETE entry has no request.url", f"{where}.request.url")
        )
        return None
    if "?" in url:
        try:
            criteria = parse_criteria(url)
        except ValueError as exc:
            plan.issues.append(
                Issue("error", "invalid", f"conditional delete: {exc}", f"{where}.request.url")
            )
            return None
        plan.needs_store = True
        return PlannedEntry(where, criteria.res_type, None, None, delete=True, delete_criteria=criteria)
    parsed = parse_reference(url)
    if parsed is None:
        plan.issues.append(
            Issue("error", "invalid", f"DELETE url {url!r} is not [type]/[id]", f"{where}.request.url")
        )
        return None
    return PlannedEntry(where, parsed[0], parsed[1], None, delete=True)


def _id_from_full_url(full_url: str | None) -> str | None:
    if not full_url:
        return None
    if full_url.startswith("urn:uuid:"):
        candidate = full_url[len("urn:uuid:") :]
        return candidate if ID_PATTERN.match(candidate) else None
    parsed = parse_reference(full_url)
    return parsed[1] if parsed else None


def reference_nodes(root: Any) -> list[dict[str, Any]]:
    """Every object under ``root`` with a string ``reference`` (one fast walk, no paths built).

    Paths are only worked out (``path_to``) for the rare reference that is wrong.
    """
    found: list[dict[str, Any]] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if type(node) is dict:
            if type(node.get("reference")) is str:
                found.append(node)
            for value in node.values():
                kind = type(value)
                if kind is dict or kind is list:
                    stack.append(value)
        else:
            for value in node:
                kind = type(value)
                if kind is dict or kind is list:
                    stack.append(value)
    return found


def path_to(root: Any, target: Any, prefix: str) -> str:
    """The FHIRPath-style location of ``target`` (an object inside ``root``)."""
    if root is target:
        return prefix
    if isinstance(root, dict):
        for key, value in root.items():
            if isinstance(value, (dict, list)):
                found = path_to(value, target, f"{prefix}.{key}")
                if found:
                    return found
    elif isinstance(root, list):
        for i, value in enumerate(root):
            if isinstance(value, (dict, list)):
                found = path_to(value, target, f"{prefix}[{i}]")
                if found:
                    return found
    return ""


def scan_conditional_references(plan: ImportPlan) -> None:
    """Mark the plan as needing the store when any reference is conditional (``Type?query``)."""
    for entry in plan.entries:
        if any(
            "?" in node["reference"] and is_conditional_reference(node["reference"]) for node in entry.refs
        ):
            plan.needs_store = True
            return


@dataclass(slots=True)
class BundleNames:
    """What a bundle's references may name: fullUrl → ``Type/id``, and conditional-create
    criteria → the ``Type/id`` they created or matched (for conditional references to them)."""

    by_full_url: dict[str, str] = field(default_factory=dict)
    by_criteria: dict[str, str] = field(default_factory=dict)


def resolve_plan(plan: ImportPlan, resolver: Resolver | None) -> None:
    """Apply conditional creates/deletes, map fullUrls to ``Type/id`` and rewrite references.

    Without a resolver the plan must not need the store (callers check ``needs_store``).
    Issues go into ``plan.issues``; on any error the caller rejects the whole bundle.
    """
    names = resolve_names(plan, resolver)
    for entry in plan.entries:
        rewrite_references(entry, names, resolver, plan.issues)


def resolve_names(plan: ImportPlan, resolver: Resolver | None) -> BundleNames:
    """Settle conditional creates/deletes and map every fullUrl (the entries' resources may be
    absent: a streamed bundle is planned from its entries' headers first)."""
    names = BundleNames()
    created_by_criteria = names.by_criteria
    for entry in plan.entries:
        if entry.delete and entry.delete_criteria is not None:
            assert resolver is not None
            matches = resolver(entry.delete_criteria)
            if len(matches) > 1:
                plan.issues.append(
                    Issue(
                        "error",
                        "multiple-matches",
                        f"conditional delete {entry.delete_criteria} matches several resources",
                        entry.expression,
                    )
                )
            entry.res_id = matches[0] if matches else None
            entry.skip = not matches
        elif entry.if_none_exist is not None:
            assert resolver is not None
            matches = resolver(entry.if_none_exist)
            if len(matches) > 1:
                plan.issues.append(
                    Issue(
                        "error",
                        "multiple-matches",
                        f"ifNoneExist {entry.if_none_exist} matches several resources",
                        f"{entry.expression}.request.ifNoneExist",
                    )
                )
            elif matches:
                entry.res_id = matches[0]
                entry.skip = True
            if entry.res_id is not None:
                created_by_criteria[str(entry.if_none_exist)] = f"{entry.res_type}/{entry.res_id}"
    mapping = names.by_full_url
    for entry in plan.entries:
        if entry.full_url and not entry.delete and entry.res_id is not None:
            if entry.full_url in mapping:
                plan.issues.append(
                    Issue(
                        "error",
                        "invalid",
                        f"fullUrl {entry.full_url} occurs more than once",
                        f"{entry.expression}.fullUrl",
                    )
                )
            mapping[entry.full_url] = f"{entry.res_type}/{entry.res_id}"
    return names


def rewrite_references(
    entry: PlannedEntry, names: BundleNames, resolver: Resolver | None, issues: list[Issue]
) -> None:
    """Point the entry's references at ``Type/id``; what cannot be resolved becomes an issue."""
    if entry.resource is None or entry.skip:
        return
    mapping = names.by_full_url
    for node in entry.refs:
        ref = node["reference"]
        if ref in mapping:
            node["reference"] = mapping[ref]
        elif ref.startswith(("urn:", "http:", "https:")) or "?" in ref:
            where = path_to(entry.resource, node, f"{entry.expression}.resource") + ".reference"
            new = _resolve_reference(ref, where, mapping, names.by_criteria, resolver, issues)
            if new is not None:
                node["reference"] = new


def _resolve_reference(
    ref: str,
    where: str,
    mapping: dict[str, str],
    by_criteria: dict[str, str],
    resolver: Resolver | None,
    issues: list[Issue],
) -> str | None:
    if ref in mapping:
        return mapping[ref]
    if ref.startswith(("urn:uuid:", "urn:oid:")):
        issues.append(
            Issue("error", "not-found", f"reference {ref} points to no entry of this bundle", where)
        )
        return None
    if is_conditional_reference(ref):
        try:
            criteria = parse_criteria(ref)
        except ValueError as exc:
            issues.append(Issue("error", "invalid", f"conditional reference {ref!r}: {exc}", where))
            return None
        if resolver is None:
            issues.append(
                Issue("error", "not-supported", f"conditional reference {ref} needs the store", where)
            )
            return None
        matches = resolver(criteria)
        if len(matches) == 1:
            return f"{criteria.res_type}/{matches[0]}"
        if not matches and str(criteria) in by_criteria:
            return by_criteria[str(criteria)]
        if not matches:
            issues.append(
                Issue("error", "not-found", f"conditional reference {ref} matches no resource", where)
            )
        else:
            issues.append(
                Issue(
                    "error",
                    "multiple-matches",
                    f"conditional reference {ref} matches several resources",
                    where,
                )
            )
        return None
    return None


def outside_references(entry: PlannedEntry, inside: set[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """(type, id, where) of the entry's ``Type/id`` references to resources not in the bundle."""
    out: list[tuple[str, str, str]] = []
    for node in entry.refs:
        match = _RELATIVE.match(node["reference"])
        if match and (match.group(1), match.group(2)) not in inside:
            where = path_to(entry.resource, node, f"{entry.expression}.resource") + ".reference"
            out.append((match.group(1), match.group(2), where))
    return out
