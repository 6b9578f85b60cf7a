"""Work queues: the overview (every queue the person works, with its count and a link) and the
intake quarantine (see the error and the original; retry or discard with a reason).

Possible duplicates live in ``duplicate_routes``, coding and DNFB in ``coding_routes``; the
overview counts them through the same services those pages call.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from chartkeeper.intake.quarantine import PAGE_SIZE, VIEW_ROLES, QuarantineService
from chartkeeper.web.pages import PageRoute, User, check_csrf, render, signed_in
from chartkeeper.web.queue_access import CODING_ROLES, DUPLICATE_ROLES, QUEUE_ROLES
from chartkeeper.web.queue_counts import QueueCount, coding_counts, duplicate_count

router = APIRouter(route_class=PageRoute)
ORIGINAL_PREVIEW_BYTES = 64 * 1024


def _service(request: Request) -> QuarantineService:
    service: QuarantineService = request.app.state.quarantine
    return service


def _patient_of(content: bytes) -> str | None:
    """The Patient id in a quarantined FHIR document, if it names exactly one (for a chart link)."""
    try:
        doc: Any = json.loads(content)
    except ValueError:
        return None
    resources = [e.get("resource", {}) for e in doc.get("entry", [])] if isinstance(doc, dict) else []
    if isinstance(doc, dict) and doc.get("resourceType") != "Bundle":
        resources = [doc]
    ids = {r.get("id") for r in resources if isinstance(r, dict) and r.get("resourceType") == "Patient"}
    ids |= {
        str(r.get("subject", {}).get("reference", "")).removeprefix("Patient/")
        for r in resources
        if isinstance(r, dict) and str(r.get("subject", {}).get("reference", "")).startswith("Patient/")
    }
    ids.discard(None)
    return str(next(iter(ids))) if len(ids) == 1 else None


def _counts(request: Request, user: User, held: int | None) -> list[QueueCount]:
    counts = []
    if held is not None:
        counts.append(QueueCount("Intake quarantine", "/queues#quarantine-h", str(held), "held"))
    if user.has(DUPLICATE_ROLES):
        counts.append(duplicate_count(request, user))
    if user.has(CODING_ROLES):
        counts.extend(coding_counts(request, user))
    return counts


@router.get("/queues")
def queues(request: Request, page: int = 1) -> Response:
    user = signed_in(request, QUEUE_ROLES)
    context: dict[str, Any] = {"items": [], "total": None, "page": page, "pages": 1}
    if user.has(VIEW_ROLES):
        items, total = _service(request).held(user.caller, max(page - 1, 0))
        context.update(items=items, total=total, pages=max(1, -(-total // PAGE_SIZE)))
    context["counts"] = _counts(request, user, context["total"])
    return render(request, "queues.html", context, user=user)


@router.get("/queues/quarantine/{pk}")
def item(request: Request, pk: int) -> Response:
    user = signed_in(request, VIEW_ROLES)
    service = _service(request)
    found = service.item(user.caller, pk)
    content = found.content or b""
    preview = content[:ORIGINAL_PREVIEW_BYTES].decode("utf-8", errors="replace")
    return render(
        request,
        "quarantine_item.html",
        {
            "item": found,
            "original": preview,
            "truncated": len(content) > ORIGINAL_PREVIEW_BYTES,
            "issues": json.dumps(found.issues, indent=2) if found.issues else "",
            "patient_id": _patient_of(content),
            "may_decide": service.may_decide(user.caller),
        },
        user=user,
    )


@router.post("/queues/quarantine/{pk}/retry")
async def retry(request: Request, pk: int) -> Response:
    user = signed_in(request, VIEW_ROLES)
    form = await check_csrf(request, user.session)
    outcome = _service(request).retry(user.caller, pk, form.get("reason", ""))
    if outcome.resolved:
        user.session.notice = f"Item {pk} went in and is closed."
        return RedirectResponse("/queues", status_code=303)
    user.session.notice = f"Item {pk} was refused again: " + "; ".join(outcome.messages)[:300]
    return RedirectResponse(f"/queues/quarantine/{pk}", status_code=303)


@router.post("/queues/quarantine/{pk}/discard")
async def discard(request: Request, pk: int) -> Response:
    user = signed_in(request, VIEW_ROLES)
    form = await check_csrf(request, user.session)
    _service(request).discard(user.caller, pk, form.get("reason", ""))
    user.session.notice = f"Item {pk} was discarded."
    return RedirectResponse("/queues", status_code=303)
