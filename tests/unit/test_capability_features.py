"""A CapabilityStatement built with bulk export must not leak export into later ones (the
per-type entries are cached and shared)."""

from __future__ import annotations

from chartkeeper.api.capability import capability_statement


def _patient_ops(statement: dict[str, object]) -> list[str]:
    rest = statement["rest"][0]  # type: ignore[index]
    patient = next(r for r in rest["resource"] if r["type"] == "Patient")
    return [o["name"] for o in patient["operation"]]


def test_features_do_not_leak_between_statements() -> None:
    assert _patient_ops(capability_statement("http://x/fhir", ("bulk-export",))) == [
        "validate",
        "everything",
        "export",
    ]
    assert _patient_ops(capability_statement("http://x/fhir", ("bulk-export",))) == [
        "validate",
        "everything",
        "export",
    ]
    assert _patient_ops(capability_statement("http://x/fhir")) == ["validate", "everything"]
