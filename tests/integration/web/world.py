"""A workspace on a real store for the web tests: users of each role, a hostile patient and
note, a clinical note for a Synthea patient, a quarantined item; the production app."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

import orjson
from fastapi import FastAPI

from chartkeeper.api.app import production_app
from chartkeeper.config import Settings
from chartkeeper.intake.service import ingest
from chartkeeper.records import RecordService
from chartkeeper.security.audit import AuditTrail
from chartkeeper.security.caller import local_caller
from chartkeeper.security.service import SecurityService
from chartkeeper.store.repository import Store

PASSWORD = "correct horse battery"
#: username -> roles
USERS = {
    "rita": ["clerk", "integrator"],  # records staff who also works the intake queue
    "carl": ["clerk"],
    "ada": ["admin"],
    "audrey": ["auditor"],
    "locky": ["clerk"],  # the lockout test's victim
}
CHUNG_ID = "010fd829-1ef3-49c9-98c4-df7561709bc7"  # Chung Haley in ../shared/data/synthea-r4
HOSTILE_ID = "hostile-1"
HOSTILE_FAMILY = "Evil<script>window.__pwned=1</script><b>Bold</b>"
HOSTILE_NOTE = (
    'Note <script>window.__pwned=2</script><img src=x onerror="window.__pwned=3"> <b>not bold</b> & done'
)
NOTE_TEXT = "Progress note: HbA1c trending down since metformin was started. Continue."


#: a bundle whose Observation points to a patient not yet in the store: quarantined until
#: Patient/late-1 arrives, then a retry takes it in
LATE_BUNDLE = {
    "resourceType": "Bundle",
    "type": "transaction",
    "entry": [
        {
            "fullUrl": "urn:uuid:6f1c1c2e-0d5e-4c53-9d55-1f5b6d0b7a01",
            "resource": {
                "resourceType": "Observation",
                "status": "final",
                "code": {"text": "Weight"},
                "subject": {"reference": "Patient/late-1"},
                "valueQuantity": {"value": 70, "unit": "kg"},
            },
            "request": {"method": "POST", "url": "Observation"},
        }
    ],
}


@dataclass
class World:
    store: Store
    app: FastAPI
    security: SecurityService
    quarantined_pk: int


def _note(doc_id: str, patient_id: str, body: str, title: str) -> dict[str, object]:
    return {
        "resourceType": "DocumentReference",
        "id": doc_id,
        "status": "current",
        "type": {"text": title},
        "subject": {"reference": f"Patient/{patient_id}"},
        "date": "2020-05-04T10:00:00Z",
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain",
                    "data": base64.b64encode(body.encode()).decode(),
                    "title": title,
                }
            }
        ],
    }


def build(store: Store, tmp: Path, synthea: list[Path], idle_timeout: float | None = None) -> World:
    """Ingest ``synthea``, add users, hostile content and a quarantined item; the app."""
    ingest(store, synthea, workers=1)
    security = SecurityService(store, AuditTrail(store))
    security.initialize()
    for name, roles in USERS.items():
        security.accounts.add_user(name, roles, display=name.title(), password=PASSWORD)
    records = RecordService(store, AuditTrail(store))
    op = local_caller("test")
    records.update(
        op,
        "Patient",
        HOSTILE_ID,
        {
            "resourceType": "Patient",
            "id": HOSTILE_ID,
            "name": [{"family": HOSTILE_FAMILY, "given": ["Mallory"]}],
            "gender": "female",
            "birthDate": "1980-01-02",
        },
    )
    records.update(
        op,
        "DocumentReference",
        "hostile-note",
        _note("hostile-note", HOSTILE_ID, HOSTILE_NOTE, "Hostile note"),
    )
    records.update(
        op, "DocumentReference", "chung-note", _note("chung-note", CHUNG_ID, NOTE_TEXT, "Progress note")
    )
    bad = tmp / "bad-observation.json"
    bad.write_bytes(orjson.dumps(LATE_BUNDLE))
    report = ingest(store, [bad], workers=1)
    assert report.quarantined, report.messages
    app = production_app(Settings(database_url="unused", export_dir=str(tmp / "export")), store)
    if idle_timeout is not None:
        app.state.sessions.idle_timeout = idle_timeout
    return World(store, app, security, report.quarantined[0])
