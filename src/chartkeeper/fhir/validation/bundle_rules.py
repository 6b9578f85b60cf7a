"""Bundle rules: the bdl-* invariants plus the reference validator's own Bundle checks.

Why separate from the element walk: these rules look across entries (unique fullUrls, link
relations, references that must resolve inside a document), and ingest runs them with
``entries=False`` on the whole Bundle while it validates the entries themselves in parallel.
So everything here reads only the entries' envelope (fullUrl, request, response, search) and
the few resource fields it needs (resourceType, id, meta.versionId, references).

Reference resolution follows the FHIR rules for resolving references in Bundles (absolute
references by fullUrl; relative ones against the base of the referencing entry's fullUrl;
``/_history/`` versions by meta.versionId), as the HL7 reference validator applies them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from chartkeeper.fhir.outcome import Issue

_ABSOLUTE_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+", re.ASCII)
_SEARCH_RELATIONS = ("first", "previous", "next", "last")
_FULL_URL_OPTIONAL = ("transaction", "transaction-response", "batch", "batch-response")


def is_absolute_url(value: str) -> bool:
    return _ABSOLUTE_RE.fullmatch(value) is not None


class BundleRules:
    """Bound to the set of resource type names (needed to read RESTful URLs)."""

    def __init__(
        self, resource_types: frozenset[str], constraints: dict[str, tuple[str, str, str, str]]
    ) -> None:
        self.resource_types = resource_types
        names = "|".join(sorted(resource_types, key=len, reverse=True))
        # the shape of a RESTful resource URL: [base/]Type/id[/_history/vid]
        self.restful = re.compile(
            rf"((https?)://([A-Za-z0-9.:%$\-_~]*/)*)?({names})/[A-Za-z0-9\-.]{{1,64}}(/_history/[A-Za-z0-9\-.]{{1,64}})?"
        )
        self.human = {key: row[2] for key, row in constraints.items()}

    def looks_restful(self, url: str) -> bool:
        """``self.restful.fullmatch(url)``, skipping the regex for what cannot match (``urn:uuid:`` ...).

        A match starts with ``http`` or with a resource type name (an upper-case letter).
        """
        return ("A" <= url[:1] <= "Z" or url.startswith("http")) and self.restful.fullmatch(url) is not None

    def constraint(self, key: str, path: str) -> Issue:
        return Issue("error", "invariant", f"Constraint failed: {key}: '{self.human.get(key, key)}'", path)

    def check(self, bundle: dict[str, Any], path: str, issues: list[Issue]) -> None:
        btype = bundle.get("type")
        btype = btype if isinstance(btype, str) else ""
        raw_entries = bundle.get("entry")
        entries: list[tuple[int, dict[str, Any]]] = (
            [(i, e) for i, e in enumerate(raw_entries) if isinstance(e, dict)]
            if isinstance(raw_entries, list)
            else []
        )
        if "total" in bundle and btype not in ("searchset", "history"):
            issues.append(self.constraint("bdl-1", f"{path}.total"))
        self._links(bundle, btype, path, issues)
        self._entries(entries, btype, path, issues)
        if btype == "document":
            self._document(bundle, entries, path, issues)
        elif btype == "message":
            self._message(entries, path, issues)
        elif btype == "searchset":
            self._searchset(entries, path, issues)
        if btype not in ("document", "message"):
            self._ambiguous_references(entries, path, issues)

    # -- links -------------------------------------------------------------------------------

    def _links(self, bundle: dict[str, Any], btype: str, path: str, issues: list[Issue]) -> None:
        links = bundle.get("link")
        if not isinstance(links, list):
            return
        seen: set[str] = set()
        for i, link in enumerate(links):
            rel = link.get("relation") if isinstance(link, dict) else None
            if not isinstance(rel, str):
                continue
            where = f"{path}.link[{i}]"
            search_like = btype in ("searchset", "history")
            if not search_like and btype and rel in _SEARCH_RELATIONS:
                issues.append(
                    Issue(
                        "error",
                        "invalid",
                        f"The link relationship type '{rel}' is only allowed in search and history bundles",
                        where,
                    )
                )
            unique = rel == "self" or (search_like and rel in _SEARCH_RELATIONS)
            if unique and rel in seen:
                issues.append(
                    Issue(
                        "error", "invalid", f"The link relationship type '{rel}' can only occur once", where
                    )
                )
            seen.add(rel)

    # -- entry envelopes ---------------------------------------------------------------------

    def _entries(
        self, entries: list[tuple[int, dict[str, Any]]], btype: str, path: str, issues: list[Issue]
    ) -> None:
        wants_request = btype in ("batch", "transaction", "history")
        wants_response = btype in ("batch-response", "transaction-response", "history")
        identities: set[tuple[str, str | None]] = set()
        for i, entry in entries:
            where = f"{path}.entry[{i}]"
            resource = entry.get("resource")
            resource = resource if isinstance(resource, dict) else None
            if "search" in entry and btype != "searchset":
                issues.append(self.constraint("bdl-2", f"{where}.search"))
            if ("request" in entry) != wants_request:
                issues.append(self.constraint("bdl-3", where))
            if ("response" in entry) != wants_response:
                issues.append(self.constraint("bdl-4", where))
            if resource is None and "request" not in entry and "response" not in entry:
                issues.append(self.constraint("bdl-5", where))
            full_url = entry.get("fullUrl")
            if not isinstance(full_url, str) or not full_url:
                if resource is not None and btype and btype not in _FULL_URL_OPTIONAL:
                    issues.append(
                        Issue(
                            "error",
                            "invalid",
                            "Except for transactions and batches, each entry in a Bundle must have a fullUrl "
                            "which is the identity of the resource in the entry",
                            where,
                        )
                    )
                continue
            if "/_history/" in full_url:
                issues.append(self.constraint("bdl-8", f"{where}.fullUrl"))
            if not is_absolute_url(full_url):
                issues.append(
                    Issue(
                        "error", "invalid", f"The fullUrl must be an absolute URL (not '{full_url}')", where
                    )
                )
            elif resource is not None and self.looks_restful(full_url):
                rtype, rid = resource.get("resourceType"), resource.get("id")
                if not isinstance(rid, str):
                    issues.append(
                        Issue(
                            "error",
                            "invalid",
                            f"The fullUrl '{full_url}' looks like a RESTful server URL, "
                            "but the resource has no id",
                            where,
                        )
                    )
                elif not full_url.endswith(f"/{rtype}/{rid}"):
                    issues.append(
                        Issue(
                            "error",
                            "invalid",
                            f"The fullUrl '{full_url}' looks like a RESTful server URL, "
                            f"so it must end with the correct type and id (/{rtype}/{rid})",
                            where,
                        )
                    )
            if btype != "history":
                identity = (full_url, _version_id(resource))
                if identity in identities:
                    issues.append(self.constraint("bdl-7", f"{where}.fullUrl"))
                identities.add(identity)

    # -- documents and messages --------------------------------------------------------------

    def _first_resource(
        self, entries: list[tuple[int, dict[str, Any]]], path: str, issues: list[Issue], key: str, wanted: str
    ) -> dict[str, Any] | None:
        if not entries:
            issues.append(
                Issue("error", "invalid", "Documents or Messages must contain at least one entry", path)
            )
            return None
        first = entries[0][1].get("resource")
        if not isinstance(first, dict) or first.get("resourceType") != wanted:
            issues.append(self.constraint(key, f"{path}.entry[0]"))
            return None
        return first

    def _document(
        self,
        bundle: dict[str, Any],
        entries: list[tuple[int, dict[str, Any]]],
        path: str,
        issues: list[Issue],
    ) -> None:
        identifier = bundle.get("identifier")
        if not (isinstance(identifier, dict) and "system" in identifier and "value" in identifier):
            issues.append(self.constraint("bdl-9", path))
        if not isinstance(bundle.get("timestamp"), str):
            issues.append(self.constraint("bdl-10", path))
        composition = self._first_resource(entries, path, issues, "bdl-11", "Composition")
        index = _EntryIndex(entries, self)
        if composition is not None:
            index_0, entry_0 = entries[0]
            base = f"{path}.entry[{index_0}].resource"
            for ref, where, label in _composition_references(composition, base):
                index.resolve_strict(ref, entry_0, where, label, issues)
        self._interlinked(index, entries, path, issues)

    def _message(self, entries: list[tuple[int, dict[str, Any]]], path: str, issues: list[Issue]) -> None:
        header = self._first_resource(entries, path, issues, "bdl-12", "MessageHeader")
        index = _EntryIndex(entries, self)
        if header is not None:
            base = f"{path}.entry[{entries[0][0]}].resource"
            for i, focus in enumerate(_as_list(header.get("focus"))):
                ref = focus.get("reference") if isinstance(focus, dict) else None
                if isinstance(ref, str) and ref and not ref.startswith("#"):
                    index.resolve_strict(
                        ref, entries[0][1], f"{base}.focus[{i}]", "MessageHeader Data", issues
                    )
        self._report_multiple(index, entries, path, issues)

    def _interlinked(
        self, index: _EntryIndex, entries: list[tuple[int, dict[str, Any]]], path: str, issues: list[Issue]
    ) -> None:
        """Document entries must be reachable from the Composition (forwards, or back from a reached one)."""
        targets: dict[int, set[int]] = {}
        reported = {issue.expression for issue in issues}
        for i, entry in entries:
            resource = entry.get("resource")
            if not isinstance(resource, dict):
                continue
            found: set[int] = set()
            for ref, where in _references(resource, f"{path}.entry[{i}].resource", index.full_urls):
                hits, problem = index.resolve(ref, entry)
                if problem == "multiple":
                    issues.append(_multiple_issue(ref, len(hits), where))
                elif problem == "apparent" and where not in reported:
                    issues.append(_apparent_issue(ref, hits, index, where, "reference"))
                elif len(hits) == 1 and hits[0] != i:
                    found.add(hits[0])
            targets[i] = found
        if not targets:
            return
        first = entries[0][0]
        visited: set[int] = set()
        stack = [first] if first in targets else []
        while stack:
            current = stack.pop()
            if current in visited:
                continue
            visited.add(current)
            stack.extend(targets.get(current, ()))
        grew = True
        while grew:
            grew = False
            for i, found in targets.items():
                if i not in visited and found & visited:
                    visited.add(i)
                    grew = True
        for i in targets:
            if i not in visited:
                full_url = entries_by_index(entries, i).get("fullUrl", "")
                issues.append(
                    Issue(
                        "error",
                        "invalid",
                        f"Entry '{full_url}' isn't reachable by traversing links (forward or backward) "
                        "from the Composition",
                        f"{path}.entry[{i}]",
                    )
                )

    # -- searchsets ---------------------------------------------------------------------------

    def _searchset(self, entries: list[tuple[int, dict[str, Any]]], path: str, issues: list[Issue]) -> None:
        for i, entry in entries:
            where = f"{path}.entry[{i}]"
            resource = entry.get("resource")
            if not isinstance(resource, dict):
                issues.append(Issue("error", "invalid", "Search bundle entries must have a resource", where))
                continue
            search = entry.get("search")
            mode = search.get("mode") if isinstance(search, dict) else None
            if mode in ("match", "include") and not isinstance(resource.get("id"), str):
                issues.append(
                    Issue(
                        "error", "invalid", f"Search bundle entries with mode '{mode}' must have an id", where
                    )
                )
            elif mode == "outcome" and resource.get("resourceType") != "OperationOutcome":
                issues.append(
                    Issue(
                        "error",
                        "invalid",
                        "Search bundle entries with mode 'outcome' must be an OperationOutcome",
                        where,
                    )
                )

    # -- ambiguous references in any bundle --------------------------------------------------

    def _ambiguous_references(
        self, entries: list[tuple[int, dict[str, Any]]], path: str, issues: list[Issue]
    ) -> None:
        """A reference that matches several entries is an error; only possible when identities repeat."""
        index = _EntryIndex(entries, self)
        if not index.has_duplicates:
            return
        self._report_multiple(index, entries, path, issues)

    def _report_multiple(
        self, index: _EntryIndex, entries: list[tuple[int, dict[str, Any]]], path: str, issues: list[Issue]
    ) -> None:
        if not index.has_duplicates:
            return
        for i, entry in entries:
            resource = entry.get("resource")
            if not isinstance(resource, dict):
                continue
            for ref, where in _references(resource, f"{path}.entry[{i}].resource", index.full_urls):
                hits, problem = index.resolve(ref, entry)
                if problem == "multiple":
                    issues.append(_multiple_issue(ref, len(hits), where))


class _EntryIndex:
    """Entries by fullUrl (and fullUrl/_history/version) and by Type/id (and Type/id/_history/version)."""

    def __init__(self, entries: list[tuple[int, dict[str, Any]]], rules: BundleRules) -> None:
        self.rules = rules
        self.by_url: dict[str | None, list[int]] = {}
        self.by_type_id: dict[str, list[int]] = {}
        self.entries = dict(entries)
        for i, entry in entries:
            full_url = entry.get("fullUrl")
            full_url = full_url if isinstance(full_url, str) else None
            self.by_url.setdefault(full_url, []).append(i)
            resource = entry.get("resource")
            if not isinstance(resource, dict):
                continue
            version = _version_id(resource)
            if full_url is not None and version is not None:
                self.by_url.setdefault(f"{full_url}/_history/{version}", []).append(i)
            rid = resource.get("id")
            if isinstance(rid, str):
                type_id = f"{resource.get('resourceType')}/{rid}"
                self.by_type_id.setdefault(type_id, []).append(i)
                if version is not None:
                    self.by_type_id.setdefault(f"{type_id}/_history/{version}", []).append(i)
        self.full_urls = frozenset(u for u in self.by_url if u is not None)
        self.has_duplicates = any(len(v) > 1 for k, v in self.by_url.items() if k is not None) or any(
            len(v) > 1 for v in self.by_type_id.values()
        )

    def resolve(self, ref: str, source: dict[str, Any]) -> tuple[list[int], str | None]:
        """(matching entry indexes, problem) with problem None, 'multiple', 'apparent' or 'not-found'."""
        ref = ref.split("#", 1)[0]
        if not ref:
            return [], None
        if is_absolute_url(ref):
            hits = self.by_url.get(ref, [])
            if len(hits) > 1:
                return hits, "multiple"
            return hits, None if hits else "not-found"
        target_url = None
        full_url = source.get("fullUrl")
        resource = source.get("resource")
        if isinstance(full_url, str) and isinstance(resource, dict) and self.rules.looks_restful(full_url):
            tail = f"{resource.get('resourceType')}/{resource.get('id')}"
            if full_url.endswith(tail):
                target_url = full_url[: -len(tail)] + ref
        hits = self.by_url.get(target_url, []) if target_url is not None else []
        if len(hits) == 1:
            return hits, None
        if len(hits) > 1:
            return hits, "multiple"
        parts = ref.split("/")
        if len(parts) >= 2 and parts[0] in self.rules.resource_types:
            same = self.by_type_id.get(f"{parts[0]}/{parts[1]}")
            if same:
                return same, "apparent"
            return [], "not-found"
        return [], None

    def resolve_strict(
        self, ref: str, source: dict[str, Any], where: str, label: str, issues: list[Issue]
    ) -> None:
        """A reference that must resolve to exactly one entry (document Composition, message focus)."""
        hits, problem = self.resolve(ref, source)
        if problem == "multiple":
            issues.append(
                Issue(
                    "error",
                    "invalid",
                    f"Found {len(hits)} matches for '{ref}' in the bundle ({label})",
                    where,
                )
            )
        elif problem == "apparent":
            issues.append(_apparent_issue(ref, hits, self, where, label))
        elif problem == "not-found":
            issues.append(Issue("error", "not-found", f"Can't find '{ref}' in the bundle ({label})", where))


def _apparent_issue(ref: str, hits: list[int], index: _EntryIndex, where: str, label: str) -> Issue:
    urls = sorted({str(index.entries[h].get("fullUrl", "<missing>")) for h in hits})
    return Issue(
        "error",
        "invalid",
        f"Can't find '{ref}' in the bundle ({label}). {len(hits)} resource(s) in the bundle have the "
        "same type and id, but they do not match by the fullUrl rules for resolving references "
        f"(found: {', '.join(urls)})",
        where,
    )


def _multiple_issue(ref: str, count: int, where: str) -> Issue:
    return Issue("error", "invalid", f"Multiple matches ({count}) in bundle for reference {ref}", where)


def _version_id(resource: dict[str, Any] | None) -> str | None:
    if resource is None:
        return None
    meta = resource.get("meta")
    version = meta.get("versionId") if isinstance(meta, dict) else None
    return version if isinstance(version, str) else None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def entries_by_index(entries: list[tuple[int, dict[str, Any]]], index: int) -> dict[str, Any]:
    for i, entry in entries:
        if i == index:
            return entry
    return {}


def _composition_references(composition: dict[str, Any], base: str) -> Iterator[tuple[str, str, str]]:
    """(reference, path, label) of the Composition references that must resolve inside a document."""

    def refs(node: dict[str, Any], name: str, where: str, label: str) -> Iterator[tuple[str, str, str]]:
        value = node.get(name)
        many = isinstance(value, list)
        for i, item in enumerate(_as_list(value)):
            ref = item.get("reference") if isinstance(item, dict) else None
            if isinstance(ref, str) and ref and not ref.startswith("#"):
                yield ref, f"{where}.{name}[{i}]" if many else f"{where}.{name}", label

    for name in ("subject", "author", "encounter", "custodian"):
        yield from refs(composition, name, base, f"Composition.{name}")
    for group, name in (("attester", "party"), ("event", "detail")):
        for i, item in enumerate(_as_list(composition.get(group))):
            if isinstance(item, dict):
                yield from refs(item, name, f"{base}.{group}[{i}]", f"Composition.{group}.{name}")

    def sections(node: dict[str, Any], where: str) -> Iterator[tuple[str, str, str]]:
        for i, section in enumerate(_as_list(node.get("section"))):
            if not isinstance(section, dict):
                continue
            here = f"{where}.section[{i}]"
            yield from refs(section, "author", here, "Section Author")
            yield from refs(section, "focus", here, "Section Focus")
            yield from refs(section, "entry", here, "Section Entry")
            yield from sections(section, here)

    yield from sections(composition, base)


def _references(node: Any, path: str, full_urls: frozenset[str]) -> Iterator[tuple[str, str]]:
    """Reference.reference values (and strings naming an entry's fullUrl) below a resource, with paths.

    Local ``#id`` references stay inside their resource; nested Bundles are not entered.
    """
    if isinstance(node, dict):
        ref = node.get("reference")
        if isinstance(ref, str) and ref and not ref.startswith("#"):
            yield ref, path
        for key, value in node.items():
            if key == "reference":
                continue
            if isinstance(value, str):
                if value in full_urls and key != "fullUrl":
                    yield value, f"{path}.{key}"
            elif isinstance(value, dict):
                if value.get("resourceType") != "Bundle":
                    yield from _references(value, f"{path}.{key}", full_urls)
            elif isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, dict) and item.get("resourceType") != "Bundle":
                        yield from _references(item, f"{path}.{key}[{i}]", full_urls)
                    elif isinstance(item, str) and item in full_urls:
                        yield item, f"{path}.{key}[{i}]"
