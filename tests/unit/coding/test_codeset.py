"""Real facts of the FY2026 code set: look-up, billability, 7th characters, hierarchy."""

from __future__ import annotations

import pytest

from chartkeeper.coding.codeset import default_codeset, normalize
from chartkeeper.coding.lookup import browse, describe
from chartkeeper.errors import NotFound

cs = default_codeset()


def test_release_is_fy2026_april() -> None:
    assert "FY2026" in cs.release and "April 1, 2026" in cs.release


@pytest.mark.parametrize(
    ("written", "code"), [("e119", "E11.9"), (" E11.9 ", "E11.9"), ("S72001A", "S72.001A"), ("I10", "I10")]
)
def test_normalize(written: str, code: str) -> None:
    assert normalize(written) == code


def test_e11_9_is_valid_and_billable() -> None:
    status = cs.status("E11.9")
    assert status.exists and status.billable and status.problem is None
    assert status.description == "Type 2 diabetes mellitus without complications"


def test_e11_is_a_header_and_says_what_is_missing() -> None:
    status = cs.status("E11")
    assert status.exists and not status.billable
    assert status.problem == "header-not-billable"
    assert "1 to 4 more characters" in (status.message or "") and "E11.0" in (status.message or "")


def test_s72_001_needs_a_seventh_character() -> None:
    status = cs.status("S72.001")
    assert not status.billable and status.problem == "seventh-character-missing"
    assert "7th character" in (status.message or "") and "S72.001A" in (status.message or "")
    full = cs.status("S72.001A")
    assert (
        full.billable
        and full.description is not None
        and "initial encounter for closed fracture" in full.description
    )


def test_invalid_seventh_character_and_placeholders() -> None:
    assert cs.status("S72.001Z").problem == "seventh-character-invalid"
    assert cs.status("E11.65XA").problem == "seventh-character-invalid"  # takes no 7th character
    assert cs.status("T15.00XA").billable
    missing = cs.status("T15.00A")
    assert missing.problem == "placeholder-x-missing" and "T15.00XA" in (missing.message or "")
    assert cs.status("X99.9").problem == "seventh-character-missing"
    assert "placeholder XX" in (cs.status("X99.9").message or "")


def test_nonexistent_code_is_rejected_with_a_clear_message() -> None:
    status = cs.status("E11.99")
    assert not status.exists and status.problem == "unknown-code"
    assert status.message == (
        f"E11.99 does not exist in {cs.release}; category E11 is Type 2 diabetes mellitus"
    )
    assert cs.status("hello").problem == "unknown-code"
    with pytest.raises(NotFound, match="does not exist"):
        describe("E11.99")


def test_lookup_gives_hierarchy_and_notes() -> None:
    info = describe("E11")
    assert info["chapter"]["code"] == "4" and info["block"]["code"] == "E08-E13"
    assert "type 1 diabetes mellitus (E10.-)" in info["excludes1"]
    assert any("Z79.4" in n for n in info["use_additional_code"])
    assert [c["code"] for c in info["children"]][:2] == ["E11.0", "E11.1"]
    leaf = describe("E11.9")
    assert leaf["billable"] and leaf["parents"][0]["code"] == "E11"
    assert leaf["inherited_notes"]["excludes1"][0]["at"] == "E11"
    fracture = describe("S72.001")
    assert fracture["seventh_character"]["at"] == "S72" and "A" in fracture["seventh_character"]["values"]
    assert len(fracture["children"]) == 16
    assert "high blood pressure" in describe("I10")["includes"]
    assert "Poisoning by penicillins NOS" in describe("T36.0X1")["inclusion_term"]


def test_single_category_blocks_are_kept_apart() -> None:
    assert cs.nodes["T14"].kind == "category" and cs.nodes["T14"].parent == "T14-T14"
    assert cs.nodes["T14-T14"].kind == "block" and cs.nodes["T14-T14"].parent == "19"
    assert cs.status("T14.8XXA").billable


def test_browse_from_the_chapters_down() -> None:
    chapters = browse(None)
    assert len(chapters) == 22 and chapters[0]["code"] == "1"
    blocks = browse("4")
    assert any(b["code"] == "E08-E13" for b in blocks)
    kids = browse("E11.6")
    assert {
        "code": "E11.65",
        "description": "Type 2 diabetes mellitus with hyperglycemia",
        "billable": True,
    } in kids
