"""FHIR Bulk Data ``$export`` (system, Patient and Group level), run asynchronously.

``models`` holds the request and job shapes, ``jobs`` persists job state on disk, ``runner``
writes the NDJSON files and ``service`` is the one entry point shells call.
"""
