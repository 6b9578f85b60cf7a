"""``chartkeeper ingest`` of HL7 v2 files: the shared samples, idempotence, ordering, atomicity."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chartkeeper.intake.hl7v2.mapping import map_message
from chartkeeper.intake.hl7v2.parse import decode, parse_message, split_messages
from chartkeeper.intake.service import ingest
from chartkeeper.store import hl7log
from chartkeeper.store.repository import Store

from conftest import SHARED_DATA
from hl7v2_samples import adt, oru

HL7_DIR = SHARED_DATA / "hl7v2"
EXPECTED = json.loads((HL7_DIR / "EXPECTED.json").read_text())["messages"]
_ADT = ("A01", "A02", "A03", "A04", "A05", "A06", "A07", "A08", "A09", "A10", "A11", "A13", "A14")
_ADT += ("A15", "A16", "A25", "A26", "A27", "A28", "A31", "A40", "A60")
SUPPORTED = (
    {f"ADT^{t}" for t in _ADT}
    | {f"SIU^{t}" for t in ("S12", "S13", "S14", "S15", "S16", "S17", "S26")}
    | {"ORU^R01", "MDM^T02", "MDM^T06", "MDM^T10", "VXU^V04", "ORM^O01", "OML^O21", "OMG^O19"}
    | {"PPR^PC1", "PPR^PC2", "BAR^P01"}
)
#: Files that are genuinely invalid, and the start of the reason each is rejected with.
INVALID = {
    "cdc-trusted-intermediary/Test/Message/empty.hl7": "the file is empty",
    "cdc-trusted-intermediary/Test/Message/msh_present_but_missing_all_fields.hl7": "MSH-2: the encoding characters are missing",
    "cdc-trusted-intermediary/Test/Message/msh_present_but_missing_msh-2.hl7": "MSH-2: '|Sen' are not four distinct",
    "cdc-trusted-intermediary/Test/Message/msh_present_but_missing_msh-9.hl7": "MSH-9: the message type is missing",
    "cdc-trusted-intermediary/Natus/001_Natus_ACK.hl7": "MSH-9: an ACK acknowledges a message",
    "cdc-trusted-intermediary/TN/001_TN_ORU_R01_LRI_annotated_for_transformation.hl7": "OBR: segment 6 starts with 'Remap OBR with OBR-4'",
    "cdc-trusted-intermediary/TX/001_TX_OML_O21.hl7": "OBR: segment 6 starts with 'panel AHIC^LN",
    "microsoft-fhir-converter/ORU-R01-01.hl7": "OBX-3: no observation identifier",
    # Misnamed: MSH-9 says ADT^A60 (allergies) but the content is a scheduling message.
    "microsoft-fhir-converter/SIU_12.hl7": "IAM: an ADT^A60 message needs at least one IAM segment (it carries SCH",
    "cdc-trusted-intermediary/CA/001_CA_OML_O21.hl7": "OBR: segment 6 has 'OBX|1|' inside a field: two segments joined",
    # A template: PID-7 and PID-8 hold the words DOB and SEX.
    "cdc-trusted-intermediary/Epic/001_Epic_ORM_O01.hl7": "PID-8: 'SEX' is not an administrative sex",
    # Test "translations" whose OBX-3 (what was observed) is empty.
    **{
        f"cdc-trusted-intermediary/Test/Orders/{name}_3_hl7_translation_final.hl7": "OBX-3: no observation identifier"
        for name in (
            "003_AL_OML_O21_NBS_Fully_Populated",
            "003_AL_ORM_O01_NBS_Fully_Populated",
            "005_AL_OML_O21_NBS_Incorrect_Units",
            "005_AL_ORM_O01_NBS_Incorrect_Units",
            "007_AL_ORM_O01_NBS_Missing_Required_Fields",
        )
    },
}


def _type(fact: dict[str, Any]) -> str:
    return f"{fact['message_code']}^{fact['trigger_event']}".strip("^")


def _clinical_count(store: Store) -> int:
    return sum(store.count_by_type().values())


def test_shared_samples_ingested_or_rejected_precisely(store: Store) -> None:
    report = ingest(store, [HL7_DIR], workers=0)
    reasons = dict(m.split(": ", 1) for m in report.messages)
    with store.reading() as conn:
        logged = {m.source: m for m in hl7log.messages(conn)}
    assert report.files == len(EXPECTED) + 1  # EXPECTED.json itself is skipped
    for fact in EXPECTED:
        path = str(HL7_DIR / fact["file"])
        if fact["file"] in INVALID:
            assert reasons[path].startswith(INVALID[fact["file"]]), (fact["file"], reasons[path])
            continue
        entry = logged[path]
        assert entry.control_id == fact["MSH-10_control_id"]
        if _type(fact) in SUPPORTED:
            assert entry.status in ("applied", "duplicate"), (fact["file"], reasons.get(path))
            assert entry.ack_code == "AA"
        else:
            assert entry.status == "rejected" and entry.ack_code == "AR"
            assert reasons[path].startswith(f"MSH-9: message type {_type(fact)} is not supported")
    for fact in EXPECTED:
        path = str(HL7_DIR / fact["file"])
        if fact.get("PID-5_first_repetition") and logged.get(path) and logged[path].status == "applied":
            _assert_patient_name(store, HL7_DIR / fact["file"], fact["PID-5_first_repetition"])
    counts = store.count_by_type()
    assert counts["Observation"] > 1000 and counts["DiagnosticReport"] >= 10
    assert report.rejected == len(INVALID) + sum(
        1 for f in EXPECTED if f["file"] not in INVALID and _type(f) not in SUPPORTED
    )


def _assert_patient_name(store: Store, path: Path, pid5: str) -> None:
    """The file's patient got its PID-5 family name, unless a newer message about them came after."""
    mapped = map_message(parse_message(next(split_messages(decode(path.read_bytes())))))
    [patient] = [r for r in mapped.resources if r["resourceType"] == "Patient"]
    versions = [v.content for v in store.history("Patient", patient["id"]) if v.content]
    families = {n.get("family") for v in versions for n in v.get("name", [])}
    family = pid5.split("^")[0].split("&")[0]
    with store.reading() as conn:
        stored_time = hl7log.resource_times(conn, [("Patient", patient["id"])])[("Patient", patient["id"])]
    assert family in families or stored_time > mapped.message_time, (path.name, family)


