"""What the real-time MPI tests share: a trained model, a seeded store, duplicates, HL7 files."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from chartkeeper.fhir.instant import now_us
from chartkeeper.mpi import index
from chartkeeper.mpi.service import MpiService
from chartkeeper.mpi.settings import DESIGN_VERSION
from chartkeeper.security.caller import local_caller
from chartkeeper.security.ports import MemoryAuditSink
from chartkeeper.store import mpi_index
from chartkeeper.store.repository import Store
from mpi_people import population, write

from hl7v2_samples import adt

CALLER = local_caller("clerk")


def train_model(path: Path) -> dict[str, Any]:
    """A model trained on the test population (once per test module: training dominates)."""
    store = Store.open(f"sqlite:///{path}")
    store.init()
    people, _truth = population(120, 10)
    write(store, people)
    _version, trained = index.train_and_store(store, list(index.current_records(store)), "test", 200_000)
    store.close()
    return trained


def seed(store: Store, model: dict[str, Any]) -> tuple[list[dict[str, Any]], MpiService]:
    """The population written, ``model`` stored, everyone indexed (the batch path)."""
    people, _truth = population(120, 10)
    write(store, people)
    with store.transaction() as conn:
        mpi_index.save_model(
            conn,
            design_version=DESIGN_VERSION,
            now=now_us(),
            created_by="test",
            record_count=130,
            model=model,
            summary={},
        )
    service = MpiService(store, MemoryAuditSink())
    service.match_patients(CALLER, [p["id"] for p in people])
    return people, service


def typo(original: dict[str, Any], new_id: str) -> dict[str, Any]:
    """A re-registration: new id and MRN, the family name mistyped."""
    dup = copy.deepcopy(original)
    dup["id"] = new_id
    dup["identifier"] = [{"system": "urn:oid:1.2.3.9", "value": f"MRN-{new_id}"}, original["identifier"][1]]
    dup["name"][0]["family"] = original["name"][0]["family"] + "e"
    return dup


def queued(service: MpiService) -> set[tuple[str, str]]:
    return {(i.a, i.b) for i in service.queue(CALLER, limit=500)}


def pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def hl7_file(folder: Path, name: str, *messages: str) -> Path:
    path = folder / name
    path.write_text("\n".join(m.replace("\r", "\n") for m in messages))
    return path


def adams(pid: str = "adams-earlier") -> dict[str, Any]:
    """The person of ``hl7v2_samples.ADT``'s PID, registered earlier under another id."""
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": "urn:oid:1.2.3.9", "value": "OTHER-7"}],
        "name": [{"family": "Adams", "given": ["Pat"]}],
        "birthDate": "1980-01-01",
        "gender": "male",
        "address": [{"line": ["1 Elm"], "city": "Town", "state": "CA", "postalCode": "90000"}],
        "telecom": [{"system": "phone", "value": "555-0101", "use": "home"}],
    }


def prior_adt(cid: str) -> str:
    """An A04 registering the prior patient that ``a40`` merges away (MRN-OLD, "Adamz")."""
    return adt("A04", cid=cid, family="Adamz").replace("MRN-7^^^GH^MR", "MRN-OLD^^^GH^MR")


def a40(cid: str = "M1") -> str:
    """ADT^A40: MRN-OLD (prior) into MRN-7 (surviving, ``hl7v2_samples.ADT``'s PID)."""
    return adt("A40", cid=cid).replace("PV1|", "MRG|MRN-OLD^^^GH^MR\rPV1|")
