"""HL7 v2 intake: parse (python-hl7), map to FHIR R4, record and apply, acknowledge, MLLP."""
