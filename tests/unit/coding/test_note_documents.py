"""The tabular list's Excludes and Includes notes as term documents (``terms.note_docs``)."""

from __future__ import annotations

import pytest

from chartkeeper.coding.codeset import default_codeset
from chartkeeper.coding.suggest import default_suggester
from chartkeeper.coding.terms import note_docs


def _docs(
    held_inclusions: frozenset[tuple[str, str]] = frozenset(),
    held_rows: list[tuple[str, tuple[str, ...]]] | None = None,
) -> set[tuple[str, str]]:
    docs = note_docs(default_codeset(), held_inclusions, held_rows or [])
    return {(code, label) for code, label, *_rest in docs}


def test_an_excludes_note_leads_to_the_code_it_names() -> None:
    docs = _docs()
    # J16's Excludes1: "congenital pneumonia (P23.-)", "pneumonia NOS (J18.9)"
    assert ("P23", "congenital pneumonia") in docs
    assert ("J18.9", "pneumonia NOS") in docs
    # one note naming three codes leads to each (A08's Excludes1)
    for code in ("J09.X3", "J10.2", "J11.2"):
        assert (code, "influenza with involvement of gastrointestinal tract") in docs


def test_an_includes_note_leads_to_its_own_node() -> None:
    docs = _docs()
    assert ("K02", "tooth decay") in docs
    assert ("K02", "dental cavities") in docs


def test_a_range_of_codes_leads_nowhere() -> None:
    labels = {label for _code, label in _docs()}
    # T67's Excludes1 "radiation-related disorders of the skin and subcutaneous tissue (L55-L59)"
    assert "radiation-related disorders of the skin and subcutaneous tissue" not in labels
    assert "malignant hyperpyrexia due to anesthesia" in labels  # the same list's single code


def test_a_note_saying_a_held_out_phrase_is_held_out_with_it() -> None:
    """A measurement on held-out phrases must not find them again in a note of the same code."""
    row = ("Pneumonia", "NOS")  # an index row's path, as the index keeps skipped rows
    assert ("J18.9", "pneumonia NOS") not in _docs(held_rows=[("J18.9", row)])
    # the same words held out for another code do not hide the note
    assert ("J18.9", "pneumonia NOS") in _docs(held_rows=[("J18.0", row)])
    # a held-out inclusion term hides a note with its words at its node
    held_term = frozenset({("K02.9", "Tooth decay")})
    assert ("K02", "tooth decay") in _docs(held_term)
    assert ("K02", "tooth decay") not in _docs(frozenset({("K02", "Tooth decay")}))


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # Excludes2 notes of I78.1 and Q82.5 say "pigmented nevus (D22.-)": before the notes
        # were read, the suggestion was C43.9, a melanoma
        ("pigmented nevus", "D22"),
        # E34.3's Excludes1 says "achondroplastic short stature (Q77.4)"
        ("achondroplastic short stature", "Q77"),
    ],
)
def test_suggestion_finds_a_condition_named_in_a_note(text: str, category: str) -> None:
    codes = [s.code for s in default_suggester().suggest(text, 5)]
    assert codes and codes[0].startswith(category), codes
