"""Turning one valid resource into the ResourceWrite the writer applies (ingest and REST API)."""

from __future__ import annotations

from typing import Any

import orjson

from chartkeeper.fhir.resource import fingerprint, without_server_meta
from chartkeeper.fhir.search.extract import extract_index_values
from chartkeeper.store.models import ResourceWrite
from chartkeeper.store.writer import index_rows


def resource_write(res_type: str, res_id: str, resource: dict[str, Any]) -> ResourceWrite:
    """Serialize, fingerprint and index one valid resource for the writer."""
    stored = without_server_meta(resource)
    index = extract_index_values(stored)
    patient = index.compartment_patients[0] if index.compartment_patients else None
    return ResourceWrite(
        res_type=res_type,
        res_id=res_id,
        content=orjson.dumps(stored).decode(),
        fingerprint=fingerprint(stored),
        index=index_rows(res_type, index),
        patient_id=patient,
    )
