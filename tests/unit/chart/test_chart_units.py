"""The chart's pure parts: name matching, banner, results and flags, trends, plot geometry."""

from __future__ import annotations

import base64
from datetime import date

from chartkeeper.chart import documents, names, results, summary, text
from chartkeeper.chart.models import Series, Trend
from chartkeeper.chart.plot import HEIGHT, TOP, plot


def test_folding_and_tokens() -> None:
    assert names.fold("Ordóñez") == "ordonez"
    assert names.name_tokens("  José María, O'Brien-Smith ") == ["jose", "maria", "o", "brien", "smith"]


def test_prefix_probes_cover_slips_and_sound_alikes() -> None:
    assert names.prefixes("haely") == {"ha", "he"}
    assert {"ka", "ca", "qa"} <= names.prefixes("katherine") | names.prefixes("catherine")
    assert "fi" in names.prefixes("philip") and "pi" in names.prefixes("philip")
    assert names.prefixes("x") == {"x"}


def test_scores_rank_the_misspelled_patient_first() -> None:
    chung = {"name": [{"family": "Haley", "given": ["Chung"]}]}
    other = {"name": [{"family": "Hale", "given": ["Harold"]}]}
    stranger = {"name": [{"family": "Hammond", "given": ["Zed"]}]}
    typed = names.name_tokens("Chung Haely")
    assert names.score(typed, chung) > names.score(typed, other) > names.score(typed, stranger)
    assert names.score(typed, chung) >= 70
    assert names.similarity("smyth", "smith") >= 90  # same Metaphone
    assert names.score(["x"], {"name": []}) == 0.0


def test_banner() -> None:
    patient = {
        "resourceType": "Patient",
        "id": "p1",
        "name": [{"use": "official", "family": "Doe", "given": ["Jane"]}],
        "birthDate": "1950-06-30",
        "gender": "female",
        "deceasedDateTime": "2020-01-02T00:00:00Z",
        "meta": {"security": [{"code": "R"}]},
        "identifier": [
            {"type": {"coding": [{"code": "MR"}]}, "system": "http://h.example/mrn", "value": "M1"},
            {"type": {"coding": [{"code": "SS"}]}, "value": "999-00-1111"},
        ],
    }
    banner = summary.banner(patient)
    assert banner.name == "Jane Doe" and banner.mrns == [("mrn", "M1")]
    assert banner.deceased == "deceased 2020-01-02" and banner.age is None
    assert banner.alerts == ["restricted record"]
    assert text.age("1950-06-30", date(2020, 6, 29)) == 69


def test_results_flags_and_ranges() -> None:
    high = {
        "code": {"coding": [{"system": results.LOINC, "code": "4548-4"}], "text": "HbA1c"},
        "valueQuantity": {"value": 7.2, "unit": "%"},
        "effectiveDateTime": "2020-01-01",
    }
    ranged = {
        "code": {"text": "Potassium"},
        "valueQuantity": {"value": 3.0, "unit": "mmol/L"},
        "referenceRange": [{"low": {"value": 3.5, "unit": "mmol/L"}, "high": {"value": 5.1}}],
        "effectiveDateTime": "2020-01-02",
    }
    interpreted = {
        "code": {"text": "X"},
        "valueQuantity": {"value": 1},
        "interpretation": [{"coding": [{"code": "A"}]}],
        "effectiveDateTime": "2020-01-03",
    }
    rows = results.results([high, ranged, interpreted])
    assert [(r.test, r.value, r.flag) for r in rows] == [
        ("X", "1", "A"),
        ("Potassium", "3 mmol/L", "L"),
        ("HbA1c", "7.2 %", "H"),
    ]
    assert rows[2].reference.endswith("(typical)") and "(typical)" not in rows[1].reference


def test_blood_pressure_is_one_trend_of_two_series() -> None:
    def bp(day: str, sys: float, dia: float) -> dict[str, object]:
        return {
            "code": {"coding": [{"system": results.LOINC, "code": "85354-9"}], "text": "Blood pressure"},
            "effectiveDateTime": day,
            "component": [
                {
                    "code": {"coding": [{"system": results.LOINC, "code": "8480-6"}]},
                    "valueQuantity": {"value": sys, "unit": "mm[Hg]"},
                },
                {
                    "code": {"coding": [{"system": results.LOINC, "code": "8462-4"}]},
                    "valueQuantity": {"value": dia, "unit": "mm[Hg]"},
                },
            ],
        }

    (trend,) = results.trends([bp("2020-01-01", 120, 80), bp("2021-01-01", 140, 90)])
    assert trend.key == "85354-9" and [s.label for s in trend.series] == ["Systolic", "Diastolic"]
    assert len(results.results([bp("2020-01-01", 150, 80)])) == 2


