"""ChartService: one patient's chart, its history and its documents, through the RecordService.

Everything is read with the caller's own identity, so the RecordService checks scopes and the
compartment and writes the audit record: opening a chart is one ``$everything`` AccessEvent,
downloading a document one ``read``. No SQL and no second path to the data.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from chartkeeper.chart import documents, results, summary
from chartkeeper.chart.models import Chart
from chartkeeper.chart.text import decode_attachment
from chartkeeper.errors import NotFound
from chartkeeper.records import RecordService
from chartkeeper.records.paging import MAX_COUNT, PageRequest
from chartkeeper.security.caller import Caller
from chartkeeper.store.models import StoredVersion

Json = dict[str, Any]
#: a chart larger than this is cut (and says so); 20 pages of $everything
MAX_CHART_RESOURCES = 20 * MAX_COUNT


@dataclass(frozen=True, slots=True)
class Download:
    filename: str
    content_type: str
    data: bytes


class ChartService:
    def __init__(self, records: RecordService) -> None:
        self.records = records

    def resources(self, caller: Caller, patient_id: str) -> list[Json]:
        """The patient's compartment (the Patient first), every page of ``$everything``."""
        found: list[Json] = []
        cursor: str | None = None
        while len(found) < MAX_CHART_RESOURCES:
            page = self.records.everything(caller, patient_id, PageRequest(count=MAX_COUNT, cursor=cursor))
            found.extend(v.content for v in page.entries if v.content is not None)
            cursor = page.next_cursor
            if cursor is None:
                break
        return found

    def chart(self, caller: Caller, patient_id: str) -> Chart:
        """Banner, summary lists, timeline, results, trends and documents in one read."""
        everything = self.resources(caller, patient_id)
        by_type: dict[str, list[Json]] = defaultdict(list)
        for res in everything:
            by_type[str(res.get("resourceType"))].append(res)
        patients = [p for p in by_type["Patient"] if p.get("id") == patient_id]
        if not patients:
            raise NotFound(f"Patient/{patient_id} is not known")
        observations = by_type["Observation"]
        return Chart(
            banner=summary.banner(patients[0]),
            problems=summary.problems(by_type["Condition"]),
            medications=summary.medications(by_type["MedicationRequest"]),
            allergies=summary.allergies(by_type["AllergyIntolerance"]),
            immunizations=summary.immunizations(by_type["Immunization"]),
            visits=summary.visits(by_type["Encounter"]),
            results=results.results(observations),
            trends=results.trends(observations),
            documents=documents.documents(by_type["DocumentReference"] + by_type["DiagnosticReport"]),
            resource_count=len(everything),
        )

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
