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

    In the writer (``resolver`` and ``read`` given) the document's Patient identifier is first
    checked against the stored Patient it matches (``patients.identity_conflict``).
    """
    prepared = Prepared(bytes_in=len(unit.raw))
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
    if resolver is not None and read is not None:
        conflict = identity_conflict(bundle, resolver, read)
        if conflict is not None:
            return _rejected(unit, prepared, [conflict])
    if resolver is not None and read is not None:
        conflict = identity_conflict(bundle, resolver, read)
        if conflict is not None:
            return _rejected(unit, prepared, [conflict])
    shadow = DocumentUnit(unit.source, unit.raw, unit.fmt)
    result = prepare_parsed(bundle, shadow, prepared, resolver)
    if result.deferred:
        result.mapped = orjson.dumps({"bundle": bundle, "origins": origins})
    for reject in result.rejects:
        reject.issues = [_relocate(issue, origins, bundle) for issue in reject.issues]
    return result


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
