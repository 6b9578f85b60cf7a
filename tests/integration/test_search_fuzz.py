"""Whatever parses runs: generated searches never fail in SQL, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chartkeeper.errors import InvalidInput
from chartkeeper.fhir.search.query import parse_search
from chartkeeper.intake.service import ingest
from chartkeeper.store.repository import Store

NAMES = [
    "name",
    "family:exact",
    "given:contains",
    "birthdate",
    "gender:not",
    "identifier",
    "general-practitioner",
    "general-practitioner:Practitioner.name",
    "_has:Observation:patient:code",
    "_has:Observation:patient:value-quantity",
    "_lastUpdated",
    "_id",
    "_tag:text",
    "_profile:below",
    "address:missing",
    "_sort",
    "_include",
    "_revinclude",
    "_count",
    "_total",
]
VALUES = st.one_of(
    st.text(max_size=12),
    st.from_regex(r"(ge|lt|ap|eq|sa|ne|eb)?-?[0-9]{1,4}(\.[0-9]{1,3})?(e[0-9])?", fullmatch=True),
    st.from_regex(
        r"[12][0-9]{3}(-[01][0-9](-[0-3][0-9](T[0-2][0-9]:[0-5][0-9](:[0-5][0-9])?Z?)?)?)?", fullmatch=True
    ),
    st.sampled_from(
        [
            "true",
            "false",
            "Patient/p1",
            "p1",
            "-birthdate,name",
            "Patient:general-practitioner",
            "*",
            "0",
            "accurate",
        ]
    ),
    st.from_regex(r"[a-z:/.]{0,12}\|[A-Za-z0-9\-]{0,6}", fullmatch=True),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.lists(st.tuples(st.sampled_from(NAMES), VALUES), min_size=1, max_size=3))
def test_parsed_searches_run_without_error(
    store: Store, tmp_path: Path, params: list[tuple[str, str]]
) -> None:
    marker = tmp_path / "loaded"
    if not marker.exists():
        patients = [
            {
                "resourceType": "Patient",
                "id": f"p{n}",
                "name": [{"family": f"Fam{n}"}],
                "birthDate": f"19{50 + n}",
            }
            for n in range(5)
        ]
        (tmp_path / "p.ndjson").write_text("\n".join(json.dumps(p) for p in patients) + "\n")
        assert ingest(store, [tmp_path / "p.ndjson"], workers=1).rejected == 0
        marker.write_text("")
    try:
        query = parse_search("Patient", params)
    except InvalidInput:
        return
    page = store.search(query)
    assert len(page.matches) <= query.count
