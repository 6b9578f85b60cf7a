"""View models of the work-queue pages: paging, FHIR values as text, two Patients compared,
the golden record's rows, ages."""

from __future__ import annotations

from datetime import date

from chartkeeper.web.work_views import (
    age_days,
    compare,
    display_name,
    evidence_text,
    golden_rows,
    identifier_text,
    paginate,
    probability_text,
    value_text,
)

SSN = "http://hl7.org/fhir/sid/us-ssn"


def patient(**fields: object) -> dict[str, object]:
    return {"resourceType": "Patient", "id": "x", **fields}


def test_paginate_clamps_the_page_and_counts_pages() -> None:
    items = list(range(120))
    first = paginate(items, 1)
    assert (first.rows[0], len(first.rows), first.pages, first.total) == (0, 50, 3, 120)
    assert paginate(items, 3).rows == list(range(100, 120))
    assert paginate(items, 99).page == 3 and paginate(items, -4).page == 1
    empty = paginate([], 5)
    assert (empty.rows, empty.page, empty.pages, empty.total) == ([], 1, 1, 0)


def test_values_read_as_text_and_social_security_numbers_are_masked() -> None:
    assert identifier_text({"system": SSN, "value": "123-45-6789"}) == "SSN ***-**-6789"
    mrn = {"system": "urn:oid:1.2.3", "type": {"coding": [{"code": "MR"}]}, "value": "A1"}
    assert identifier_text(mrn) == "MR A1"
    assert value_text("address", {"line": ["1 Main St"], "city": "Boston", "postalCode": "02118"}) == (
        "1 Main St, Boston, 02118"
    )
    assert value_text("telecom", {"system": "phone", "value": "555", "use": "home"}) == "phone 555 (home)"
    assert (
        value_text("name", {"given": ["Ann", "B"], "family": "Lee", "use": "maiden"}) == "Ann B Lee (maiden)"
    )
    assert value_text("deceasedBoolean", False) == "not deceased"
    names = [{"use": "nickname", "given": ["Jo"]}, {"use": "official", "given": ["Joan"], "family": "Ng"}]
    assert display_name(patient(name=names)) == "Joan Ng"
    assert display_name(patient()) == "(no name)" and display_name(None) == "(no name)"


def test_compare_marks_the_fields_that_differ() -> None:
    a = patient(
        name=[{"use": "official", "given": ["Ann"], "family": "Lee"}],
        birthDate="1980-02-03",
        gender="female",
        identifier=[{"system": SSN, "value": "123-45-6789", "use": "official"}],
        address=[{"line": ["1 Main St"], "city": "Boston"}],
    )
    b = patient(
        name=[{"use": "official", "given": ["ANN"], "family": "lee "}],  # case and spaces only
        birthDate="1980-03-02",
        gender="female",
        identifier=[{"system": SSN, "value": "123-45-6789", "use": "old"}],  # a merge marks it old
        address=[{"line": ["1 Main St"], "city": "Boston"}],
        telecom=[{"system": "phone", "value": "555-0100"}],
    )
    evidence = {"birth_date": "Damerau-Levenshtein <= 1", "family_name": "Exact match on family_name"}
    rows = {r.label: r for r in compare(a, b, evidence)}
    assert list(rows) == ["Name", "Birth date", "Sex", "Identifiers", "Address", "Phone, email"]
    assert [label for label, r in rows.items() if r.differs] == ["Birth date", "Phone, email"]
    assert rows["Phone, email"].a == [] and rows["Phone, email"].b == ["phone 555-0100"]
    assert rows["Birth date"].evidence == ["birth date: damerau-Levenshtein <= 1"]
    assert rows["Name"].evidence == ["family name: exact match"]
    assert rows["Identifiers"].a == ["SSN ***-**-6789"]


def test_evidence_reads_as_words() -> None:
    assert evidence_text("ssn", "All other comparisons") == "ssn: no agreement"
    assert evidence_text("email", "missing") == "email: missing"
    level = "Jaro-Winkler distance of given_name >= 0.92"
    assert evidence_text("given_name", level) == "given name: jaro-Winkler distance >= 0.92"


def test_probability_never_rounds_up_to_certain() -> None:
    assert probability_text(0.9999999) == "99.99%"
    assert probability_text(1.0) == "100%"
    assert probability_text(0.5) == "50.00%"
    assert probability_text(None) == "not scored"


def test_golden_rows_keep_the_order_and_mark_conflicts() -> None:
    record = {
        "id": "Patient/k",
        "fields": {
            "gender": [
                {"value": "male", "sources": ["Patient/k"]},
                {"value": "female", "sources": ["Patient/m"]},
            ],
            "name": [{"value": {"given": ["Al"], "family": "Bo"}, "sources": ["Patient/k", "Patient/m"]}],
        },
        "conflicts": ["gender"],
    }
    rows = golden_rows(record)
    assert [(r.label, r.conflict) for r in rows] == [("Names", False), ("Sex", True)]
    assert rows[0].values == [("Al Bo", ["Patient/k", "Patient/m"])]
    assert rows[1].values[1] == ("female", ["Patient/m"])


def test_age_in_days() -> None:
    today = date(2024, 3, 1)
    assert age_days("2024-02-28T23:00:00Z", today) == 2
    assert age_days("2024-03-01", today) == 0
    assert age_days(None, today) is None and age_days("2024", today) is None
    assert age_days("2024-13-45", today) is None
