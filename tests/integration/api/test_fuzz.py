"""Hypothesis-generated bodies against create, update, patch and transaction: never a 500,
and every error is an OperationOutcome."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TYPES = ["Patient", "Observation", "Bundle", "Encounter", "Nope", ""]
KEYS = [
    "id",
    "meta",
    "name",
    "gender",
    "birthDate",
    "subject",
    "status",
    "code",
    "entry",
    "request",
    "resource",
    "reference",
    "text",
    "extension",
    "valueQuantity",
    "identifier",
    "fullUrl",
    "method",
    "url",
    "type",
    "x",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(
        [
            "Patient/1",
            "urn:uuid:x",
            "Patient?identifier=a|b",
            "1999-02-31",
            "final",
            "POST",
            "PUT",
            "DELETE",
            "GET",
            "transaction",
            "batch",
            "Patient",
            "<div>x</div>",
        ]
    ),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), children, max_size=5),
    ),
    max_leaves=25,
)


@st.composite
def resources(draw: st.DrawFn) -> dict[str, Any]:
    body = draw(st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6))
    if draw(st.booleans()):
        body["resourceType"] = draw(st.sampled_from(TYPES))
    return body


@st.composite
def bundles(draw: st.DrawFn) -> dict[str, Any]:
    entries = []
    for _ in range(draw(st.integers(0, 4))):
        entry: dict[str, Any] = {}
        if draw(st.booleans()):
            entry["resource"] = draw(resources())
        if draw(st.booleans()):
            entry["fullUrl"] = draw(st.sampled_from(["urn:uuid:1", "urn:uuid:2", "Patient/1", "x"]))
        entry["request"] = draw(
            st.one_of(
                json_values,
                st.fixed_dictionaries(
                    {
                        "method": st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "X"]),
                        "url": st.sampled_from(
                            [
                                "Patient",
                                "Patient/1",
                                "Patient?identifier=a|b",
                                "_history",
                                "Patient/1/_history/1",
                                "Nope/1",
                                "",
                                "http://x/Patient/1",
                            ]
                        ),
                    },
                    optional={
                        "ifMatch": st.sampled_from(['W/"1"', "x", 3]),
                        "ifNoneExist": st.sampled_from(["identifier=a|b", "", "bad"]),
                    },
                ),
            )
        )
        entries.append(entry)
    return {
        "resourceType": "Bundle",
        "type": draw(st.sampled_from(["transaction", "batch", "collection"])),
        "entry": entries,
    }


def _check(response: Any) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()["resourceType"] == "OperationOutcome"


FUZZ = settings(
    max_examples=int(__import__("os").environ.get("CK_FUZZ_EXAMPLES", "120")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@FUZZ
@given(body=st.one_of(resources(), json_values))
def test_create_never_fails_on_the_server(client: TestClient, body: Any) -> None:
    _check(client.post("/fhir/Patient", json=body))


@FUZZ
@given(body=st.one_of(resources(), json_values), res_id=st.sampled_from(["1", "a.b", "x" * 65, "_", "p"]))
def test_update_and_patch_never_fail_on_the_server(client: TestClient, body: Any, res_id: str) -> None:
    _check(client.put(f"/fhir/Patient/{res_id}", json=body))
    _check(
        client.patch(
            f"/fhir/Patient/{res_id}", json=body, headers={"Content-Type": "application/json-patch+json"}
        )
    )


@FUZZ
@given(bundle=bundles())
def test_bundles_never_fail_on_the_server(client: TestClient, bundle: dict[str, Any]) -> None:
    response = client.post("/fhir", json=bundle)
    _check(response)
    if response.status_code == 200:
        for entry in response.json()["entry"]:
            assert int(entry["response"]["status"].split()[0]) < 500, entry


@FUZZ
@given(raw=st.binary(max_size=200))
def test_raw_bytes_never_fail_on_the_server(client: TestClient, raw: bytes) -> None:
    _check(client.post("/fhir", content=raw))


_PARAM_NAMES = st.sampled_from(
    [
        "family",
        "name:exact",
        "birthdate",
        "identifier",
        "gender:not",
        "general-practitioner:Practitioner.name",
        "_has:Observation:patient:code",
        "_include",
        "_revinclude",
        "_sort",
        "_count",
        "_offset",
        "_total",
        "_summary",
        "_elements",
        "_id",
        "_lastUpdated",
        "address:contains",
        "telecom:missing",
        "nonsense",
        "link:Patient.link:Patient.name",
    ]
)
_PARAM_VALUES = st.one_of(
    st.sampled_from(
        ["smith", "ge2020", "eq1970-03-04", "sa2020-01", "urn:mrn|1", "|x", "x|", "true", "-family,birthdate"]
    ),
    st.sampled_from(["Patient:general-practitioner", "*", "Observation:patient:iterate", "0", "99999999"]),
    st.text(max_size=30),
)


@FUZZ
@given(
    res_type=st.sampled_from(["Patient", "Observation", "Encounter"]),
    pairs=st.lists(st.tuples(_PARAM_NAMES, _PARAM_VALUES), max_size=5),
    strict=st.booleans(),
)
def test_generated_searches_never_fail_on_the_server(
    client: TestClient, res_type: str, pairs: list[tuple[str, str]], strict: bool
) -> None:
    """Hypothesis-generated FHIR searches over HTTP: a Bundle or an OperationOutcome, never a 500."""
    headers = {"Prefer": "handling=strict"} if strict else {}
    response = client.get(f"/fhir/{res_type}", params=pairs, headers=headers)
    _check(response)
    if response.status_code == 200:
        assert response.json()["type"] == "searchset"
