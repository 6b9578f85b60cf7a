"""Possible duplicates: the MPI review queue, one pair side by side, and the decision on it.

Every step goes through ``MpiService`` with the person's Caller (``queue``, ``decide``,
``golden``), as ``chartkeeper mpi queue|decide|golden`` does, so scopes, the decision record
(who, when, why) and the audit are the service's. A decided pair leaves the queue for good (the
service never queues it again); the page refuses to decide a pair that is no longer open, so a
second click or a stale tab cannot record a second decision.

``MpiService.queue`` lists the open pairs most probable first, without a count or an offset; the
list pages ask it for one more row than they show (to know whether there is a next page), and a
pair page looks for its pair among the first 50, then 500, then 5,000 open pairs.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from chartkeeper.errors import Conflict, Gone, InvalidInput, NotFound
from chartkeeper.mpi.models import QueueItem
from chartkeeper.web.pages import CHART_ROLES, PageRoute, User, check_csrf, render, signed_in
from chartkeeper.web.queue_access import DUPLICATE_ROLES
from chartkeeper.web.queue_services import mpi, names, records
from chartkeeper.web.work_views import (
    PAGE_SIZE,
    compare,
    display_name,
    found_text,
    golden_rows,
    paginate,
    probability_text,
)
from chartkeeper.web.work_views import (
    patient_id as pid_of,
)

router = APIRouter(route_class=PageRoute)
_LOOKUP_LIMITS = (PAGE_SIZE, 500, 5000)
MAX_REASON = 500
#: the list reads every earlier page's pairs too (the service has no offset): stop somewhere
MAX_PAGE = 200


def open_pairs(request: Request, user: User, page: int) -> tuple[list[QueueItem], bool]:
    """Page ``page`` of the open pairs and whether another page follows."""
    shown = page * PAGE_SIZE
    items = mpi(request).queue(user.caller, limit=shown + 1)
    return items[shown - PAGE_SIZE : shown], len(items) > shown


def find_open(request: Request, user: User, pair_id: int) -> QueueItem:
    for limit in _LOOKUP_LIMITS:
        items = mpi(request).queue(user.caller, limit=limit)
        for item in items:
            if item.pair_id == pair_id:
                return item
        if len(items) < limit:
            break
    raise NotFound(
        f"pair {pair_id} is not waiting for review: it has been decided, or one of its records was merged"
    )


@router.get("/queues/duplicates")
def duplicates(request: Request, page: int = 1) -> Response:
    user = signed_in(request, DUPLICATE_ROLES)
    if not 1 <= page <= MAX_PAGE:
        raise NotFound(f"there is no page {page} of possible duplicates (pages 1 to {MAX_PAGE})")
    items, more = open_pairs(request, user, page)
    if not items and page > 1:
        raise NotFound(f"there is no page {page} of possible duplicates")
    known = names(request, user.caller, [p for i in items for p in (i.a, i.b)])
    rows = [
        {
            "item": i,
            "probability": probability_text(i.probability),
            "a_name": known.get(i.a, f"Patient/{i.a}"),
            "b_name": known.get(i.b, f"Patient/{i.b}"),
            "found": found_text(i.found_at),
        }
        for i in items
    ]
    return render(
        request,
        "duplicates.html",
        {"rows": rows, "page": page, "more": more, "page_size": PAGE_SIZE},
        user=user,
    )


@router.get("/queues/duplicates/decisions")
def decisions(request: Request, page: int = 1) -> Response:
    """Every decision on a pair, newest first: who, when, why (``chartkeeper mpi decisions``)."""
    user = signed_in(request, DUPLICATE_ROLES)
    rows = list(reversed(mpi(request).decisions(user.caller)))
    shown = paginate(rows, page)
    for row in shown.rows:
        row["when"] = found_text(int(str(row["decided_at"])))
        row["a_id"], row["b_id"] = pid_of(str(row["a"])), pid_of(str(row["b"]))
        probability = row.get("probability")
        row["chance"] = probability_text(probability if isinstance(probability, float) else None)
    return render(
        request,
        "duplicate_decisions.html",
        {"rows": shown.rows, "page": shown.page, "pages": shown.pages, "total": shown.total},
        user=user,
    )


def _pair_context(request: Request, user: User, item: QueueItem) -> dict[str, Any]:
    service = records(request)
    try:
        a = service.read(user.caller, "Patient", item.a).content or {}
        b = service.read(user.caller, "Patient", item.b).content or {}
    except Gone as exc:  # deleted since the scan: nothing left to decide on
        raise NotFound(f"one record of pair {item.pair_id} was deleted ({exc})") from None
    return {
        "item": item,
        "a": a,
        "b": b,
        "a_name": display_name(a),
        "b_name": display_name(b),
        "rows": compare(a, b, item.evidence),
        "probability": probability_text(item.probability),
        "found": found_text(item.found_at),
        "form": {},
        "errors": {},
    }


@router.get("/queues/duplicates/{pair_id}")
def pair(request: Request, pair_id: int) -> Response:
    user = signed_in(request, DUPLICATE_ROLES)
    item = find_open(request, user, pair_id)
    return render(request, "duplicate_pair.html", _pair_context(request, user, item), user=user)


def _decision_errors(form: dict[str, str], item: QueueItem) -> dict[str, str]:
    errors = {}
    if form.get("verdict") not in ("merge", "distinct"):
        errors["verdict"] = "Choose: the same person (merge) or different people (distinct)."
    reason = form.get("reason", "").strip()
    if not reason:
        errors["reason"] = "Give the reason for your decision; it is kept with the decision."
    elif len(reason) > MAX_REASON:
        errors["reason"] = f"Keep the reason under {MAX_REASON} characters."
    if form.get("verdict") == "merge":
        if form.get("keep", "") not in ("", item.a, item.b):
            errors["keep"] = "Choose which record to keep."
        if form.get("confirm") != "yes":
            errors["confirm"] = "Confirm the merge: it moves everything onto the kept record."
    return errors


@router.post("/queues/duplicates/{pair_id}/decide")
async def decide(request: Request, pair_id: int) -> Response:
    user = signed_in(request, DUPLICATE_ROLES)
    form = await check_csrf(request, user.session)
    item = find_open(request, user, pair_id)
    errors = _decision_errors(form, item)
    if errors:
        context = _pair_context(request, user, item) | {"form": form, "errors": errors}
        return render(request, "duplicate_pair.html", context, status=400, user=user)
    verdict = form["verdict"]
    reason = form["reason"].strip()
    keep = form.get("keep") or None if verdict == "merge" else None
    try:
        _pk, merged = mpi(request).decide(user.caller, str(pair_id), verdict, reason, keep)  # type: ignore[arg-type]
    except (InvalidInput, Conflict) as exc:  # e.g. one record was merged elsewhere meanwhile
        context = _pair_context(request, user, item) | {"form": form, "errors": {"verdict": str(exc)}}
        status = 409 if isinstance(exc, Conflict) else 400
        return render(request, "duplicate_pair.html", context, status=status, user=user)
    if merged is None:
        user.session.notice = (
            f"Recorded: Patient/{item.a} and Patient/{item.b} are different people. "
            "The pair will not be asked again."
        )
        return RedirectResponse("/queues/duplicates", status_code=303)
    user.session.notice = (
        f"Merged Patient/{merged.source} into Patient/{merged.target} "
        f"({len(merged.resources)} resource versions written). The pair will not be asked again."
    )
    return RedirectResponse(f"/patients/{merged.target}/golden", status_code=303)


@router.get("/patients/{patient_id}/golden")
def golden(request: Request, patient_id: str) -> Response:
    """The enterprise record of the person this Patient belongs to (across merged records)."""
    user = signed_in(request, CHART_ROLES)
    record = mpi(request).golden(user.caller, patient_id)
    members = record.get("members") or []
    known = names(request, user.caller, [pid_of(m["id"]) for m in members])
    return render(
        request,
        "golden.html",
        {
            "record": record,
            "survivor": pid_of(record["id"]),
            "asked": patient_id,
            "members": [
                {**m, "pid": pid_of(m["id"]), "name": known.get(pid_of(m["id"]), m["id"])} for m in members
            ],
            "rows": golden_rows(record),
        },
        user=user,
    )
