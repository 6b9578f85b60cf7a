"""Import plans: ids kept, fullUrls mapped, references rewritten, conditional entries resolved."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from chartkeeper.fhir.bundle import (
    content_id,
    parse_reference,
    plan_bundle,
    plan_resource,
    resolve_plan,
    scan_conditional_references,
)
from chartkeeper.fhir.conditional import Criteria, is_conditional_reference, parse_criteria, split_token


def _entry(resource: dict, full_url: str | None, method: str = "POST", **request: str) -> dict:
    entry: dict = {
        "resource": resource,
        "request": {"method": method, "url": resource["resourceType"], **request},
    }
    if full_url:
        entry["fullUrl"] = full_url
    return entry


def test_synthea_style_post_keeps_ids_and_rewrites_urn_references() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            _entry({"resourceType": "Patient", "id": "p-1"}, "urn:uuid:p-1"),
            _entry(
                {
                    "resourceType": "Observation",
                    "id": "o-1",
                    "subject": {"reference": "urn:uuid:p-1"},
                    "contained": [{"resourceType": "Practitioner", "id": "c"}],
                },
                "urn:uuid:o-1",
            ),
        ],
    }
    plan = plan_bundle(bundle)
    resolve_plan(plan, None)
    assert plan.ok and not plan.needs_store
    assert [(e.res_type, e.res_id) for e in plan.entries] == [("Patient", "p-1"), ("Observation", "o-1")]
    assert plan.entries[1].resource["subject"]["reference"] == "Patient/p-1"


def test_resource_without_id_gets_the_urn_uuid_or_a_content_id() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            _entry({"resourceType": "Patient"}, "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e"),
            _entry({"resourceType": "Patient", "gender": "male"}, None),
        ],
    }
    plan = plan_bundle(bundle)
    assert plan.entries[0].res_id == "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert plan.entries[1].res_id == content_id({"resourceType": "Patient", "gender": "male"})


def test_put_url_wins_and_must_agree_with_the_resource_id() -> None:
    ok = plan_bundle(
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {"resource": {"resourceType": "Patient"}, "request": {"method": "PUT", "url": "Patient/abc"}}
            ],
        }
    )
    assert ok.ok and ok.entries[0].res_id == "abc"
    bad = plan_bundle(
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "resource": {"resourceType": "Patient", "id": "x"},
                    "request": {"method": "PUT", "url": "Patient/abc"},
                }
            ],
        }
    )
    assert not bad.ok and bad.issues[0].expression == "Bundle.entry[0].resource.id"


def test_dangling_urn_is_an_error_naming_the_element() -> None:
    plan = plan_bundle(
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                _entry(
                    {"resourceType": "Observation", "id": "o", "subject": {"reference": "urn:uuid:nope"}},
                    "urn:uuid:o",
                )
            ],
        }
    )
    resolve_plan(plan, None)
    assert not plan.ok
    assert plan.issues[0].expression == "Bundle.entry[0].resource.subject.reference"


def test_delete_entries_and_unsupported_bundle_types() -> None:
    plan = plan_bundle(
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [{"request": {"method": "DELETE", "url": "Patient/gone"}}],
        }
    )
    assert plan.entries[0].delete and plan.entries[0].res_id == "gone"
    history = plan_bundle({"resourceType": "Bundle", "type": "history", "entry": []})
    assert not history.ok


def test_if_none_exist_and_conditional_references_use_the_resolver() -> None:
    org = {"resourceType": "Organization", "id": "new-org"}
    obs = {
        "resourceType": "Patient",
        "id": "p",
        "managingOrganization": {"reference": "Organization?identifier=sys|1"},
    }
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [_entry(org, "urn:uuid:org", ifNoneExist="identifier=sys|1"), _entry(obs, "urn:uuid:p")],
    }

    def none_found(_c: Criteria) -> list[str]:
        return []

    plan = plan_bundle(copy.deepcopy(bundle))
    scan_conditional_references(plan)
    assert plan.needs_store
    resolve_plan(plan, none_found)
    assert plan.ok and not plan.entries[0].skip
    assert plan.entries[1].resource["managingOrganization"]["reference"] == "Organization/new-org"

    plan = plan_bundle(copy.deepcopy(bundle))
    resolve_plan(plan, lambda c: ["stored-org"])
    assert plan.entries[0].skip and plan.entries[0].res_id == "stored-org"
    assert plan.entries[1].resource["managingOrganization"]["reference"] == "Organization/stored-org"

    plan = plan_bundle(copy.deepcopy(bundle))
    resolve_plan(plan, lambda c: ["a", "b"])
    assert not plan.ok and {i.code for i in plan.issues} == {"multiple-matches"}


def test_criteria_and_references_parse() -> None:
    assert parse_criteria("Organization?identifier=http://x|1&name=a%20b") == Criteria(
        "Organization", (("identifier", "http://x|1"), ("name", "a b"))
    )
    assert parse_criteria("identifier=1", "Patient").res_type == "Patient"
    assert (
        split_token("|x") == ("", "x")
        and split_token("s|") == ("s", None)
        and split_token("x") == (None, "x")
    )
    assert is_conditional_reference("Patient?identifier=1") and not is_conditional_reference("Patient/1")
    assert parse_reference("http://example.org/fhir/Patient/123/_history/2") == ("Patient", "123")
    assert parse_reference("Patient/123") == ("Patient", "123")
    assert parse_reference("#contained") is None


def test_single_resource_plan() -> None:
    plan = plan_resource({"resourceType": "Patient"}, "Patient")
    assert plan.ok and plan.entries[0].res_id


urn = st.uuids().map(lambda u: f"urn:uuid:{u}")


@settings(max_examples=150, deadline=None)
@given(st.lists(urn, min_size=1, max_size=8, unique=True), st.data())
def test_every_urn_reference_is_rewritten_or_reported(full_urls: list[str], data: st.DataObject) -> None:
    """Property: after resolution no urn: reference survives silently."""
    entries = []
    for i, full_url in enumerate(full_urls):
        target = data.draw(st.one_of(st.sampled_from(full_urls), urn))
        entries.append(
            _entry({"resourceType": "Observation", "id": f"o{i}", "subject": {"reference": target}}, full_url)
        )
    plan = plan_bundle({"resourceType": "Bundle", "type": "transaction", "entry": entries})
    resolve_plan(plan, None)
    dangling = [e for e in entries if e["resource"]["subject"]["reference"].startswith("urn:")]
    if dangling:
        assert not plan.ok
    else:
        assert plan.ok
        for entry in plan.entries:
            assert entry.resource["subject"]["reference"].startswith("Observation/o")