def test_shared_sample_values(store: Store) -> None:
    ingest(store, [HL7_DIR / "microsoft-fhir-converter"], workers=0)
    lab = [
        o
        for o in store.iter_current("Observation")
        if o.content and o.content["code"]["coding"][0]["code"] == "20509-6"
    ]
    assert len(lab) == 1
    hemoglobin = lab[0].content
    assert hemoglobin is not None
    assert hemoglobin["valueQuantity"] == {"value": 13.4, "unit": "g/l-1"}
    assert hemoglobin["interpretation"][0]["coding"][0]["code"] == "N"
    assert hemoglobin["effectiveDateTime"] == "2014-10-06T08:30:00+07:00"
    encounters = {e.content["status"] for e in store.iter_current("Encounter") if e.content}
    assert encounters  # ADT A01…A13 of the same visit: the last one applied wins
    patients = [p.content for p in store.iter_current("Patient") if p.content]
    everyman = [p for p in patients if any(i["value"] == "PATID1234" for i in p.get("identifier", []))]
    # ADT, VXU, MDM, order and scheduling messages about him are one Patient; A06, A07, A09 and
    # A10 send PATID1234 under another assigning authority (ADT1), so without the MPI's
    # review that is another patient's record.
    authorities = sorted(p["identifier"][0]["assigner"]["display"] for p in everyman)
    assert authorities == ["ADT1", "test1"]
    everyman = [p for p in everyman if p["identifier"][0]["assigner"]["display"] == "test1"]
    assert {k: v for k, v in everyman[0]["identifier"][1].items() if k != "type"} == {
        "value": "123456789",
        "assigner": {"display": "USSSA"},
    }
    with store.reading() as conn:
        merges = hl7log.merge_requests(conn)
    assert len(merges) == 1 and merges[0]["status"] == "recorded"
    assert merges[0]["prior_identifiers"][0]["value"] == "56789"


def _write(tmp_path: Path, name: str, *messages: str) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(m.replace("\r", "\n") for m in messages))
    return path


def test_encounter_discharge_time_stored(store: Store, tmp_path: Path) -> None:
    ingest(
        store,
        [
            _write(
                tmp_path,
                "a.hl7",
                adt("A01", "X1"),
                adt("A03", "X2", "20240105180000+0000", discharge="20240105173000+0000"),
            )
        ],
        workers=0,
    )
    [encounter] = [e.content for e in store.iter_current("Encounter")]
    assert encounter is not None
    assert encounter["status"] == "finished" and encounter["period"]["end"] == "2024-01-05T17:30:00+00:00"


def test_same_control_id_applied_once(store: Store, tmp_path: Path) -> None:
    first = ingest(store, [_write(tmp_path, "a.txt", oru("R1"))], workers=0)
    again = ingest(store, [_write(tmp_path, "b.txt", oru("R1", value="999"))], workers=0)
    assert sum(first.summary.created.values()) > 0
    assert sum(again.summary.created.values()) == 0 and sum(again.summary.updated.values()) == 0
    values = [
        o.content["valueQuantity"]["value"]
        for o in store.iter_current("Observation")
        if o.content and "valueQuantity" in o.content
    ]
    assert 999 not in values
    with store.reading() as conn:
        statuses = [m.status for m in hl7log.messages(conn)]
    assert statuses == ["applied", "duplicate"]


