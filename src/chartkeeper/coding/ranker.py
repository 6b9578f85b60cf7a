"""A learned ranking of a phrase's candidate codes: gradient-boosted trees over ranking features.

The hand-weighted sum of a few features (``suggest.WEIGHTS``) cannot weigh the coders'
conventions against each other: a side or a "with ..." the text does not say, "NOS" meaning the
unspecified code, how characteristic a word is of a category. A boosted tree ensemble learns
these from labelled phrases, which the code set itself supplies: index rows and inclusion terms
held out of a suggester built without them (``ranker_training``). A candidate is judged against
the phrase's other candidates too (``phrase_rows``: how far each feature is from the best and
the worst of them), and the trees are trained to order the candidates of a phrase (LambdaMART,
ADR 0031), not to score each alone. Trees are trained with LightGBM at build time only; here
they are flat arrays evaluated with numpy, so the app needs neither LightGBM nor pickles, and a
suggestion costs a few vectorised passes.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

#: Each candidate's own features (``Suggester._features`` and ``Suggester._contrast``).
CANDIDATE_FEATURES: tuple[str, ...] = (
    "route",
    "cover",
    "cover_leaf",
    "rendered",
    "agree",
    "missing",
    "nos_unspecified",
    "nec_other",
    "weighted",
    "share",
    "direct",
    "index",
    "rank",
    "seen",
    "labels",
    "title_unsaid",
    "own_said",
    "own_unsaid",
    "own_precision",
    "sibling_words",
    "pool_words",
    "side",
    "side_unsaid",
    "with_unsaid",
    "without",
    "other_unsaid",
    "contradicted",
    "marked_unsaid",
    "unspecified",
    "unspecified_default",
    "unspecified_specific",
    "number_match",
    "number_conflict",
    "siblings",
    "category_lift",
    "category_worst",
    "parent_words",
    "leaf_words",
    "leaf_documents",
    "parent_documents",
    "category_documents",
    "code_length",
)

#: The candidate features also compared across a phrase's candidates: all but those that are
#: already positions in the list or say nothing of the text.
COMPARED: tuple[str, ...] = tuple(f for f in CANDIDATE_FEATURES if f not in ("rank", "seen", "code_length"))

#: The model's columns: a candidate's own features, then each compared feature's distance below
#: the best and above the worst of the phrase's candidates, then the hand-weighted sum's distance
#: below the best (``phrase_rows``).
FEATURES: tuple[str, ...] = (
    *CANDIDATE_FEATURES,
    *(f"{f}_below_best" for f in COMPARED),
    *(f"{f}_above_worst" for f in COMPARED),
    "sum_below_best",
)

_COMPARED_COLUMNS = np.array([CANDIDATE_FEATURES.index(f) for f in COMPARED])


def phrase_rows(own: npt.NDArray[np.float64], hand: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The model's rows (``FEATURES`` columns) for one phrase's candidates.

    own: one row of ``CANDIDATE_FEATURES`` per candidate; hand: their hand-weighted sums. A
    pointwise score cannot tell "the best route of this phrase" from "a good route": the same
    route is the answer for one phrase and a distant second for another, so each candidate is
    also placed against the others (0 for the best, negative below it).
    """
    if own.shape[0] == 0:
        return np.zeros((0, len(FEATURES)))
    compared = own[:, _COMPARED_COLUMNS]
    return np.hstack(
        [
            own,
            compared - compared.max(axis=0),
            compared - compared.min(axis=0),
            (hand - hand.max())[:, None],
        ]
    )


def _pack(values: npt.NDArray[Any]) -> str:
    return base64.b64encode(np.ascontiguousarray(values).tobytes()).decode("ascii")


def _unpack(text: str, dtype: Any) -> npt.NDArray[Any]:
    return np.frombuffer(base64.b64decode(text), dtype=dtype).copy()


