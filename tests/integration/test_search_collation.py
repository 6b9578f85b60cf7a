"""Code prefixes (token ``:below`` over ICD-10-CM) are exact whatever the database collation.

``idx_token.code`` has the database's default collation. A locale collation (ICU ``en-US``
here; glibc locales behave alike) orders ``e11.9`` between ``E11.`` and ``E11/`` because
case is only a tertiary difference, so a plain range would match a code that does not start
with ``E11.``. The prefix range is compared in code-point order (``store.dialect.CodePointOrder``)
and must agree with the matcher.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chartkeeper.coding.hierarchy import with_icd10cm
from chartkeeper.fhir.search.matcher import Universe, search
from chartkeeper.fhir.search.query import parse_search
from chartkeeper.fhir.search.terminology import default_terminology
from chartkeeper.store.repository import Store
from chartkeeper.store.resources import resource_write

from conftest import scratch_pg_database

ICD = "http://hl7.org/fhir/sid/icd-10-cm"
CODES = ["E11", "E11.9", "e11.9", "E11-9", "E110", "E12.0", "E11.65"]


@pytest.fixture
def icu_database_url() -> Iterator[str]:
    """A database whose default collation is ICU en-US (not code-point order)."""
    options = "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
    with scratch_pg_database("ck_test_icu", options) as url:
        yield url


@pytest.mark.postgres
def test_code_prefixes_ignore_the_database_collation(icu_database_url: str) -> None:
    conditions = [
        {"resourceType": "Condition", "id": f"c{n}", "subject": {"reference": "Patient/p"},
         "code": {"coding": [{"system": ICD, "code": code}]}}
        for n, code in enumerate(CODES)
    ]  # fmt: skip
    store = Store.open(icu_database_url)
    try:
        store.init()
        store.apply([resource_write("Condition", c["id"], c) for c in conditions])
        terms = with_icd10cm(default_terminology())
        universe = Universe.of(conditions)
        for below in ("E11", "E11.6", "E11.9"):
            query = parse_search("Condition", [("code:below", f"{ICD}|{below}")], terminology=terms)
            got = sorted(v.res_id for v in store.search(query).matches)
            assert got == sorted(r["id"] for r in search(query, universe)), below
        query = parse_search("Condition", [("code:below", f"{ICD}|E11")], terminology=terms)
        assert sorted(v.res_id for v in store.search(query).matches) == ["c0", "c1", "c6"]
    finally:
        store.close()
