"""The trail stores ``build_audit_event``'s output without running the validator on each
access, so the builder must be valid by construction: checked here for every action and
outcome, hostile text, and the compact entities of large reads."""

from __future__ import annotations

import random
import typing

import pytest

from chartkeeper.fhir.search.extract import extract_index_values
from chartkeeper.fhir.validation import validate_resource
from chartkeeper.security.audit_event import COMPACT_AFTER, build_audit_event, returned_resources
from chartkeeper.security.caller import Caller
from chartkeeper.security.ports import AccessEvent, AuditAction, AuditOutcome
from chartkeeper.security.scopes import ScopeSet

ACTIONS: tuple[AuditAction, ...] = typing.get_args(AuditAction)
OUTCOMES: tuple[AuditOutcome, ...] = typing.get_args(AuditOutcome)
NASTY = ["", " ", "\t", "\x00", "\x0b\x0c", "a\x1bb", "é\u0301", "<script>", "x" * 3000, "\r\n", "\u2028"]


def _errors(audit: dict[str, typing.Any]) -> list[str]:
    return [i.message for i in validate_resource(audit) if i.is_error]


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("outcome", OUTCOMES)
def test_every_action_and_outcome_is_valid(action: AuditAction, outcome: AuditOutcome) -> None:
    caller = Caller("user/alice", "user", "Alice", ScopeSet(), source_address="::1", purpose_of_use="TREAT")
    event = AccessEvent(
        caller, action, outcome, ("Observation/o1/_history/2",), ("p1",), query="a=b", detail="why"
    )
    assert _errors(build_audit_event(event, "id-1", 1_700_000_000_000_000)) == []


def test_hostile_text_everywhere_stays_valid() -> None:
    rng = random.Random(7)
    for n in range(300):
        text = [rng.choice(NASTY) + rng.choice(NASTY) for _ in range(5)]
        caller = Caller(f"client/{text[0]}", "client", text[1], ScopeSet(), source_address=text[2] or None)
        event = AccessEvent(
            caller, rng.choice(ACTIONS), rng.choice(OUTCOMES), query=text[3] or None, detail=text[4] or None
        )
        audit = build_audit_event(event, f"id-{n}", n)
        assert _errors(audit) == [], (text, audit)


def test_large_reads_name_every_resource_in_one_unindexed_list() -> None:
    caller = Caller("client/bench", "client", "bench", ScopeSet())
    refs = tuple(f"Observation/o{i}/_history/1" for i in range(2500))
    event = AccessEvent(caller, "operation", "success", refs, ("p1",), query="Patient/p1/$everything")
    audit = build_audit_event(event, "big", 0)
    assert _errors(audit) == []
    entities = audit["entity"]
    assert entities[0]["what"]["reference"] == "Patient/p1" and entities[0]["role"]["code"] == "1"
    listed = entities[1]
    assert "what" not in listed and listed["description"] == "2500 resources returned, listed in detail"
    assert [len(d["valueString"].split("\n")) for d in listed["detail"]] == [1000, 1000, 500]
    assert returned_resources(audit) == ["Patient/p1", *refs]
    assert entities[2]["role"]["code"] == "24"  # the query
    index = extract_index_values(audit)
    assert [r for r in index.references if r[0] == "entity"] == [("entity", "Patient", "p1", "Patient/p1")]
    assert ("patient", "Patient", "p1", "Patient/p1") in index.references
    small_refs = refs[:COMPACT_AFTER]
    small = build_audit_event(AccessEvent(caller, "search-type", "success", small_refs, ("p1",)), "small", 0)
    assert all("type" in e and "what" in e for e in small["entity"])  # one indexed entity each
    assert returned_resources(small) == ["Patient/p1", *small_refs]
    assert sum(1 for r in extract_index_values(small).references if r[0] == "entity") == 1 + COMPACT_AFTER


def test_returned_resources_reads_the_earlier_compact_records_too() -> None:
    """Records written before the list existed named each resource as a compact entity."""
    old = {
        "resourceType": "AuditEvent",
        "entity": [
            {"what": {"reference": "Patient/p1"}, "role": {"code": "1"}},
            {"what": {"reference": "Observation/o1"}, "role": {"code": "4"}},
            {"role": {"code": "24"}, "query": "eA=="},
        ],
    }
    assert returned_resources(old) == ["Patient/p1", "Observation/o1"]


def _sorted(values: object) -> dict[str, list[object]]:
    fields = ("strings", "tokens", "references", "dates", "quantities", "numbers", "uris")
    out = {f: sorted(getattr(values, f), key=repr) for f in fields}
    out["compartment"] = sorted(values.compartment_patients)  # type: ignore[attr-defined]
    return out


def test_the_cached_audit_index_equals_the_general_extraction() -> None:
    from chartkeeper.security.audit import audit_index, built_audit_write
    from chartkeeper.store.resources import resource_write

    rng = random.Random(3)
    callers = [
        Caller("user/alice", "user", "Alice", ScopeSet(), source_address="10.1.2.3", purpose_of_use="TREAT"),
        Caller("client/feed", "client", "feed", ScopeSet()),
        Caller("local/ops", "local", "ops (command line)", ScopeSet()),
    ]
    for n in range(200):
        refs = tuple(
            f"{rng.choice(['Observation', 'Patient', 'Encounter'])}/r{rng.randrange(9)}"
            for _ in range(rng.randrange(40))
        )
        patients = tuple(f"p{rng.randrange(3)}" for _ in range(rng.randrange(3)))
        event = AccessEvent(
            rng.choice(callers),
            rng.choice(ACTIONS),
            rng.choice(OUTCOMES),
            refs,
            patients,
            query=rng.choice([None, "Observation?code=x"]),
            detail=rng.choice([None, "why"]),
        )
        audit = build_audit_event(event, f"id-{n}", 1_700_000_000_000_000 + n)
        assert _sorted(audit_index(audit)) == _sorted(extract_index_values(audit))
        fast, general = built_audit_write(audit), resource_write("AuditEvent", audit["id"], audit)
        assert (fast.content, fast.fingerprint, fast.patient_id) == (
            general.content,
            general.fingerprint,
            general.patient_id,
        )
        assert [sorted(rows, key=repr) for rows in fast.index] == [
            sorted(rows, key=repr) for rows in general.index
        ]