@dataclass(frozen=True)
class TreeRanker:
    """An ensemble of binary trees whose leaf values add up to a log-odds that a code is right
    (a ranking's scores, calibrated to chances when it was laid out).

    Every tree is stored *complete* to ``depth``, level by level as in a binary heap: inner
    slot ``i`` has children ``2i + 1`` and ``2i + 2``, and a row goes right when its
    ``feature`` value exceeds ``threshold``. A leaf shallower than ``depth`` is padded with
    slots that always go left (threshold +inf) and repeats its value in every leaf slot below
    it. So all rows walk all trees in ``depth`` vectorised steps with no branching, which is
    what makes a few hundred trees affordable per phrase.
    """

    features: tuple[str, ...]
    baseline: float
    depth: int
    feature: npt.NDArray[np.int32]  # (trees, 2**depth - 1)
    threshold: npt.NDArray[np.float64]  # (trees, 2**depth - 1)
    value: npt.NDArray[np.float64]  # (trees, 2**depth)
    trained_on: dict[str, Any]

    def log_odds(self, rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """One log-odds per row of ``rows`` (columns in ``features`` order)."""
        trees, inner = self.feature.shape
        count, columns = rows.shape
        if count == 0 or trees == 0:
            return np.full(count, self.baseline)
        feature, threshold = self._flat_feature, self.threshold.ravel()
        values = np.ascontiguousarray(rows, dtype=np.float64).ravel()
        offset = (np.arange(trees, dtype=np.intp) * inner)[None, :]
        row_start = (np.arange(count, dtype=np.intp) * columns)[:, None]
        # every row walks every tree one level per step; the buffers are reused, and ``take``
        # with mode="clip" skips the bounds checks (every index is in range by construction):
        # together a third faster than fancy indexing
        slot = np.zeros((count, trees), dtype=np.intp)
        at, column = np.empty_like(slot), np.empty_like(slot)
        value, limit = np.empty((count, trees)), np.empty((count, trees))
        right = np.empty((count, trees), dtype=bool)
        for _ in range(self.depth):
            np.add(offset, slot, out=at)
            np.take(feature, at, out=column, mode="clip")
            column += row_start
            np.take(values, column, out=value, mode="clip")
            np.take(threshold, at, out=limit, mode="clip")
            np.greater(value, limit, out=right)
            slot *= 2
            slot += 1
            slot += right
        leaf = slot - inner + np.arange(trees, dtype=np.intp) * (inner + 1)
        odds: npt.NDArray[np.float64] = self.baseline + np.take(self.value.ravel(), leaf).sum(axis=1)
        return odds

    @cached_property
    def _flat_feature(self) -> npt.NDArray[np.intp]:
        """``feature`` flat, as the index type ``take`` wants (converted once, not per call)."""
        return self.feature.ravel().astype(np.intp)

    def to_json(self) -> dict[str, Any]:
        trees = self.feature.shape[0]
        return {
            "features": list(self.features),
            "baseline": self.baseline,
            "depth": self.depth,
            "trees": trees,
            "trained_on": self.trained_on,
            "feature": _pack(self.feature.astype("<i2")),
            "threshold": _pack(self.threshold.astype("<f8")),
            "value": _pack(self.value.astype("<f8")),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TreeRanker:
        features = tuple(data["features"])
        if features != FEATURES:
            raise ValueError("the ranking model was trained on other features: rebuild it")
        trees, depth = int(data["trees"]), int(data["depth"])
        inner = 2**depth - 1
        return cls(
            features=features,
            baseline=float(data["baseline"]),
            depth=depth,
            trained_on=dict(data["trained_on"]),
            feature=_unpack(data["feature"], "<i2").astype(np.int32).reshape(trees, inner),
            threshold=_unpack(data["threshold"], "<f8").reshape(trees, inner),
            value=_unpack(data["value"], "<f8").reshape(trees, inner + 1),
        )


def from_lightgbm(booster: Any, scale: float, intercept: float, trained_on: dict[str, Any]) -> TreeRanker:
    """Lay out a trained LightGBM ``Booster`` (numeric features, no missing values), its scores
    mapped to log-odds by ``scale * score + intercept`` (a fit on the training candidates): a
    ranking objective's scores only order, and the app shows chances (a coder reads 0.9 and
    0.05 differently)."""
    dumped = booster.dump_model()
    if len(dumped["feature_names"]) != len(FEATURES):
        raise ValueError("the LightGBM model was trained on other columns")
    trees = [info["tree_structure"] for info in dumped["tree_info"]]

    def depth_of(node: dict[str, Any]) -> int:
        if "leaf_value" in node:
            return 0
        return 1 + max(depth_of(node["left_child"]), depth_of(node["right_child"]))

    depth = max([1, *(depth_of(tree) for tree in trees)])
    inner = 2**depth - 1
    feature = np.zeros((len(trees), inner), dtype=np.int32)
    threshold = np.full((len(trees), inner), np.inf)
    value = np.zeros((len(trees), inner + 1))
    for t, tree in enumerate(trees):
        stack = [(tree, 0)]  # (LightGBM node, heap slot)
        while stack:
            node, slot = stack.pop()
            if "leaf_value" in node:
                first, count = slot, 1
                while first < inner:
                    first, count = 2 * first + 1, count * 2
                value[t, first - inner : first - inner + count] = scale * float(node["leaf_value"])
                continue
            if node["decision_type"] != "<=":
                raise ValueError(f"unsupported LightGBM split {node['decision_type']!r}")
            feature[t, slot] = int(node["split_feature"])
            threshold[t, slot] = float(node["threshold"])
            stack.append((node["left_child"], 2 * slot + 1))
            stack.append((node["right_child"], 2 * slot + 2))
    return TreeRanker(
        features=FEATURES,
        baseline=float(intercept),
        depth=depth,
        feature=feature,
        threshold=threshold,
        value=value,
        trained_on=trained_on,
    )
