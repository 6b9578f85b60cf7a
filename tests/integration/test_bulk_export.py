"""FHIR Bulk Data $export as a service: jobs run in the background, honour scopes, are audited."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from chartkeeper.demo.loader import load_demo
from chartkeeper.errors import Forbidden, InvalidInput, NotFound
from chartkeeper.export.bulk.jobs import JobFolder
from chartkeeper.export.bulk.models import ExportJob, ExportRequest
from chartkeeper.export.bulk.runner import run_job
from chartkeeper.export.bulk.service import BulkExportService, JobView
from chartkeeper.fhir.instant import now_us
from chartkeeper.intake.prepare import resource_write
from chartkeeper.security.caller import Caller, local_caller
from chartkeeper.security.ports import MemoryAuditSink
from chartkeeper.security.scopes import ScopeSet
from chartkeeper.store.repository import Store


def _caller(scopes: str, subject: str = "client/exporter", patient: str | None = None) -> Caller:
    return Caller(subject, "client", subject, ScopeSet.parse(scopes), patient=patient)


@pytest.fixture
def loaded(store: Store) -> Store:
    load_demo(store, 6, seed=2, workers=1)
    return store


@pytest.fixture
def service(loaded: Store, tmp_path: Path) -> Iterator[BulkExportService]:
    svc = BulkExportService(loaded, MemoryAuditSink(), tmp_path / "exports", max_per_file=25)
    yield svc
    svc.close()


def _wait(service: BulkExportService, caller: Caller, job_id: str) -> JobView:
    deadline = time.monotonic() + 60  # a guard against a hung job, not a speed assertion
    while True:
        view = service.status(caller, job_id)
        if not view.running or time.monotonic() > deadline:
            return view
        time.sleep(0.05)


def _exported(service: BulkExportService, caller: Caller, view: JobView) -> dict[str, list[dict]]:
    by_type: dict[str, list[dict]] = {}
    for output in view.job.output_files():
        lines = service.file(caller, view.job.job_id, output.name).read_bytes().splitlines()
        assert len(lines) == output.count <= 25
        by_type.setdefault(output.res_type, []).extend(orjson.loads(line) for line in lines)
    return by_type


def test_system_export_holds_every_current_resource_split_into_files(
    service: BulkExportService, loaded: Store
) -> None:
    caller = _caller("system/*.rs")
    view = _wait(service, caller, service.kick_off(caller, ExportRequest("system", "/fhir/$export")))
    assert view.job.state == "complete", view.job.error
    exported = _exported(service, caller, view)
    assert {t: len(rs) for t, rs in exported.items()} == loaded.count_by_type()
    assert any(o.name.endswith("-2.ndjson") for o in view.job.output_files())
    sample = exported["Patient"][0]
    assert sample == loaded.read("Patient", sample["id"])
    actions = [(e.action, e.outcome) for e in service.audit.events]  # type: ignore[attr-defined]
    assert actions[0] == ("export", "success") and ("export", "success") in actions[1:]


def test_type_and_since_filters(service: BulkExportService, loaded: Store) -> None:
    caller = _caller("system/*.rs")
    request = ExportRequest("system", "/fhir/$export?_type=Patient,Condition", types=("Patient", "Condition"))
    view = _wait(service, caller, service.kick_off(caller, request))
    assert set(_exported(service, caller, view)) == {"Patient", "Condition"}
    later = ExportRequest("system", "/fhir/$export?_since=now", types=("Patient",), since=now_us())
    view = _wait(service, caller, service.kick_off(caller, later))
    assert view.job.state == "complete" and view.job.output_files() == []


def test_patient_scopes_limit_the_export_to_that_patient(service: BulkExportService, loaded: Store) -> None:
    patient_id = next(loaded.iter_current("Patient")).res_id
    caller = _caller("patient/*.rs", subject="user/pat", patient=patient_id)
    view = _wait(service, caller, service.kick_off(caller, ExportRequest("patient", "/fhir/Patient/$export")))
    exported = _exported(service, caller, view)
    assert [p["id"] for p in exported["Patient"]] == [patient_id]
    assert "Organization" not in exported and "Practitioner" not in exported
    for res_type, resources in exported.items():
        for resource in resources:
            assert res_type == "Patient" or patient_id in orjson.dumps(resource).decode()


def test_group_export_covers_the_members_only(service: BulkExportService, loaded: Store) -> None:
    members = [v.res_id for v in loaded.iter_current("Patient")][:2]
    group = {
        "resourceType": "Group",
        "id": "cohort",
        "type": "person",
        "actual": True,
        "member": [{"entity": {"reference": f"Patient/{m}"}} for m in members],
    }
    loaded.apply([resource_write("Group", "cohort", group)])
    caller = _caller("system/*.rs")
    request = ExportRequest("group", "/fhir/Group/cohort/$export", group_id="cohort")
    view = _wait(service, caller, service.kick_off(caller, request))
    exported = _exported(service, caller, view)
    assert sorted(p["id"] for p in exported["Patient"]) == sorted(members)
    assert view.job.done == sum(len(v) for v in exported.values())
    with pytest.raises(NotFound):
        service.kick_off(caller, ExportRequest("group", "/fhir/Group/nope/$export", group_id="nope"))


def test_bad_requests_and_scopes_are_refused_and_audited(service: BulkExportService) -> None:
    with pytest.raises(InvalidInput, match="not a FHIR R4 resource type"):
        service.kick_off(_caller("system/*.rs"), ExportRequest("system", "x", types=("Pateint",)))
    with pytest.raises(InvalidInput, match="_outputFormat"):
        service.kick_off(_caller("system/*.rs"), ExportRequest("system", "x", output_format="text/csv"))
    narrow = _caller("system/Patient.rs")
    with pytest.raises(Forbidden):
        service.kick_off(narrow, ExportRequest("system", "x", types=("Observation",)))
    with pytest.raises(Forbidden):
        service.kick_off(_caller("system/*.r"), ExportRequest("system", "x"))
    outcomes = [e.outcome for e in service.audit.events]  # type: ignore[attr-defined]
    assert outcomes.count("denied") == 2


def test_only_the_requester_sees_the_job_and_files_cannot_escape_it(service: BulkExportService) -> None:
    owner, other = _caller("system/*.rs"), _caller("system/*.rs", subject="client/other")
    job_id = service.kick_off(owner, ExportRequest("system", "x", types=("Patient",)))
    _wait(service, owner, job_id)
    with pytest.raises(NotFound):
        service.status(other, job_id)
    with pytest.raises(NotFound):
        service.file(other, job_id, "Patient.ndjson")
    for name in ("../job.json", "job.json", "Patient.ndjson/../../x", "Observation.ndjson"):
        with pytest.raises(NotFound):
            service.file(owner, job_id, name)
    with pytest.raises(NotFound):
        service.status(owner, "../../etc")


def test_cancel_removes_the_job(service: BulkExportService) -> None:
    caller = local_caller()
    job_id = service.kick_off(caller, ExportRequest("system", "x"))
    service.cancel(caller, job_id)
    with pytest.raises(NotFound):
        service.status(caller, job_id)
    _wait_idle(service)
    assert not (service.folder.root / job_id).exists()


def _wait_idle(service: BulkExportService) -> None:
    service._executor.submit(lambda: None).result(timeout=60)


def test_a_cancel_midway_stops_the_runner(loaded: Store, tmp_path: Path) -> None:
    folder = JobFolder(tmp_path)
    job = ExportJob("a" * 32, "local/x", "x", "system", ["Observation"], None, 0, 0, None, None, None)
    folder.save(job)
    cancel = threading.Event()
    cancel.set()
    run_job(loaded, folder, job, cancel)
    assert not (tmp_path / job.job_id).exists()


def test_a_job_interrupted_by_a_restart_reports_an_error(loaded: Store, tmp_path: Path) -> None:
    folder = JobFolder(tmp_path)
    folder.save(ExportJob("b" * 32, "local/x", "x", "system", ["Patient"], None, 0, 0, None, None, None))
    svc = BulkExportService(loaded, MemoryAuditSink(), tmp_path)
    try:
        view = svc.status(local_caller("x"), "b" * 32)
        assert view.job.state == "error" and "stopped" in (view.job.error or "")
    finally:
        svc.close()


def test_finished_jobs_expire(loaded: Store, tmp_path: Path) -> None:
    svc = BulkExportService(loaded, MemoryAuditSink(), tmp_path, retention_us=0)
    try:
        caller = local_caller()
        first = svc.kick_off(caller, ExportRequest("system", "x", types=("Patient",)))
        _wait(svc, caller, first)
        _wait_idle(svc)  # the runner has returned (a finished-but-returning job is kept)
        svc.kick_off(caller, ExportRequest("system", "x", types=("Patient",)))
        with pytest.raises(NotFound):
            svc.status(caller, first)
    finally:
        svc.close()


def test_a_cancel_from_another_server_process_stops_the_runner(loaded: Store, tmp_path: Path) -> None:
    """``serve --workers N``: the DELETE may reach a process other than the runner's; it removes
    the folder, and the runner stops at its next save instead of writing the folder again."""
    folder = JobFolder(tmp_path)
    job = ExportJob("c" * 32, "local/x", "x", "system", ["Observation"], None, 0, 0, None, None, None)
    folder.save(job)
    folder.remove(job.job_id)  # the other process's cancel
    cancel = threading.Event()
    run_job(loaded, folder, job, cancel, max_per_file=5)
    assert cancel.is_set() and not (tmp_path / job.job_id).exists()


def test_a_job_another_live_process_runs_is_not_interrupted(loaded: Store, tmp_path: Path) -> None:
    import os
    import socket
    import subprocess
    import sys

    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        folder = JobFolder(tmp_path)
        for job_id, runner in (("d" * 32, f"{socket.gethostname()}:{other.pid}"), ("e" * 32, None)):
            job = ExportJob(job_id, "local/x", "x", "system", ["Patient"], None, 0, 0, None, None, None)
            job.runner = runner
            folder.save(job)
        svc = BulkExportService(loaded, MemoryAuditSink(), tmp_path)
        try:
            assert svc.status(local_caller("x"), "d" * 32).job.state == "in-progress"
            assert svc.status(local_caller("x"), "e" * 32).job.state == "error"
        finally:
            svc.close()
        svc2 = BulkExportService(loaded, MemoryAuditSink(), tmp_path / "mine")
        try:
            job_id = svc2.kick_off(local_caller("x"), ExportRequest("system", "x", types=("Patient",)))
            assert svc2.folder.load(job_id).runner == f"{socket.gethostname()}:{os.getpid()}"
        finally:
            svc2.close()
    finally:
        other.kill()
        other.wait()
