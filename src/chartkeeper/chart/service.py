"""ChartService: one patient's chart, its history and its documents, with the caller's identity.

Opening a chart page is one audited read of the Patient and of the compartment resources of
the types that page shows (``sections.PAGE_TYPES``), in one snapshot, with the caller's
scopes and compartment applied in the SQL: the AuditEvent is the one ``$everything`` records
(action ``operation``, ``$everything``, query ``_type=...``), naming every resource returned,
so the access log reads the same for the chart and the API. Downloading a document is one
audited ``read``. Nothing is read that the page does not show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chartkeeper.chart import documents
from chartkeeper.chart.sections import PAGE_TYPES, Chart
from chartkeeper.chart.text import decode_attachment
from chartkeeper.errors import NotFound
from chartkeeper.records import RecordService, ops
from chartkeeper.records.audit import audited
from chartkeeper.records.paging import PageRequest
from chartkeeper.security.caller import Caller
from chartkeeper.security.scopes import Action
from chartkeeper.store import compartment
from chartkeeper.store.models import StoredVersion

Json = dict[str, Any]
#: a page reads at most this many resources (the newest); the chart says when it was cut
MAX_CHART_RESOURCES = 20_000


@dataclass(frozen=True, slots=True)
class Download:
    filename: str
    content_type: str
    data: bytes


class ChartService:
    def __init__(self, records: RecordService) -> None:
        self.records = records

    def chart(self, caller: Caller, patient_id: str, page: str = "summary") -> Chart:
        """The banner and what chart page ``page`` (a key of ``PAGE_TYPES``) shows."""
        types = PAGE_TYPES[page]
        query = "_type=" + ",".join(["Patient", *sorted(types)])
        records = self.records
        with audited(records.audit, caller, "operation", query=query, operation="$everything") as trail:
            ctx = ops.Ctx(records.store, caller, trail, records.matcher)
            with records.store.reading() as conn:
                patient = ops.read(ctx, conn, "Patient", patient_id)  # may it be seen at all?
                access = caller.access_filter(Action.READ)
                found = compartment.members(conn, patient_id, types, access, MAX_CHART_RESOURCES + 1)
            truncated = len(found) > MAX_CHART_RESOURCES
            found = found[-MAX_CHART_RESOURCES:]
            for member in found:
                trail.touch(member.res_type, member.res_id, member.version_id)
            trail.patients[patient_id] = None
        if patient.content is None:
            raise NotFound(f"Patient/{patient_id} is not known")
        return Chart(patient.content, [m.content for m in found], types, truncated=truncated)

    def history(self, caller: Caller, patient_id: str, count: int = 50) -> list[StoredVersion]:
        """The Patient record's versions, newest first (who changed it is in the audit trail)."""
        return self.records.history(caller, "Patient", patient_id, PageRequest(count=count)).entries

    def download(self, caller: Caller, res_type: str, res_id: str, index: int) -> Download:
        """One inline attachment of a DocumentReference or DiagnosticReport, as stored."""
        if res_type not in ("DocumentReference", "DiagnosticReport"):
            raise NotFound(f"{res_type} has no downloadable attachments")
        stored = self.records.read(caller, res_type, res_id)
        found = documents.attachments(stored.content or {})
        if not 0 <= index < len(found):
            raise NotFound(f"{res_type}/{res_id} has no attachment {index}")
        attachment = found[index]
        data = decode_attachment(attachment)
        if data is None:
            raise NotFound(f"{res_type}/{res_id} attachment {index} has no inline data")
        content_type = str(attachment.get("contentType", "application/octet-stream"))
        name = f"{res_type}-{res_id}-{index}"
        return Download(name, content_type, data)
