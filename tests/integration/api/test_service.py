"""RecordService used from plain Python (no HTTP): what another shell (CLI, web pages) gets."""

from __future__ import annotations

import pytest

from chartkeeper.errors import Forbidden, Gone, NotFound, PreconditionFailed
from chartkeeper.records import RecordService
from chartkeeper.records.paging import PageRequest
from chartkeeper.security.caller import local_caller
from chartkeeper.security.ports import MemoryAuditSink
from chartkeeper.store.repository import Store

from .conftest import TOKENS
from .helpers import observation, patient


def test_service_without_http(store: Store) -> None:
    audit = MemoryAuditSink()
    service = RecordService(store, audit)
    me = local_caller("clerk")
    saved = service.create(me, patient())
    assert saved.created and saved.version_id == 1 and saved.resource is not None
    pid = saved.res_id
    assert pid is not None
    assert service.read(me, "Patient", pid).content == saved.resource
    with pytest.raises(PreconditionFailed):
        service.update(me, "Patient", pid, patient(id=pid, gender="male"), if_match=7)
    service.update(me, "Patient", pid, patient(id=pid, gender="male"), if_match=1)
    service.create(me, observation(f"Patient/{pid}"))
    page = service.history(me, "Patient", pid, PageRequest(count=1))
    assert [v.version_id for v in page.entries] == [2] and page.next_cursor
    everything = service.everything(me, pid, PageRequest())
    assert everything.total == 2
    with pytest.raises(Forbidden):
        service.create(TOKENS["reader"], patient())
    assert service.delete(me, "Patient", pid).outcome == "deleted"
    with pytest.raises(Gone):
        service.read(me, "Patient", pid)
    with pytest.raises(NotFound):
        service.read(TOKENS["pat-1"], "Observation", "nope")
    kinds = [(e.action, e.outcome) for e in audit.events]
    assert (
        kinds[0] == ("create", "success") and ("update", "failed") in kinds and ("create", "denied") in kinds
    )
    assert kinds[-1] == ("read", "failed") and kinds[-2] == ("read", "failed")
    assert all(e.caller.subject for e in audit.events)


def test_serve_refuses_every_token_until_sign_in_is_wired(sqlite_store: Store) -> None:
    from fastapi.testclient import TestClient

    from chartkeeper.api import create_app
    from chartkeeper.api.bearer import RefuseAllAuthenticator
    from chartkeeper.config import Settings

    app = create_app(
        Settings(), store=sqlite_store, authenticator=RefuseAllAuthenticator(), audit=MemoryAuditSink()
    )
    client = TestClient(app)
    assert client.get("/fhir/metadata").status_code == 200
    assert client.get("/fhir/Patient/x", headers={"Authorization": "Bearer anything"}).status_code == 401
    assert client.get("/").status_code == 200
