"""FHIR search parameters: the registry compiled from the spec and index-value extraction."""
