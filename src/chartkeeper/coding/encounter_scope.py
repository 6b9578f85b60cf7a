"""What ``assign`` reads to code one encounter: its patient's compartment, not everyone.

Coding an encounter needs the case ``Snapshot.case`` builds for it: the encounter, the Conditions
it lists or that point at it, the Claims whose items point at it (and the Conditions they list)
and its Patient. In a well-formed record those are all in the encounter's patient compartment,
one indexed read. When one of them is elsewhere (a reference that leaves the compartment and
resolves, or a Condition or Claim of another compartment pointing at the encounter, found
through the reference search index) or the encounter is in no compartment, everything the
caller may see is read, as before, so the case and what ``assign`` writes stay the same.
"""

from __future__ import annotations

from chartkeeper.coding.cases import Snapshot, ref_id
from chartkeeper.security.caller import Caller
from chartkeeper.store import coding_review as sql
from chartkeeper.store.repository import Store

#: The reference search parameters through which another resource makes itself part of a case.
_POINTING_AT_ENCOUNTER = (("Condition", "encounter"), ("Claim", "encounter"))


def encounter_snapshot(store: Store, caller: Caller, encounter_id: str) -> Snapshot:
    """The resources ``caller`` may see that the case of ``encounter_id`` reads (more is fine);
    an empty Snapshot when the caller cannot see the encounter."""
    access = caller.access_filter()
    row = store.current_row("Encounter", encounter_id)
    if row is None or row.deleted or not access.allows("Encounter", encounter_id, row.patient_id):
        return Snapshot()
    if row.patient_id is None:
        return Snapshot.load(store, caller)
    snap = Snapshot.load(store, caller, row.patient_id)
    if encounter_id not in snap.encounters or _reaches_out(store, caller, snap, encounter_id, row.patient_id):
        return Snapshot.load(store, caller)
    return snap


def _reaches_out(store: Store, caller: Caller, snap: Snapshot, encounter_id: str, compartment: str) -> bool:
    access = caller.access_filter()
    wanted = _forward_refs(snap, encounter_id)
    with store.reading() as conn:
        found = sql.locate(conn, wanted)
        if any(access.allows(t, i, c or None) for (t, i), c in found.items()):
            return True
        pointing = sql.referrers(conn, ("Encounter", encounter_id), _POINTING_AT_ENCOUNTER, access)
    return any(c != compartment for _t, _i, c in pointing)


def _forward_refs(snap: Snapshot, encounter_id: str) -> set[tuple[str, str]]:
    """(type, id) the encounter's case would read but the compartment does not hold."""
    enc = snap.encounters[encounter_id]
    out: set[tuple[str, str]] = set()
    patient = ref_id(enc.get("subject"))
    if patient and patient not in snap.patients:
        out.add(("Patient", patient))
    condition_refs = [entry.get("condition") for entry in enc.get("diagnosis", []) or []]
    for claim in snap.claims.values():
        items = claim.get("item", []) or []
        if any(ref_id(r) == encounter_id for item in items for r in item.get("encounter", []) or []):
            dxs = claim.get("diagnosis", []) or []
            condition_refs += [dx["diagnosisReference"] for dx in dxs if "diagnosisReference" in dx]
    for ref in condition_refs:
        cid = ref_id(ref)
        if cid and cid not in snap.conditions:
            out.add(("Condition", cid))
    return out
