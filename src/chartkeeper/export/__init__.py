"""Bulk export of the store as NDJSON in the FHIR Bulk Data layout."""
