"""The coding queue, one encounter as a coder works it, and the DNFB report.

The pages call ``CodingService`` with the person's Caller — ``queue_page`` and ``dnfb_page``
(read from the stored review, brought up to date first, as ``CodingService.queue`` and ``dnfb``
are; only the page's patients are audited), ``validate`` of one patient for the encounter page,
and ``assign`` (the same call as ``chartkeeper code assign``: a new version of each Condition and
of the Encounter, a Provenance, an audit record). A typed code is checked against the code set
before ``assign`` so an unknown or non-billable code is shown beside its field.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from chartkeeper.coding.codeset import default_codeset
from chartkeeper.coding.suggest import default_suggester
from chartkeeper.errors import Conflict, Gone, InvalidInput, NotFound
from chartkeeper.web.coding_views import CodingForm, EncounterView, encounter_view, read_form
from chartkeeper.web.pages import PageRoute, User, check_csrf, render, signed_in
from chartkeeper.web.queue_access import CODING_ROLES
from chartkeeper.web.queue_services import coding, names, records
from chartkeeper.web.work_views import PAGE_SIZE, age_days

router = APIRouter(route_class=PageRoute)


def _today() -> date:
    return datetime.now(UTC).date()


@router.get("/queues/coding")
def coding_queue_page(request: Request, page: int = 1) -> Response:
    user = signed_in(request, CODING_ROLES)
    shown = coding(request).queue_page(user.caller, page, PAGE_SIZE)
    today = _today()
    known = names(request, user.caller, [i.patient_id for i in shown.rows])
    rows = [
        {
            "item": i,
            "name": known.get(i.patient_id or "", i.patient_id or "(no patient)"),
            "age": age_days(i.end or i.start, today),
        }
        for i in shown.rows
    ]
    return render(
        request,
        "coding_queue.html",
        {"rows": rows, "page": shown.page, "pages": shown.pages, "total": shown.total},
        user=user,
    )


def _encounter(request: Request, user: User, encounter_id: str) -> tuple[EncounterView, str]:
    """The encounter's view (read with the person's Caller) and its patient's name."""
    try:
        content = records(request).read(user.caller, "Encounter", encounter_id).content or {}
    except Gone:
        raise NotFound(f"Encounter/{encounter_id} was deleted") from None
    reference = str((content.get("subject") or {}).get("reference") or "")
    patient = reference.rsplit("/", 1)[-1] if reference else None
    report = coding(request).validate(user.caller, patient)
    review = next((r for r in report.reviews if r.case.encounter_id == encounter_id), None)
    if review is None:
        raise NotFound(f"Encounter/{encounter_id} is not visible to you")
    view = encounter_view(review, default_suggester(), default_codeset())
    return view, names(request, user.caller, [patient]).get(patient or "", patient or "(no patient)")


def _page(
    request: Request, user: User, view: EncounterView, name: str, form: CodingForm, status: int = 200
) -> Response:
    context: dict[str, Any] = {"view": view, "patient_name": name, "form": form}
    return render(request, "coding_encounter.html", context, status=status, user=user)


@router.get("/queues/coding/{encounter_id}")
def encounter(request: Request, encounter_id: str) -> Response:
    user = signed_in(request, CODING_ROLES)
    view, name = _encounter(request, user, encounter_id)
    return _page(request, user, view, name, CodingForm())


@router.post("/queues/coding/{encounter_id}")
async def assign(request: Request, encounter_id: str) -> Response:
    user = signed_in(request, CODING_ROLES)
    fields = await check_csrf(request, user.session)
    view, name = _encounter(request, user, encounter_id)
    form = read_form(view, fields, default_codeset())
    if form.errors:
        return _page(request, user, view, name, form, status=400)
    try:
        result = coding(request).assign(user.caller, encounter_id, form.codes)
    except (InvalidInput, Conflict) as exc:  # e.g. written by someone else meanwhile
        form.errors["extra"] = str(exc)
        return _page(request, user, view, name, form, status=409 if isinstance(exc, Conflict) else 400)
    user.session.notice = (
        f"Encounter coded: {' '.join(form.codes)}. New versions written of {', '.join(result.written)}."
    )
    return RedirectResponse(f"/queues/coding/{encounter_id}", status_code=303)


def _as_of(value: str) -> date:
    if not value:
        return _today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{value[:20]!r} is not a date (YYYY-MM-DD)") from None


@router.get("/queues/dnfb")
def dnfb_page(request: Request, page: int = 1, as_of: str = "") -> Response:
    user = signed_in(request, CODING_ROLES)
    day = _as_of(as_of[:10])
    ready, shown = coding(request).dnfb_page(user.caller, day, page, PAGE_SIZE)
    known = names(request, user.caller, [r.patient_id for r in shown.rows])
    return render(
        request,
        "dnfb.html",
        {
            "rows": [(r, known.get(r.patient_id or "", r.patient_id or "")) for r in shown.rows],
            "ready": ready,
            "as_of": day.isoformat(),
            "page": shown.page,
            "pages": shown.pages,
            "total": shown.total,
            "extra": f"&as_of={day.isoformat()}" if as_of else "",
        },
        user=user,
    )
