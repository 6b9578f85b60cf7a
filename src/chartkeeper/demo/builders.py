"""FHIR JSON pieces shared by every part of the generator: CodeableConcepts and transaction Bundles.

Constant coded fragments are built once with :func:`cc` and shared by every resource that uses them
(the yielded resources are read-only; deep-copy before mutating nested structures). References,
values, dates and texts are always fresh per resource.
"""

from __future__ import annotations

from typing import Any

from chartkeeper.demo.truth import DemoTruth

Resource = dict[str, Any]


def cc(system: str, code: str, display: str, text: str | None = None) -> Resource:
    """A CodeableConcept with a single coding."""
    concept: Resource = {"coding": [{"system": system, "code": code, "display": display}]}
    if text is not None:
        concept["text"] = text
    return concept


def transaction(bid: str, resources: list[Resource], truth: DemoTruth | None) -> Resource:
    """A transaction Bundle PUTting ``resources`` (counted into ``truth`` when given)."""
    if truth is not None:
        counts = truth.resource_counts
        for res in resources:
            rt = res["resourceType"]
            counts[rt] = counts.get(rt, 0) + 1
    return {
        "resourceType": "Bundle",
        "id": bid,
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:" + (rid := res["id"]),
                "resource": res,
                "request": {"method": "PUT", "url": res["resourceType"] + "/" + rid},
            }
            for res in resources
        ],
    }
