"""The chart's own read (``ChartService.chart``): each page reads only the types it shows, in
one audited access naming every resource returned, and shows exactly what the same sections
built from the whole ``$everything`` show (the old path is the oracle), on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from collections import defaultdict
from typing import Any

import pytest

from chartkeeper.chart import documents, results, service, summary
from chartkeeper.chart.sections import PAGE_TYPES
from chartkeeper.errors import NotFound
from chartkeeper.records import RecordService
from chartkeeper.records.paging import MAX_COUNT, PageRequest
from chartkeeper.security.audit import AuditTrail
from chartkeeper.security.audit_event import returned_resources
from chartkeeper.security.caller import Caller
from chartkeeper.security.ports import AccessEvent
from chartkeeper.security.scopes import ScopeSet

from .world import CHUNG_ID, World

Json = dict[str, Any]


class Recorder:
    """An AuditSink that keeps the events (and still writes them to the real trail)."""

    def __init__(self, trail: AuditTrail) -> None:
        self.trail = trail
        self.events: list[AccessEvent] = []

    def record(self, event: AccessEvent) -> None:
        self.events.append(event)
        self.trail.record(event)


def _setup(world: World, username: str = "rita") -> tuple[service.ChartService, Recorder, Caller]:
    recorder = Recorder(AuditTrail(world.store))
    charts = service.ChartService(RecordService(world.store, recorder))
    return charts, recorder, world.security.caller_for_user(username, "127.0.0.1")


def _everything(records: RecordService, caller: Caller, patient_id: str) -> dict[str, list[Json]]:
    """The old chart read: every page of $everything, by type."""
    by_type: dict[str, list[Json]] = defaultdict(list)
    cursor = None
    while True:
        page = records.everything(caller, patient_id, PageRequest(count=MAX_COUNT, cursor=cursor))
        for version in page.entries:
            if version.content is not None:
                by_type[version.res_type].append(version.content)
        cursor = page.next_cursor
        if cursor is None:
            return by_type


def test_each_page_shows_what_the_whole_compartment_would_show(world: World) -> None:
    charts, _, caller = _setup(world)
    every = _everything(charts.records, caller, CHUNG_ID)
    obs = every["Observation"]
    chart = charts.chart(caller, CHUNG_ID, "summary")
    assert chart.banner == summary.banner(every["Patient"][0])
    assert chart.problems == summary.problems(every["Condition"]) != []
    assert chart.medications == summary.medications(every["MedicationRequest"]) != []
    assert chart.allergies == summary.allergies(every["AllergyIntolerance"])
    assert chart.immunizations == summary.immunizations(every["Immunization"]) != []
    assert chart.visits == summary.visits(every["Encounter"]) != []
    assert chart.latest_results(10) == results.results(obs)[:10] and len(chart.latest_results(10)) == 10
    assert chart.trends == results.trends(obs) != []
    assert charts.chart(caller, CHUNG_ID, "results").results == results.results(obs)
    assert charts.chart(caller, CHUNG_ID, "encounters").visits == summary.visits(every["Encounter"])
    docs = every["DocumentReference"] + every["DiagnosticReport"]
    assert charts.chart(caller, CHUNG_ID, "documents").documents == documents.documents(docs) != []


def test_a_page_reads_only_its_types_in_one_audited_access(world: World) -> None:
    charts, recorder, caller = _setup(world)
    chart = charts.chart(caller, CHUNG_ID, "encounters")
    [event] = recorder.events
    assert (event.action, event.operation, event.outcome) == ("operation", "$everything", "success")
    assert event.query == "_type=Patient,Encounter" and event.patients == (CHUNG_ID,)
    types = {ref.split("/")[0] for ref in event.resources}
    assert types == {"Patient", "Encounter"}
    assert len(event.resources) == chart.resource_count == 1 + len(chart.visits)
    assert all("/_history/" in ref for ref in event.resources)  # each names the version shown
    with pytest.raises(LookupError):
        _ = chart.problems  # not read for this page, so not silently empty


def test_the_audit_record_lists_every_resource_of_the_summary(world: World) -> None:
    charts, recorder, caller = _setup(world)
    chart = charts.chart(caller, CHUNG_ID, "summary")
    stored = [v.content for v in world.store.iter_current("AuditEvent") if v.content]
    mine = [
        e for e in stored if base64.b64decode(_query(e) or "").startswith(b"_type=Patient,AllergyIntolerance")
    ]
    assert mine, "the summary's AuditEvent is in the store"
    named = returned_resources(mine[-1])
    assert len([n for n in named if n.startswith("Observation/")]) == len(chart._of("Observation"))
    assert not any(n.startswith(("Claim/", "ExplanationOfBenefit/", "AuditEvent/")) for n in named)
    assert len(recorder.events) == 1


def _query(event: Json) -> str | None:
    return next((x.get("query") for x in event.get("entity", []) if x.get("query")), None)


def test_scopes_limit_the_chart_in_the_sql(world: World) -> None:
    charts, recorder, auditor = _setup(world, "audrey")  # Patient, but no clinical types
    chart = charts.chart(auditor, CHUNG_ID, "summary")
    assert chart.banner.name == "Chung Haley"
    assert chart.resource_count == 1 and chart.problems == [] and chart.trends == []
    assert [r.split("/")[0] for r in recorder.events[0].resources] == ["Patient"]


def test_a_patient_outside_the_compartment_is_not_found_and_audited_as_denied(world: World) -> None:
    charts, recorder, _ = _setup(world)
    other = Caller(
        subject="client/app",
        kind="client",
        display="app",
        scopes=ScopeSet.parse("patient/*.rs"),
        patient="someone-else",
    )
    with pytest.raises(NotFound):
        charts.chart(other, CHUNG_ID, "summary")
    assert recorder.events[-1].outcome == "denied"
    with pytest.raises(NotFound):
        charts.chart(world.security.caller_for_user("rita", None), "no-such-patient", "banner")


def test_a_very_large_chart_keeps_the_newest_and_says_so(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    charts, _, caller = _setup(world)
    full = charts.chart(caller, CHUNG_ID, "encounters")
    monkeypatch.setattr(service, "MAX_CHART_RESOURCES", 5)
    cut = charts.chart(caller, CHUNG_ID, "encounters")
    assert cut.truncated and not full.truncated and cut.resource_count == 6
    assert cut._of("Encounter") == full._of("Encounter")[-5:]  # the five stored last
    assert PAGE_TYPES["banner"] == frozenset()
