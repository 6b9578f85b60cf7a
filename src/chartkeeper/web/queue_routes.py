"""Work queues. So far: the intake quarantine (see the error and the original; retry or discard
with a reason). Later queues (duplicates, coding, deficiencies, ROI) add a section here."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from chartkeeper.intake.quarantine import PAGE_SIZE, VIEW_ROLES, QuarantineService
from chartkeeper.web.pages import PageRoute, check_csrf, render, signed_in

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


@router.get("/queues")
def queues(request: Request, page: int = 1) -> Response:
    user = signed_in(request, VIEW_ROLES)
    items, total = _service(request).held(user.caller, max(page - 1, 0))
    pages = max(1, -(-total // PAGE_SIZE))
    return render(
        request, "queues.html", {"items": items, "total": total, "page": page, "pages": pages}, user=user
    )


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
