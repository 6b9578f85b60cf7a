"""The reachability test of ``benchmarks/coding_ceiling.py``: a label is reachable when a word of
the phrase, as the suggester reads it, is in what the suggester has for the label."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from chartkeeper.coding.suggest import default_suggester

BENCHMARK = Path(__file__).resolve().parents[3] / "benchmarks" / "coding_ceiling.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("coding_ceiling", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def reach() -> Any:
    return _load().Reach(default_suggester())


def test_an_abbreviation_and_a_typo_reach_through_the_suggesters_normalisation(reach: Any) -> None:
    text = reach.label_text("I10")
    assert "htn" not in text["own"] | text["headers"] | text["siblings"]
    assert reach.classify("HTN", "I10") | {"reaching": None} == {
        "reachable": True, "reaching": None, "strict": False, "route": "own",
        "via_rendering_only": False, "words": ["hypertension"],
    }  # fmt: skip
    typo = reach.classify("diabtes", "E11.9")
    assert typo["reachable"] and typo["words"] == ["diabete"]  # corrected to the vocabulary


def test_a_rendering_reaches_what_the_word_itself_does_not(reach: Any) -> None:
    said, rendered = reach.words("metatarsus")
    assert said == {"metatarsus"} and "foot" in rendered
    out = reach.classify("metatarsus", "M79.671")  # Pain in right foot
    assert out["reachable"] and out["via_rendering_only"] and out["reaching"] == ["foot"]


def test_words_the_label_never_uses_do_not_reach_it(reach: Any) -> None:
    out = reach.classify("cataract", "I10")
    assert not out["reachable"] and out["strict"]  # not even anywhere in category I10
    unknown = reach.classify("xqzvbn", "I10")
    assert unknown["words"] == [] and not unknown["reachable"]
    # a 7th-character label rests on its base code
    assert reach.node("S92.301A") == "S92.301"
