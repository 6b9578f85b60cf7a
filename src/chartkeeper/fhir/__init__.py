"""Knowledge of the FHIR R4 (4.0.1) specification; nothing here knows databases or HTTP."""
