"""A learned ranking of a phrase's candidate codes: gradient-boosted trees over ranking features.

The hand-weighted sum of a few features (``suggest.WEIGHTS``) cannot weigh the coders'
conventions against each other: a side or a "with ..." the text does not say, "NOS" meaning the
unspecified code, how characteristic a word is of a category. A boosted tree ensemble learns
these from labelled phrases, which the code set itself supplies: index rows and inclusion terms
held out of a suggester built without them (``ranker_training``). Trees are trained with
scikit-learn at build time only; here they are flat arrays evaluated with numpy, so the app needs
neither scikit-learn nor pickles, and a suggestion costs a few vectorised passes.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

#: The features, in the order of the model's columns (see ``Suggester._features``).
FEATURES: tuple[str, ...] = (
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


def _pack(values: npt.NDArray[Any]) -> str:
    return base64.b64encode(np.ascontiguousarray(values).tobytes()).decode("ascii")


def _unpack(text: str, dtype: Any) -> npt.NDArray[Any]:
    return np.frombuffer(base64.b64decode(text), dtype=dtype).copy()


@dataclass(frozen=True)
class TreeRanker:
    """An ensemble of binary trees whose leaf values add up to a log-odds that a code is right.

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
        if rows.shape[0] == 0 or trees == 0:
            return np.full(rows.shape[0], self.baseline)
        feature, threshold = self.feature.ravel(), self.threshold.ravel()
        offset = np.arange(trees) * inner
        row = np.arange(rows.shape[0])[:, None]
        slot = np.zeros((rows.shape[0], trees), dtype=np.int64)
        for _ in range(self.depth):
            at = offset + slot
            slot = 2 * slot + 1 + (rows[row, feature[at]] > threshold[at])
        leaf = slot - inner + np.arange(trees) * (inner + 1)
        odds: npt.NDArray[np.float64] = self.baseline + self.value.ravel()[leaf].sum(axis=1)
        return odds

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


def from_sklearn(model: Any, trained_on: dict[str, Any]) -> TreeRanker:
    """Lay out a fitted ``HistGradientBoostingClassifier`` (numeric features, no missing values)."""
    predictors = [tree for (tree,) in model._predictors]
    depth = max(int(tree.nodes["depth"].max()) for tree in predictors)
    inner = 2**depth - 1
    feature = np.zeros((len(predictors), inner), dtype=np.int32)
    threshold = np.full((len(predictors), inner), np.inf)
    value = np.zeros((len(predictors), inner + 1))
    for t, tree in enumerate(predictors):
        nodes = tree.nodes
        stack = [(0, 0)]  # (sklearn node, heap slot)
        while stack:
            n, slot = stack.pop()
            node = nodes[n]
            if node["is_leaf"]:
                # every leaf slot under this slot carries its value
                first, count = slot, 1
                while first < inner:
                    first, count = 2 * first + 1, count * 2
                value[t, first - inner : first - inner + count] = float(node["value"])
                continue
            feature[t, slot] = int(node["feature_idx"])
            threshold[t, slot] = float(node["num_threshold"])
            stack.append((int(node["left"]), 2 * slot + 1))
            stack.append((int(node["right"]), 2 * slot + 2))
    return TreeRanker(
        features=FEATURES,
        baseline=float(np.asarray(model._baseline_prediction).ravel()[0]),
        depth=depth,
        feature=feature,
        threshold=threshold,
        value=value,
        trained_on=trained_on,
    )
