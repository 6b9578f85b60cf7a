"""The FHIR RESTful interactions (http.html) as a plain-Python service: every interaction except
search. Shells (the FastAPI app under ``chartkeeper.api``) parse HTTP, call ``RecordService``
and render what it returns; scope checks, access filters and audit records happen here."""

from chartkeeper.records.models import HistoryPage, Saved
from chartkeeper.records.service import RecordService

__all__ = ["HistoryPage", "RecordService", "Saved"]
