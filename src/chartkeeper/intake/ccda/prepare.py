"""A C-CDA unit through intake: map the XML to a Bundle, then FHIR intake's own planning,
validation and indexing (``intake.prepare.prepare_parsed``) — one write path for every format.

The Bundle is nearly always conditional (the Patient and authors are created only if absent),
so the worker maps and the writer resolves: the mapped Bundle travels back as JSON in
``Prepared.mapped`` and the writer does not parse the XML again. Issues the FHIR checks find are
restated with the place in the document the resource came from.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from chartkeeper.fhir.bundle import Resolver
from chartkeeper.fhir.conditional import Criteria, parse_criteria
from chartkeeper.fhir.outcome import Issue
from chartkeeper.intake.ccda.document import map_document
from chartkeeper.intake.ccda.patients import Reader, identity_conflict
from chartkeeper.intake.ccda.xmlsafe import CcdaError
from chartkeeper.intake.models import CcdaUnit, DocumentUnit, Prepared, Reject
from chartkeeper.intake.prepare import prepare_parsed

_ENTRY = re.compile(r"^Bundle\.entry\[(\d+)\](?:\.resource)?\.?(.*)$")


def prepare_ccda(
    unit: CcdaUnit,
    resolver: Resolver | None = None,
    earlier: Prepared | None = None,
    read: Reader | None = None,
) -> Prepared:
    """Map and prepare one document; any problem becomes one Reject of the whole document.

    In a worker (no ``resolver``) the document is mapped and its resources validated as if the
    store were empty — references then point inside the Bundle, so every check that does not need
    the store runs here, in parallel — and the unresolved Bundle goes to the writer in
    ``Prepared.mapped``. In the writer (``resolver`` and ``read`` given) the Patient identifier is
    checked against the stored Patient it matches (``patients.identity_conflict``); when every
    conditional create resolves as the worker assumed, the worker's writes are used as they are
    (``_reuse_trial``), otherwise the Bundle is resolved and indexed again, without validating it
    a second time.
    """
    prepared = Prepared(bytes_in=len(unit.raw))
    checked = earlier is not None and earlier.mapped is not None
    if earlier is not None and earlier.mapped is not None:
        carried = orjson.loads(earlier.mapped)
        bundle, origins = carried["bundle"], carried["origins"]
    else:
        try:
            mapped = map_document(unit.raw)
        except CcdaError as exc:
            return _rejected(unit, prepared, [Issue("error", exc.code, str(exc), None)])
        except Exception as exc:  # a mapping bug must not end the run; the reject says it is ours
            issue = Issue(
                "error", "exception", f"C-CDA mapping failed unexpectedly: {type(exc).__name__}: {exc}"
            )
            return _rejected(unit, prepared, [issue])
        bundle, origins = mapped.bundle, mapped.origins
    shadow = DocumentUnit(unit.source, unit.raw, unit.fmt)
    if resolver is None:
        payload = orjson.dumps({"bundle": bundle, "origins": origins})
        asked: list[Criteria] = []
        trial = prepare_parsed(bundle, shadow, prepared, _empty_store(asked))
        _relocate_all(trial, origins, bundle)
        if trial.rejects or not asked:
            return trial  # rejected, or final: nothing in it needs the store
        return Prepared(
            bytes_in=len(unit.raw),
            deferred=True,
            mapped=payload,
            writes=trial.writes,
            ref_checks=trial.ref_checks,
        )
    resolver = _remembering(resolver)
    if read is not None:
        conflict = identity_conflict(bundle, resolver, read)
        if conflict is not None:
            return _rejected(unit, prepared, [conflict])
    if checked and earlier is not None and earlier.writes:
        reused = _reuse_trial(earlier, bundle, resolver)
        if reused is not None:
            return reused
    result = prepare_parsed(bundle, shadow, prepared, resolver, validate=not checked)
    _relocate_all(result, origins, bundle)
    return result


def _reuse_trial(earlier: Prepared, bundle: dict[str, Any], resolver: Resolver) -> Prepared | None:
    """The worker's writes, when the store confirms its assumptions; None to plan again.

    The worker prepared every resource as if no conditional create matched. Where one matches
    the very id the worker planned (this document, or another about the same person, created
    it), that resource is left as stored and everything else is exactly what the worker built;
    only a match to another id (a Patient from another feed) needs references rewritten.
    """
    existing: set[tuple[str, str]] = set()
    for entry in bundle["entry"]:
        criteria = entry["request"].get("ifNoneExist")
        if not criteria:
            continue
        res_type, res_id = entry["resource"]["resourceType"], entry["resource"]["id"]
        matches = resolver(parse_criteria(criteria, res_type))
        if matches == [res_id]:
            existing.add((res_type, res_id))
        elif matches:
            return None
    return Prepared(
        writes=[w for w in earlier.writes if (w.res_type, w.res_id) not in existing],
        ref_checks=list(earlier.ref_checks),
        bytes_in=earlier.bytes_in,
    )


def _empty_store(asked: list[Criteria]) -> Resolver:
    def resolve(criteria: Criteria) -> list[str]:
        asked.append(criteria)
        return []

    return resolve


def _remembering(resolver: Resolver) -> Resolver:
    """One look-up per criteria within a document (the identity check and the plan ask alike)."""
    seen: dict[str, list[str]] = {}

    def resolve(criteria: Criteria) -> list[str]:
        key = str(criteria)
        if key not in seen:
            seen[key] = resolver(criteria)
        return seen[key]

    return resolve


def _relocate_all(prepared: Prepared, origins: list[str], bundle: dict[str, Any]) -> None:
    for reject in prepared.rejects:
        reject.issues = [_relocate(issue, origins, bundle) for issue in reject.issues]


def _rejected(unit: CcdaUnit, prepared: Prepared, issues: list[Issue]) -> Prepared:
    prepared.rejects.append(Reject(unit.source, unit.fmt, unit.raw, issues))
    return prepared


def _relocate(issue: Issue, origins: list[str], bundle: dict[str, Any]) -> Issue:
    """``Bundle.entry[7].resource.onsetDateTime`` → ``section Problems (…), entry 2: Condition.onsetDateTime``."""
    match = _ENTRY.match(issue.expression or "")
    if not match or int(match.group(1)) >= len(origins):
        return issue
    index = int(match.group(1))
    entry = bundle["entry"][index]
    res_type = entry.get("resource", {}).get("resourceType", "resource")
    path = match.group(2)
    where = f"{res_type}.{path}" if path and not path.startswith("request") else path or res_type
    return Issue(issue.severity, issue.code, f"{origins[index]}: {where}: {issue.message}", None)
