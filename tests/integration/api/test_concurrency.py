"""Races through a real uvicorn server with threads, on SQLite and PostgreSQL.

If-Match is exact (one winner, the rest 412, no lost update, history complete); concurrent
updates without If-Match all land as consecutive versions; concurrent transaction Bundles never
interleave; concurrent conditional creates make one resource.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from chartkeeper.security.ports import MemoryAuditSink
from chartkeeper.store.repository import Store

from .helpers import patient
from .server import running_server

THREADS = 20
ADMIN = {"Authorization": "Bearer admin"}


def _race(count: int, work: Callable[[httpx.Client, int], httpx.Response]) -> list[httpx.Response]:
    """Run ``work`` on ``count`` threads released together, each with its own connection."""
    barrier = threading.Barrier(count)

    def one(n: int) -> httpx.Response:
        with httpx.Client(headers=ADMIN, timeout=120) as client:
            barrier.wait()
            return work(client, n)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def _history(base: str, ref: str) -> list[dict[str, Any]]:
    bundle = httpx.get(f"{base}/{ref}/_history?_count=1000", headers=ADMIN).json()
    return list(bundle.get("entry", []))


def test_if_match_races_have_one_winner(store: Store) -> None:
    with running_server(store, MemoryAuditSink()) as base:
        assert httpx.put(f"{base}/Patient/race", json=patient(id="race"), headers=ADMIN).status_code == 201

        def update(client: httpx.Client, n: int) -> httpx.Response:
            body = patient(id="race", birthDate=f"19{n + 10}-01-01")
            return client.put(f"{base}/Patient/race", json=body, headers={"If-Match": 'W/"1"'})

        responses = _race(THREADS, update)
        codes = sorted(r.status_code for r in responses)
        assert codes == [200] + [412] * (THREADS - 1)
        winner = next(r for r in responses if r.status_code == 200).json()
        current = httpx.get(f"{base}/Patient/race", headers=ADMIN).json()
        assert current["birthDate"] == winner["birthDate"] and current["meta"]["versionId"] == "2"
        assert [e["response"]["etag"] for e in _history(base, "Patient/race")] == ['W/"2"', 'W/"1"']


def test_updates_without_if_match_are_all_kept(store: Store) -> None:
    with running_server(store, MemoryAuditSink()) as base:

        def update(client: httpx.Client, n: int) -> httpx.Response:
            body = patient(id="many", birthDate=f"19{n + 10}-01-01")
            return client.put(f"{base}/Patient/many", json=body)

        responses = _race(THREADS, update)
        assert sorted(r.status_code for r in responses) == [200] * (THREADS - 1) + [201]
        versions = sorted(int(r.json()["meta"]["versionId"]) for r in responses)
        assert versions == list(range(1, THREADS + 1))
        history = _history(base, "Patient/many")
        assert len(history) == THREADS
        dates = {e["resource"]["birthDate"] for e in history}
        assert dates == {f"19{n + 10}-01-01" for n in range(THREADS)}


def test_transactions_never_interleave(store: Store) -> None:
    """Each transaction writes its marker to two resources; if two interleaved, the two
    histories would record the markers in different orders."""
    with running_server(store, MemoryAuditSink()) as base:

        def transact(client: httpx.Client, n: int) -> httpx.Response:
            marker = f"20{n + 10}-01-01"
            entries = [
                {
                    "resource": patient(id=ref, birthDate=marker),
                    "request": {"method": "PUT", "url": f"Patient/{ref}"},
                }
                for ref in ("left", "right")
            ]
            entries.append(
                {
                    "resource": patient(identifier=[{"system": "urn:race", "value": "once"}]),
                    "request": {
                        "method": "POST",
                        "url": "Patient",
                        "ifNoneExist": "identifier=urn:race|once",
                    },
                }
            )
            bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
            return client.post(base, json=bundle)

        responses = _race(THREADS, transact)
        assert all(r.status_code == 200 for r in responses), [
            r.text for r in responses if r.status_code != 200
        ]
        left = [e["resource"]["birthDate"] for e in _history(base, "Patient/left")]
        right = [e["resource"]["birthDate"] for e in _history(base, "Patient/right")]
        assert left == right and len(left) == THREADS
        created = [r.json()["entry"][2]["response"]["status"] for r in responses]
        assert created.count("201 Created") == 1 and created.count("200 OK") == THREADS - 1
        ids = {r.json()["entry"][2]["resource"]["id"] for r in responses}
        assert len(ids) == 1


def test_conditional_creates_make_one_resource(store: Store) -> None:
    with running_server(store, MemoryAuditSink()) as base:

        def create(client: httpx.Client, n: int) -> httpx.Response:
            body = patient(identifier=[{"system": "urn:c", "value": "1"}])
            return client.post(f"{base}/Patient", json=body, headers={"If-None-Exist": "identifier=urn:c|1"})

        responses = _race(THREADS, create)
        assert sorted(r.status_code for r in responses) == [200] * (THREADS - 1) + [201]
        assert len({r.json()["id"] for r in responses}) == 1
