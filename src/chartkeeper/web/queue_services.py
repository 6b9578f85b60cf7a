"""The services the queue pages call, as installed on the app, and the patient-name look-up.

Names for a list page come from one FHIR search (``Patient?_id=a,b,...``) with the person's
own Caller: one audited access naming the patients shown, instead of a read per row.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import Request

from chartkeeper.coding.service import CodingService
from chartkeeper.errors import ChartkeeperError
from chartkeeper.mpi.service import MpiService
from chartkeeper.records import RecordService
from chartkeeper.records.search import SearchService
from chartkeeper.security.caller import Caller
from chartkeeper.web.work_views import display_name

_ID_BATCH = 100


def mpi(request: Request) -> MpiService:
    service: MpiService = request.app.state.mpi_review
    return service


def coding(request: Request) -> CodingService:
    service: CodingService = request.app.state.coding
    return service


def records(request: Request) -> RecordService:
    service: RecordService = request.app.state.queue_records
    return service


def names(request: Request, caller: Caller, ids: Iterable[str | None]) -> dict[str, str]:
    """Patient id -> display name, for the ids the caller may see (others are left out)."""
    wanted = sorted({i for i in ids if i})
    search: SearchService | None = getattr(request.app.state, "search", None)
    found: dict[str, str] = {}
    if search is None or not wanted:
        return found
    for start in range(0, len(wanted), _ID_BATCH):
        chunk = wanted[start : start + _ID_BATCH]
        params = [("_id", ",".join(chunk)), ("_count", str(len(chunk))), ("_elements", "name")]
        try:
            bundle = search.search(caller, "Patient", params, base="")
        except ChartkeeperError:  # no Patient search for this caller: the ids are shown alone
            return found
        for entry in bundle.get("entry") or []:
            resource = entry.get("resource") or {}
            if resource.get("id"):
                found[str(resource["id"])] = display_name(resource)
    return found
