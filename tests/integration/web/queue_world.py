"""Work for the queue pages on top of a workspace world: planted duplicate registrations (one
pair with a hostile family name) scored by a real MPI scan, and a coder and a release-of-
information user (a role that works no queue)."""

from __future__ import annotations

from dataclasses import dataclass

from chartkeeper.coding.service import CodingService
from chartkeeper.mpi.service import MpiService
from chartkeeper.security.caller import local_caller
from chartkeeper.security.ports import MemoryAuditSink
from mpi_people import population, write

from .world import PASSWORD, World

QUEUE_USERS = {"cora": ["coder"], "rory": ["roi"]}
#: planted on p0000 and its re-registration d0000: the review page must show it as text
HOSTILE_DUP_FAMILY = "Dup<script>window.__pwned=4</script><b>Bold</b>"


@dataclass
class QueueWork:
    world: World
    hostile_pair: tuple[str, str]


def add_queue_work(world: World) -> QueueWork:
    """Write 60 people and 6 re-registrations, scan them, add the queue users."""
    people, _truth = population(60, 6)
    by_id = {p["id"]: p for p in people}
    for pid in ("p0000", "d0000"):
        by_id[pid]["name"] = [{"use": "official", "family": HOSTILE_DUP_FAMILY, "given": ["Mallory"]}]
    write(world.store, people)
    MpiService(world.store, MemoryAuditSink()).scan(local_caller("test"))
    for name, roles in QUEUE_USERS.items():
        world.security.accounts.add_user(name, roles, display=name.title(), password=PASSWORD)
    return QueueWork(world, ("d0000", "p0000"))


def codable_encounter(world: World, patient: str) -> tuple[str, str, str]:
    """(encounter id, Condition id, the top suggested code) of a queued encounter of ``patient``
    whose first diagnosis is uncoded and has a suggestion."""
    items = CodingService(world.store, MemoryAuditSink()).queue(local_caller("test"), patient)
    for item in items:
        dxs = [d for d in item.diagnoses if d["resource"].startswith("Condition/")]
        if len(dxs) == 1 and not dxs[0]["icd10"] and dxs[0].get("suggestions"):
            return item.encounter_id, dxs[0]["resource"].split("/", 1)[1], dxs[0]["suggestions"][0]["code"]
    raise AssertionError(f"no codable encounter for Patient/{patient}")
