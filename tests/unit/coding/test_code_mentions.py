"""Codes named in a text are read as the words of their titles (the tabular list's "Conditions
classifiable to E08-E13"; a coder's "hx of C18")."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chartkeeper.coding.code_mentions import category_titles, say_codes, span_title
from chartkeeper.coding.codeset import default_codeset
from chartkeeper.coding.suggest import default_suggester
from chartkeeper.coding.terms import tabular_docs


@pytest.mark.parametrize(
    ("first", "last", "title"),
    [
        ("E08", "E13", "Diabetes mellitus"),  # a block, its range dropped from the title
        ("C18", None, "Malignant neoplasm of colon"),
        ("D50", "D89", "Diseases of the blood and blood-forming organs and certain disorders "
         "involving the immune mechanism"),  # a chapter: the narrowest entry holding both
        ("C7A.022", "C7A.025", "Malignant carcinoid tumors of the appendix, large intestine, and rectum"),
        ("I00", None, "Rheumatic fever"),  # "without heart involvement" is no condition said
        ("E99", None, None),  # no such code
        ("A00", "Z99", None),  # no entry holds two chapters
    ],
)  # fmt: skip
def test_a_span_is_named_by_the_narrowest_entry_holding_it(
    first: str, last: str | None, title: str | None
) -> None:
    assert span_title(default_codeset(), first, last) == title


def test_codes_in_a_text_are_said_in_words() -> None:
    cs = default_codeset()
    assert " ".join(say_codes("Conditions classifiable to F10.-", cs).split()) == (
        "Conditions classifiable to Alcohol related disorders"
    )
    assert " ".join(say_codes("hx of C18", cs).split()) == "hx of Malignant neoplasm of colon"
    assert (
        " ".join(say_codes("history of c18.9", cs).split())
        == "history of Malignant neoplasm of colon, unspecified"
    )
    # shaped like codes but not read as one: not in the code set, inside a word, a bare lower-case
    # category (a gene more often than P53, the newborn's bleeding)
    for text in ("B12 deficiency", "G6PD deficiency", "p53 mutation", "BMI 40.0-44.9", "HbA1c 7.2"):
        assert say_codes(text, cs) == text


def test_the_suggester_reads_a_code_named_in_a_phrase() -> None:
    suggester = default_suggester()
    # before codes were read: Z82.3 (family history of stroke) and Z85.9 first
    assert [s.code for s in suggester.suggest("fhx of E10", 1)] == ["Z83.3"]
    assert [s.code for s in suggester.suggest("personal history of C18", 1)] == ["Z85.038"]


def test_a_range_spans_the_categories_a_coder_knows_it_holds() -> None:
    cs = default_codeset()
    digestive = category_titles("Conditions classifiable to C15-C26", cs)
    assert len(digestive) == 12 and "Malignant neoplasm of colon" in digestive
    assert category_titles("Conditions classifiable to F11-F16, F18-F19", cs)[0] == "Opioid related disorders"
    assert category_titles("Conditions classifiable to C18", cs) == []  # one code: its title says it
    assert category_titles("Conditions classifiable to C7A.022-C7A.025", cs) == []  # within one category
    assert category_titles("Conditions in C00-C96", cs) == []  # across blocks: a broad class
    assert len(category_titles("Conditions classifiable to S00-S09", cs, limit=5)) == 5


def test_an_inclusion_term_naming_codes_is_matched_by_their_words() -> None:
    """Z80.0's "Conditions classifiable to C15-C26" is matched as its range's title and once per
    category; the extra documents are labelled with the title they add, never as the term."""
    docs = [d for d in tabular_docs(default_codeset(), frozenset()) if d[0] == "Z80.0"]
    by_label = {label: {w for group in required for w in group} for _c, label, _s, _a, required, _o in docs}
    assert {"digestive", "organ", "malignant"} <= by_label["Conditions classifiable to C15-C26"]
    assert "colon" in by_label["Conditions classifiable to C15-C26: Malignant neoplasm of colon"]
    # before: Z80.8 (other organs) first, the coder's Z80.0 third
    assert [s.code for s in default_suggester().suggest("family history of colon cancer", 1)] == ["Z80.0"]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ACEOSZcez0123456789.-, ", max_size=40))
def test_any_text_shaped_like_codes_is_read_without_error(text: str) -> None:
    said = say_codes(text, default_codeset())
    assert isinstance(said, str)
