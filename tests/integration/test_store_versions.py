"""The store's REST-API reads on both databases: row locks, history pages with access filters,
the $everything key order."""

from __future__ import annotations

from chartkeeper.store.models import UNRESTRICTED, AccessFilter, HistoryQuery
from chartkeeper.store.repository import Store
from chartkeeper.store.resources import resource_write


def _put(store: Store, resource: dict) -> None:
    store.apply([resource_write(resource["resourceType"], resource["id"], resource)])


def test_locks_history_and_everything(store: Store) -> None:
    _put(store, {"resourceType": "Patient", "id": "a"})
    _put(store, {"resourceType": "Patient", "id": "a", "gender": "male"})
    _put(store, {"resourceType": "Practitioner", "id": "dr"})
    _put(
        store,
        {
            "resourceType": "Encounter",
            "id": "e",
            "status": "finished",
            "class": {"code": "AMB"},
            "subject": {"reference": "Patient/a"},
            "participant": [{"individual": {"reference": "Practitioner/dr"}}],
        },
    )
    _put(store, {"resourceType": "Patient", "id": "b"})

    with store.transaction() as conn:
        rows = store.lock_rows(conn, [("Patient", "a"), ("Patient", "none")])
        store.serialize_writers(conn)
    assert list(rows) == [("Patient", "a")] and rows[("Patient", "a")].version_id == 2

    everything = HistoryQuery(None, None, UNRESTRICTED, count=10)
    assert [v.res_id for _, v in store.history_page(everything)] == ["b", "e", "dr", "a", "a"]
    only_a = AccessFilter(patient_ids=frozenset({"a"}))
    assert [v.res_id for _, v in store.history_page(HistoryQuery(None, None, only_a, count=10))] == [
        "e",
        "a",
        "a",
    ]
    no_types = AccessFilter(types=frozenset())
    assert store.history_page(HistoryQuery(None, None, no_types, count=10)) == []
    first = store.history_page(HistoryQuery("Patient", "a", UNRESTRICTED, count=1))
    version_pk, newest = first[0]
    rest = store.history_page(
        HistoryQuery("Patient", "a", UNRESTRICTED, count=5, after=(newest.last_updated, version_pk))
    )
    assert [v.version_id for _, v in first + rest] == [2, 1]

    keys = store.everything_keys("a", UNRESTRICTED)
    assert [(v.res_type, v.res_id) for v in store.read_by_pks(keys)] == [
        ("Patient", "a"),
        ("Encounter", "e"),
        ("Practitioner", "dr"),
    ]
    assert store.everything_keys("a", UNRESTRICTED, types=frozenset({"Encounter"})) == keys[1:2]
