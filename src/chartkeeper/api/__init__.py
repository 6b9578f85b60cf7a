"""The FHIR R4 REST API shell (FastAPI): parses HTTP, calls ``RecordService``, renders FHIR JSON."""

from chartkeeper.api.app import create_app

__all__ = ["create_app"]
