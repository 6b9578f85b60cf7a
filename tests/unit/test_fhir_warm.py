"""``fhir.warm.warm_up`` builds, before a server process serves, what its requests would
otherwise build on first use."""

from __future__ import annotations

from chartkeeper.fhir.search import extract
from chartkeeper.fhir.search.params import resource_types
from chartkeeper.fhir.warm import warm_up


def test_warm_up_builds_every_types_index_plan() -> None:
    extract._plans.clear()
    count = warm_up()
    assert count >= len(resource_types()) >= 140
    assert resource_types() <= set(extract._plans)
    assert extract._plans["AuditEvent"] is not None  # every audited request indexes one