def test_older_message_never_overwrites_newer(store: Store, tmp_path: Path) -> None:
    newer = adt("A08", "N1", "20240301000000+0000", family="Newname")
    older = adt("A08", "O1", "20240201000000+0000", family="Oldname")
    ingest(store, [_write(tmp_path, "n.hl7", newer)], workers=0)
    ingest(store, [_write(tmp_path, "o.hl7", older)], workers=0)
    [patient] = [p.content for p in store.iter_current("Patient")]
    assert patient is not None and patient["name"][0]["family"] == "Newname"
    ingest(
        store,
        [_write(tmp_path, "l.hl7", adt("A08", "L1", "20240401000000+0000", family="Latest"))],
        workers=0,
    )
    [patient] = [p.content for p in store.iter_current("Patient")]
    assert patient is not None and patient["name"][0]["family"] == "Latest"


def test_a_bad_message_in_a_file_writes_nothing_of_itself(store: Store, tmp_path: Path) -> None:
    bad = oru("B1", mrn="77").replace("||250|", "||2x0|")
    path = _write(tmp_path, "batch.hl7", "FHS|^~\\&|LAB", oru("G1"), bad, oru("G2", mrn="3"))
    report = ingest(store, [path], workers=0)
    assert report.rejected == 1 and report.messages == [f"{path}#2: OBX-5: '2x0' is not a number"]
    patients = [p.content["identifier"][0]["value"] for p in store.iter_current("Patient") if p.content]
    assert sorted(patients) == ["MRN-1", "MRN-3"]  # nothing of MRN-77's message was written
    item = store.quarantine_get(report.quarantined[0])
    assert item.format == "hl7v2" and b"2x0" in (item.content or b"")


@pytest.mark.parametrize("workers", [2])
def test_ingest_in_worker_processes(sqlite_store: Store, workers: int) -> None:
    report = ingest(sqlite_store, [HL7_DIR / "microsoft-fhir-converter"], workers=workers)
    assert report.summary.created["Patient"] >= 5
    assert _clinical_count(sqlite_store) > 0


def test_group_apply_keeps_the_rules(store: Store) -> None:
    """The MLLP writer's group path: duplicates in and across groups, newest message wins."""
    from chartkeeper.intake.hl7v2.batch import apply_batch
    from chartkeeper.intake.hl7v2.process import prepare_v2

    def prep(text: str) -> Any:
        return prepare_v2(text.encode(), "group")

    newer = adt("A08", "G1", "20240301000000+0000", family="Newer")
    older = adt("A08", "G2", "20240201000000+0000", family="Older")
    with store.transaction() as conn:
        first = apply_batch(conn, [prep(newer), prep(older), prep(newer)])
    assert [o.status for o in first] == ["applied", "applied", "duplicate"]
    with store.transaction() as conn:
        second = apply_batch(
            conn, [prep(newer), prep(adt("A08", "G3", "20240101000000+0000", family="Oldest"))]
        )
    assert [o.status for o in second] == ["duplicate", "applied"]
    [patient] = [p.content for p in store.iter_current("Patient")]
    assert patient is not None and patient["name"][0]["family"] == "Newer"
    with store.transaction() as conn:
        mixed = apply_batch(conn, [prep(oru("G4")), prep(oru("G5").replace("||250|", "||x|"))])
    assert [o.ack_code for o in mixed] == ["AA", "AE"]


def test_cli_ingest_detects_hl7_by_content_and_name(sqlite_database_url: str, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from chartkeeper.cli.main import app

    tmp_path = tmp_path / "in"
    tmp_path.mkdir()
    (tmp_path / "results.txt").write_text(oru("T1").replace("\r", "\r\n"))
    (tmp_path / "batch.dat").write_text("BHS|^~\\&|LAB\r" + oru("T2", mrn="2") + "BTS|1\r")
    result = CliRunner().invoke(
        app, ["--db", sqlite_database_url, "ingest", "--json", "--workers", "1", str(tmp_path)]
    )
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["files"] == 2 and out["rejected"] == 0
    assert out["by_type"]["DiagnosticReport"]["created"] == 2
    (tmp_path / "bad.hl7").write_text(oru("T3").replace("19700214|F", "19991399|F"))
    again = CliRunner().invoke(app, ["--db", sqlite_database_url, "ingest", "--workers", "1", str(tmp_path)])
    assert again.exit_code == 1
    assert "bad.hl7: PID-7: '19991399' is not a date" in again.stderr
