"""What the mappers of one message share: the message, its time zone, and the resources made so far.

Resources are keyed by (type, id), so a Practitioner named in PV1-7 and again in OBX-16 is
one resource: the stable ids make the second mention land on the first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chartkeeper.intake.hl7v2 import datatypes as dt
from chartkeeper.intake.hl7v2.errors import REQUIRED_FIELD_MISSING, V2Error
from chartkeeper.intake.hl7v2.parse import Segment, V2Message


@dataclass(slots=True)
class MergeRequest:
    """An A40 merge (prior patient → surviving patient), recorded until the MPI performs it."""

    surviving_patient_id: str
    prior_patient_id: str
    prior_identifiers: list[dict[str, Any]]


@dataclass(slots=True)
class MapContext:
    message: V2Message
    offset: str  # the time zone for times sent without one (MSH-7's, else UTC)
    message_time: int  # MSH-7 in microseconds since the epoch (orders messages)
    resources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    patient_id: str | None = None
    encounter_id: str | None = None
    merge: MergeRequest | None = None

    def add(self, resource: dict[str, Any]) -> dict[str, str]:
        """Keep ``resource`` (the first one wins for a repeated id); return a reference to it."""
        key = (resource["resourceType"], resource["id"])
        self.resources.setdefault(key, resource)
        return {"reference": f"{key[0]}/{key[1]}"}

    def patient_ref(self) -> dict[str, str]:
        if self.patient_id is None:
            raise V2Error("PID", None, "the message has no PID segment", "AE", REQUIRED_FIELD_MISSING)
        return {"reference": f"Patient/{self.patient_id}"}

    def encounter_ref(self) -> dict[str, str] | None:
        return {"reference": f"Encounter/{self.encounter_id}"} if self.encounter_id else None

    def dtm(self, seg: Segment, n: int, comp: int = 1) -> dt.DateTimeV2 | None:
        return dt.dtm(seg, n, self.offset, comp)


def practitioner(ctx: MapContext, rep: list[list[str]]) -> dict[str, str] | None:
    """XCN → a Practitioner (id from XCN-1 + assigning authority XCN-9, else from the name)."""
    value = rep[0][0].strip() if rep and rep[0] else ""
    name = dt.human_name(rep, start=2)
    if not value and name is None:
        return None
    resource: dict[str, Any] = {"resourceType": "Practitioner"}
    if value:
        ident: dict[str, Any] = {"value": value}
        namespace, universal = dt.authority(rep, 9)
        system = dt.system_uri(namespace, universal)
        if system:
            ident["system"] = system
        elif namespace:
            ident["assigner"] = {"display": namespace}
        resource["identifier"] = [ident]
        resource["id"] = dt.stable_id("Practitioner", universal or namespace, value)
    else:
        resource["id"] = dt.stable_id("Practitioner-name", repr(name))
    if name is not None:
        resource["name"] = [name]
    return ctx.add(resource)


def location(ctx: MapContext, seg: Segment, n: int) -> dict[str, str] | None:
    """PL (point of care^room^bed^facility …) → a Location named after its parts."""
    reps = seg.reps(n)
    if not reps:
        return None
    rep = reps[0]
    parts = [rep[i][0].strip() for i in (3, 0, 1, 2) if i < len(rep) and rep[i] and rep[i][0].strip()]
    if not parts:
        return None
    resource = {
        "resourceType": "Location",
        "id": dt.stable_id("Location", *parts),
        "name": " ".join(parts),
        "mode": "instance",
    }
    return ctx.add(resource)