def test_plot_geometry() -> None:
    trend = Trend("4548-4", "HbA1c", "%", [Series("HbA1c", [("2019-01-01", 6.0), ("2021-01-01", 8.0)])])
    drawn = plot(trend)
    (line,) = drawn.lines
    (x0, y0, _, _), (x1, y1, _, _) = line.points
    assert x0 < x1 and y1 < y0  # later to the right, higher value higher up
    assert y1 >= TOP and y0 <= HEIGHT
    assert [label for _, label in drawn.x_ticks] == ["2019", "2020", "2021"]
    assert "latest 8" in drawn.summary


def test_documents_are_decoded_text_only_for_text() -> None:
    note = base64.b64encode(b"<b>hi</b>").decode()
    doc = {
        "resourceType": "DocumentReference",
        "id": "d1",
        "type": {"text": "Note"},
        "date": "2020-01-01",
        "content": [
            {"attachment": {"contentType": "text/plain", "data": note}},
            {"attachment": {"contentType": "application/pdf", "data": note}},
            {"attachment": {"contentType": "text/plain", "url": "http://elsewhere"}},
        ],
    }
    found = documents.documents([doc])
    assert [(d.text, d.attachment_index) for d in found] == [("<b>hi</b>", 0), (None, 1), (None, None)]


def test_medications_and_immunizations_are_one_line_each() -> None:
    def med(day: str, status: str) -> dict[str, object]:
        return {"medicationCodeableConcept": {"text": "Simvastatin"}, "authoredOn": day, "status": status}

    meds = summary.medications(
        [med("2019-01-01", "stopped"), med("2020-01-01", "active"), med("2018-01-01", "stopped")]
    )
    assert [(m.text, m.when, m.status) for m in meds] == [("Simvastatin", "2020-01-01", "active")]
    flu = [
        {"vaccineCode": {"text": "Flu"}, "occurrenceDateTime": f"{y}-10-01", "status": "completed"}
        for y in (2019, 2021, 2020)
    ]
    (line,) = summary.immunizations(flu)
    assert line.when == "2021-10-01" and line.status == "completed · 3 doses"


def test_probes_pair_the_first_and_last_names() -> None:
    from chartkeeper.chart.finder import probes

    assert probes(["haely"]) == [("ha",), ("he",)]
    assert ("ch", "ha") in probes(["chung", "haely"]) and len(probes(["chung", "haely"])) == 8


def test_latest_results_are_the_first_rows_of_all_results() -> None:
    """``results(obs, limit)`` builds only ``limit`` rows, in the order sorting them all gives:
    equal times keep their stored order, a panel gives one row per component, an observation
    without a value gives none."""

    def obs(n: int, when: str, **extra: object) -> dict[str, object]:
        return {"code": {"text": f"T{n}"}, "effectiveDateTime": when, "valueQuantity": {"value": n}, **extra}

    panel = {
        "code": {"text": "Blood pressure"},
        "effectiveDateTime": "2021-05-01T10:00:00Z",
        "component": [
            {"code": {"text": "Systolic"}, "valueQuantity": {"value": 120, "unit": "mm[Hg]"}},
            {"code": {"text": "Diastolic"}, "valueQuantity": {"value": 80, "unit": "mm[Hg]"}},
        ],
    }
    empty = {"code": {"text": "No value"}, "effectiveDateTime": "2022-01-01"}
    found = [
        obs(1, "2020-01-01"),
        obs(2, "2021-05-01T10:00:00Z"),
        panel,
        empty,
        obs(3, "2021-05-01T10:00:00Z"),
        obs(4, "2019-12-31"),
        obs(5, ""),
    ]
    everything = results.results(found)
    assert [r.test for r in everything] == ["T2", "Systolic", "Diastolic", "T3", "T1", "T4", "T5"]
    for limit in range(9):
        assert results.results(found, limit=limit) == everything[:limit]
