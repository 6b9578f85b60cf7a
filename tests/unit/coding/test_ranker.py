"""The learned ranking: its numpy layout scores exactly as the LightGBM model it came from, and
each candidate is placed against the phrase's other candidates."""

from __future__ import annotations

import random

import lightgbm
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chartkeeper.coding.ranker import (
    CANDIDATE_FEATURES,
    COMPARED,
    FEATURES,
    TreeRanker,
    from_lightgbm,
    phrase_rows,
)
from chartkeeper.coding.ranker_training import calibrate, hit, labelled_index_headings, with_encounters
from chartkeeper.coding.suggest import default_ranker, default_suggester


def _trained(seed: int, depth: int, leaves: int) -> tuple[lightgbm.Booster, np.ndarray]:
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(600, len(FEATURES)))
    # a label that needs interactions and thresholds, so trees grow uneven
    right = ((rows[:, 0] > 0.3) & (rows[:, 5] < 0.5) | (rows[:, 7] * rows[:, 2] > 1.0)).astype(int)
    params = {
        "objective": "lambdarank",
        "num_leaves": leaves,
        "max_depth": depth,
        "min_data_in_leaf": 5,
        "num_threads": 1,
        "deterministic": True,
        "verbose": -1,
    }
    booster = lightgbm.train(params, lightgbm.Dataset(rows, right, group=[20] * 30), num_boost_round=25)
    return booster, rows


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    depth=st.integers(1, 6),
    leaves=st.integers(2, 40),
    scale=st.floats(0.1, 3.0),
    intercept=st.floats(-3.0, 3.0),
    probe=st.lists(st.floats(-4, 4, allow_nan=False), min_size=len(FEATURES), max_size=len(FEATURES)),
)
def test_numpy_layout_scores_as_lightgbm(
    seed: int, depth: int, leaves: int, scale: float, intercept: float, probe: list[float]
) -> None:
    booster, rows = _trained(seed, depth, leaves)
    ranker = from_lightgbm(booster, scale, intercept, {"test": True})
    sample = np.vstack([rows[:50], np.array([probe]), rows[:3] + 1e-12])
    assert np.allclose(ranker.log_odds(sample), scale * booster.predict(sample) + intercept, atol=1e-9)
    # the shipped form reads back to the same scores
    again = TreeRanker.from_json(ranker.to_json())
    assert np.array_equal(again.log_odds(sample), ranker.log_odds(sample))


def test_a_split_on_its_threshold_goes_left_as_in_lightgbm() -> None:
    booster, rows = _trained(7, 4, 12)
    ranker = from_lightgbm(booster, 1.0, 0.0, {})
    used = ranker.threshold[np.isfinite(ranker.threshold)]
    column = int(ranker.feature[np.isfinite(ranker.threshold)][0])
    at = np.repeat(rows[:1], 1, axis=0).copy()
    at[0, column] = used[0]  # exactly on a threshold: LightGBM's "<=" goes left
    assert np.allclose(ranker.log_odds(at), booster.predict(at), atol=1e-9)


def test_no_rows_and_foreign_models() -> None:
    booster, _rows = _trained(1, 3, 8)
    ranker = from_lightgbm(booster, 1.0, 0.0, {})
    assert ranker.log_odds(np.zeros((0, len(FEATURES)))).shape == (0,)
    stale = ranker.to_json() | {"features": [*FEATURES[:-1], "something else"]}
    with pytest.raises(ValueError, match="other features"):
        TreeRanker.from_json(stale)


def test_phrase_rows_place_each_candidate_against_the_others() -> None:
    own = np.zeros((3, len(CANDIDATE_FEATURES)))
    route = CANDIDATE_FEATURES.index("route")
    own[:, route] = [0.9, 0.5, 0.2]
    rows = phrase_rows(own, np.array([2.0, 3.0, 1.0]))
    assert rows.shape == (3, len(FEATURES))
    assert np.array_equal(rows[:, : len(CANDIDATE_FEATURES)], own)
    below = FEATURES.index("route_below_best")
    above = FEATURES.index("route_above_worst")
    assert rows[:, below] == pytest.approx([0.0, -0.4, -0.7])
    assert rows[:, above] == pytest.approx([0.7, 0.3, 0.0])
    assert rows[:, FEATURES.index("sum_below_best")] == pytest.approx([-1.0, 0.0, -2.0])
    assert (
        "rank_below_best" not in FEATURES and len(FEATURES) == len(CANDIDATE_FEATURES) + 2 * len(COMPARED) + 1
    )
    assert phrase_rows(own[:0], np.zeros(0)).shape == (0, len(FEATURES))


def test_calibration_recovers_a_logistic_relation() -> None:
    rng = np.random.default_rng(3)
    scores = rng.normal(size=20_000)
    right = (rng.random(20_000) < 1 / (1 + np.exp(-(2.0 * scores - 1.0)))).astype(np.int32)
    scale, intercept = calibrate(scores, right)
    assert scale == pytest.approx(2.0, abs=0.1) and intercept == pytest.approx(-1.0, abs=0.1)


