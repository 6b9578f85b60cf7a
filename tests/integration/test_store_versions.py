"""The store's REST-API reads on both databases: row locks, history pages with access filters,
the $everything key order."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from chartkeeper.store.models import UNRESTRICTED, AccessFilter, EverythingScope, HistoryQuery, ResourceWrite
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

    keys = store.everything_keys(EverythingScope("a", UNRESTRICTED))
    assert [(v.res_type, v.res_id) for v in store.read_by_pks(keys)] == [
        ("Patient", "a"),
        ("Encounter", "e"),
        ("Practitioner", "dr"),
    ]
    assert (
        store.everything_keys(EverythingScope("a", UNRESTRICTED, types=frozenset({"Encounter"}))) == keys[1:2]
    )


def test_read_by_pks_keeps_the_order_given_across_chunks(store: Store) -> None:
    """More keys than one statement binds (chunks of 500), scrambled, with an unknown key: the
    current versions come back in the order asked, server meta in place, unknown keys left out."""
    store.apply([resource_write("Observation", f"o{i}", _observation(f"o{i}", i)) for i in range(1_100)])
    _put(store, {**_observation("o7", 7), "status": "amended"})  # o7 has a second version
    keys = store.everything_keys(EverythingScope("p", UNRESTRICTED))
    assert len(keys) == 1_100
    scrambled = keys[::-3] + keys[1::3] + [10**12] + keys[::3][::-1] + keys[2::3]
    asked = list(dict.fromkeys(scrambled))
    found = store.read_by_pks(asked)
    assert [store_key for store_key in asked if store_key != 10**12] == [
        keys[int(v.res_id[1:])] for v in found
    ]
    seven = next(v for v in found if v.res_id == "o7")
    assert seven.version_id == 2 and seven.deleted is False and seven.content is not None
    assert seven.content["status"] == "amended"
    assert list(seven.content)[:3] == ["resourceType", "id", "meta"]
    assert seven.content["meta"]["versionId"] == "2"
    assert seven.content["meta"]["lastUpdated"].endswith("Z")
    assert seven.content["meta"]["tag"] == [{"system": "urn:test", "code": "t"}]  # client meta kept


def _observation(res_id: str, n: int) -> dict:
    return {
        "resourceType": "Observation",
        "id": res_id,
        "meta": {"tag": [{"system": "urn:test", "code": "t"}]},
        "status": "final",
        "code": {"text": f"value {n}"},
        "subject": {"reference": "Patient/p"},
    }


def test_all_new_writes_skip_the_lookup_but_never_overwrite(store: Store) -> None:
    """``all_new`` (the audit trail's fresh AuditEvents) writes without looking up current rows;
    a resource that exists after all fails the whole transaction on the unique key."""
    summary = store.apply(
        [resource_write("Patient", "n1", {"resourceType": "Patient", "id": "n1"})], all_new=True
    )
    assert summary.created["Patient"] == 1
    with pytest.raises(IntegrityError):
        store.apply(
            [
                resource_write("Patient", "n2", {"resourceType": "Patient", "id": "n2"}),
                resource_write("Patient", "n1", {"resourceType": "Patient", "id": "n1", "gender": "male"}),
            ],
            all_new=True,
        )
    assert "gender" not in store.read("Patient", "n1")
    assert store.count_by_type().get("Patient") == 1  # n2 was rolled back with the clash
    tombstone = ResourceWrite("Patient", "n1", None, "", None, None, delete=True)
    with pytest.raises(ValueError, match="cannot delete"):
        store.apply([tombstone], all_new=True)
