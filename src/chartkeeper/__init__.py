"""Chartkeeper: health information management on one versioned FHIR R4 record store."""

__version__ = "0.1.0"