def test_shipped_ranker_is_loaded_and_says_what_it_was_trained_on() -> None:
    ranker = default_ranker()
    assert ranker.features == FEATURES
    assert ranker.trained_on["seed"] == 13 and ranker.trained_on["phrases"] > 5000
    assert default_suggester().ranker is ranker
    # its scores are chances: the best suggestion for a plain phrase is confident
    [best] = default_suggester().suggest("type 2 diabetes with hyperglycemia", 1)
    assert best.code == "E11.65" and best.score > 0.5


def test_training_phrases_include_headings_and_encounters() -> None:
    headings = labelled_index_headings(random.Random(3), 200)
    assert len(headings) == 200 and all(code for _row, _phrase, code in headings)
    cases = [("Fracture of neck of femur", "S72.00-"), ("Pneumonia", "J18.9")] * 20
    said = with_encounters(random.Random(5), cases)
    pneumonia = [p for p, c in said if c == "J18.9"]
    femur = [p for p, c in said if c == "S72.00-"]
    assert set(pneumonia) == {"Pneumonia"}  # J18.9 takes no 7th character
    assert any(p.endswith("encounter") or p.endswith("sequela") for p in femur)
    assert "Fracture of neck of femur" in femur
    assert hit("S72.00-", "S72.001A") and not hit("J18.9", "J18.8")


class _Reversed:
    """A ranking unsure of every candidate (chances near 0.005 %) that prefers the hand-weighted
    sum's last candidates to its first."""

    def log_odds(self, rows: np.ndarray) -> np.ndarray:
        return -10.0 + 0.01 * np.arange(rows.shape[0])


def test_the_learned_ranking_decides_even_when_unsure() -> None:
    """Scores are the ranking's chances, in its order, however low (no hand-weighted fallback)."""
    from chartkeeper.coding.suggest import RERANK, Suggester, _chance
    from chartkeeper.coding.text import query_tokens

    shipped = default_suggester()
    reversed_ = Suggester(shipped.codeset, shipped.matcher.terms, None, _Reversed())  # type: ignore[arg-type]
    tokens, _ = reversed_.matcher.normalize_query(query_tokens("fracture of shaft of left femur"))
    hand = [c.leaf for c in reversed_.featured(tokens, full=False)][:RERANK]
    ranked = reversed_.candidates(tokens)[:RERANK]
    exact = {c.leaf for c in ranked if c.exact}
    assert [c.leaf for c in ranked if not c.exact] == [leaf for leaf in reversed(hand) if leaf not in exact]
    first = next(c for c in ranked if not c.exact)
    assert first.score == pytest.approx(_chance(-10.0 + 0.01 * hand.index(first.leaf)))


@pytest.mark.parametrize(
    ("text", "code"),
    [("pneumonia", "J18.9"), ("UTI", "N39.0"), ("CHF", "I50.9"), ("anemia NOS", "D64.9")],
)
def test_a_direct_index_hit_comes_first_and_scores_stay_in_order(text: str, code: str) -> None:
    suggestions = default_suggester().suggest(text, 5)
    assert suggestions[0].code == code
    scores = [s.score for s in suggestions]
    assert scores == sorted(scores, reverse=True)


def test_says_all_means_every_word_both_ways() -> None:
    matcher = default_suggester().matcher
    terms = matcher.terms
    doc = next(
        n for n, label in enumerate(terms.labels) if label == "Pneumonia" and terms.codes[n] == "J18.9"
    )
    assert matcher.says_all(doc, ["pneumonia"])
    assert not matcher.says_all(doc, ["pneumonia", "lobar"])  # a word the row does not say
    bacterial = next(n for n, label in enumerate(terms.labels) if label == "Pneumonia, bacterial")
    assert not matcher.says_all(bacterial, ["pneumonia"])  # a subterm the text does not say


def test_cousins_are_the_same_code_under_the_neighbouring_headers() -> None:
    suggester = default_suggester()
    # L89.30 unspecified buttock, L89.31 right, L89.32 left: stage 3 is the final 3 under each
    assert set(suggester._cousins("L89.303")) == {"L89.313", "L89.323"}
    assert suggester._cousins("I10") == []  # a category with no headers above it in reach
    from chartkeeper.coding.text import query_tokens

    tokens, _ = suggester.matcher.normalize_query(query_tokens("pressure ulcer unspecified buttock stage 3"))
    leaves = {c.leaf for c in suggester.featured(tokens, full=False)}
    assert {"L89.303", "L89.313", "L89.323"} <= leaves


def test_chances_of_extreme_log_odds_do_not_overflow() -> None:
    """Boosted trees can add up to log-odds far beyond what math.exp takes (-305 was seen)."""
    from chartkeeper.coding.suggest import _chance

    assert _chance(-1000.0) == 0.0 and _chance(1000.0) == 1.0
    assert _chance(0.0) == 0.5
    assert _chance(-2.0) == pytest.approx(1 / (1 + np.exp(2.0)))
