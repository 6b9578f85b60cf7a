"""Labelled phrases from the code set itself, and training the learned ranking on them.

A phrase is labelled by the code set: an index row without subterms (its main term and subterms
read as one phrase, labelled with its code) or a tabular inclusion term (labelled with its code).
To learn from a phrase, or to measure on it, the suggester must be built *without* it
(``HeldOut``): otherwise it finds its own words. Training therefore draws phrases, splits them
into folds, builds one suggester per fold without that fold's phrases, and records every
candidate's features with whether it is right. ``benchmarks/coding.py`` measures with the same
draws on phrases the ranking was not trained on, and ``tools/build_coding_data.py`` trains the
shipped model here.

LightGBM is needed only here (build and benchmark time), never by the app.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from chartkeeper.coding.codeset import default_codeset, load_data
from chartkeeper.coding.index import AlphabeticIndex
from chartkeeper.coding.ranker import FEATURES, TreeRanker, from_lightgbm
from chartkeeper.coding.suggest import RERANK, HeldOut, Suggester, build_suggester, model_rows

#: The ensemble's settings (ADR 0031), chosen on two draws the training never saw (seeds 7 and
#: 11): 1,000 trees of at most 63 leaves and depth 8, a LambdaMART ranking whose gains count the
#: first 10 places. 127 leaves or a slower rate did no better.
ITERATIONS, LEARNING_RATE, MAX_LEAF_NODES, MAX_DEPTH, TRUNCATION = 1000, 0.05, 63, 8, 10

#: The draw the shipped ranking is trained on (``tools/build_coding_data.py --ranker``);
#: ``benchmarks/coding.py`` trains its own on the same draw, without the phrases it measures.
SHIPPED_SEED, SHIPPED_SAMPLE = 13, 12000

#: Phrases of each kind held out of one training suggester: a draw of ``sample`` phrases is
#: split into ``sample // FOLD_SIZE`` folds (at least two), so a larger draw does not make each
#: suggester lack more of the code set than the benchmark's do.
FOLD_SIZE = 1500

#: Index rows with subterms ("Pneumonia J18.9") added to a training draw, as a share of its size:
#: the bare terms clinicians write, whose answers are often the unspecified codes that index rows
#: without subterms and inclusion terms seldom lead to.
#: (A share of 1.0 did worse on both the benchmark and the clinicians' phrases of the tests.)
HEADING_SHARE = 0.5

IndexCase = tuple[int, str, str]  # (row id, phrase, code)
TermCase = tuple[str, str]  # (inclusion term, code)


def _coded_index_rows(with_subterms: bool) -> list[IndexCase]:
    """Every index row that has a code, with or without subterms, as (row id, phrase, code)."""
    data = load_data("icd10cm-index.json.gz")
    index = AlphabeticIndex(data["rows"], data["release"])
    rows = data["rows"]
    # a row has subterms when the next row is one level deeper
    headings = {rows[i][0] for i in range(len(rows) - 1) if rows[i + 1][1] > rows[i][1]}
    return [
        (e.row_id, " ".join(e.path), e.code)
        for e in index.entries
        if e.code and (e.row_id in headings) == with_subterms
    ]


def labelled_index_rows(rng: random.Random, n: int) -> list[IndexCase]:
    """``n`` index rows that have a code and no subterms, as (row id, phrase, code)."""
    pool = _coded_index_rows(with_subterms=False)
    return rng.sample(pool, min(n, len(pool)))


def labelled_inclusion_terms(rng: random.Random, n: int) -> list[TermCase]:
    """``n`` inclusion terms of billable codes' tabular entries, as (term, code)."""
    cs = default_codeset()
    pool = [
        (term, node.code)
        for node in cs.nodes.values()
        if node.leaf
        for term in node.notes.get("inclusion_term", ())
        if len(term) > 3
    ]
    return rng.sample(pool, min(n, len(pool)))


def labelled_index_headings(rng: random.Random, n: int) -> list[IndexCase]:
    """``n`` index rows that have a code *and* subterms ("Pneumonia J18.9"), as (row id, phrase,
    code): a term said with no further detail, the way clinicians write problems, and the
    index's default for it. Training only: the benchmark measures on rows without subterms."""
    pool = _coded_index_rows(with_subterms=True)
    return rng.sample(pool, min(n, len(pool)))


def with_encounters(rng: random.Random, cases: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Half the phrases of codes that take a 7th character get one said ("initial encounter"),
    as clinicians write injuries: the ranking must not read those words as the condition's."""
    cs = default_codeset()
    out: list[tuple[str, str]] = []
    for phrase, code in cases:
        base = code.rstrip("-").rstrip(".")
        if cs.seventh(base) is not None and rng.random() < 0.5:
            phrase = f"{phrase} {rng.choice(('initial encounter', 'subsequent encounter', 'sequela'))}"
        out.append((phrase, code))
    return out


def draw(sample: int, seed: int) -> tuple[list[IndexCase], list[TermCase]]:
    """The labelled phrases of one draw: ``sample`` index rows, then ``sample`` inclusion terms."""
    rng = random.Random(seed)
    return labelled_index_rows(rng, sample), labelled_inclusion_terms(rng, sample)


def split_folds(
    index_cases: list[IndexCase], term_cases: list[TermCase], folds: int
) -> Iterator[tuple[list[IndexCase], list[TermCase], HeldOut]]:
    """Each fold's index rows and inclusion terms, and what its suggester is built without."""
    for fold in range(folds):
        idx = index_cases[fold::folds]
        inc = term_cases[fold::folds]
        yield idx, inc, HeldOut(frozenset(r for r, _p, _c in idx), frozenset((c, t) for t, c in inc))


def hit(label: str, predicted: str) -> bool:
    """Whether a suggested code answers a label: equal, or extending a label that needs more."""
    cs = default_codeset()
    base = label.rstrip("-").rstrip(".")
    if label.endswith("-") or not cs.status(base).billable:
        return predicted.startswith(base)
    return predicted == base


#: Directions the ranking may not reverse, whatever the training phrases happen to show: more
#: of the text explained never hurts a code; a side, a "with", an "other" or a number the text
#: does not say, or words only its siblings or other candidates explain, never help it. More
#: index rows and terms at a code never hurt it either: a held-out phrase's own row is missing
#: from the suggester it is asked of, so in training the right leaf has one document fewer than
#: in the app, and an unconstrained ranking learned that fewer is better (it put E11.A, in
#: remission, above E11.9 for "DM2"). That holds compared across candidates too
#: (``DIRECTED_WHEN_COMPARED``); the other compared columns are free.
MONOTONE: dict[str, int] = {
    "route": 1,
    "cover": 1,
    "cover_leaf": 1,
    "agree": 1,
    "rendered": 1,
    "nos_unspecified": 1,
    "nec_other": 1,
    "number_match": 1,
    "missing": -1,
    "title_unsaid": -1,
    "own_unsaid": -1,
    "sibling_words": -1,
    "pool_words": -1,
    "side_unsaid": -1,
    "with_unsaid": -1,
    "other_unsaid": -1,
    "contradicted": -1,
    "marked_unsaid": -1,
    "number_conflict": -1,
    "leaf_documents": 1,
    "parent_documents": 1,
    "category_documents": 1,
}
DIRECTED_WHEN_COMPARED = ("leaf_documents", "parent_documents", "category_documents")


def monotone_constraints() -> list[int]:
    """LightGBM's ``monotone_constraints``, one per ``FEATURES`` column."""
    directions = dict(MONOTONE)
    for name in DIRECTED_WHEN_COMPARED:
        directions[f"{name}_below_best"] = directions[f"{name}_above_worst"] = MONOTONE[name]
    return [directions.get(name, 0) for name in FEATURES]


@dataclass
class Examples:
    """Candidate rows (``FEATURES`` columns), whether each is right, and how many candidates
    each phrase has (``groups``, in order: a ranking learns within a phrase's candidates)."""

    rows: list[npt.NDArray[np.float64]] = field(default_factory=list)
    right: list[bool] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)

    @property
    def phrases(self) -> int:
        return len(self.groups)

    @property
    def candidates(self) -> int:
        return len(self.right)

    def extend(self, suggester: Suggester, cases: Iterable[tuple[str, str]]) -> None:
        """Add every candidate of each (phrase, code) that ``suggester`` was built without."""
        for phrase, code in cases:
            tokens = suggester.query_words(phrase)
            query = frozenset(tokens)
            head = suggester.featured(tokens, full=True)[:RERANK]
            if not head:
                continue
            self.rows.append(model_rows(head))
            for c in head:
                full = suggester.complete(c.leaf, query)
                self.right.append(full is not None and hit(code, full[0]))
            self.groups.append(len(head))


def fit(examples: Examples, trained_on: dict[str, Any]) -> TreeRanker:
    """A LambdaMART ensemble ordering each phrase's candidates, its scores calibrated to the
    chance that a candidate is right (the same every run: one thread, LightGBM's deterministic
    mode)."""
    import lightgbm

    rows = np.vstack(examples.rows)
    right = np.array(examples.right, dtype=np.int32)
    params = {
        "objective": "lambdarank",
        "lambdarank_truncation_level": TRUNCATION,
        "learning_rate": LEARNING_RATE,
        "num_leaves": MAX_LEAF_NODES,
        "max_depth": MAX_DEPTH,
        "min_data_in_leaf": 20,
        "monotone_constraints": monotone_constraints(),
        "num_threads": 1,
        "deterministic": True,
        "force_row_wise": True,
        "seed": 0,
        "verbose": -1,
    }
    data = lightgbm.Dataset(rows, right, group=examples.groups)
    booster = lightgbm.train(params, data, num_boost_round=ITERATIONS)
    scale, intercept = calibrate(np.asarray(booster.predict(rows), dtype=np.float64), right)
    return from_lightgbm(
        booster,
        scale,
        intercept,
        dict(
            trained_on,
            phrases=examples.phrases,
            candidates=examples.candidates,
            objective="lambdarank",
            iterations=ITERATIONS,
            learning_rate=LEARNING_RATE,
            max_leaf_nodes=MAX_LEAF_NODES,
            max_depth=MAX_DEPTH,
            truncation=TRUNCATION,
            calibration=[scale, intercept],
        ),
    )


def calibrate(scores: npt.NDArray[np.float64], right: npt.NDArray[np.int32]) -> tuple[float, float]:
    """``scale`` and ``intercept`` of the logistic fit of ``right`` on ``scores`` (Platt scaling,
    by Newton's method): ranking scores made chances."""
    x = np.column_stack([scores, np.ones_like(scores)])
    w = np.zeros(2)
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -500, 500)))
        gradient = x.T @ (p - right)
        hessian = (x * (p * (1 - p))[:, None]).T @ x + 1e-9 * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return float(w[0]), float(w[1])


def train_ranker(
    seed: int,
    sample: int,
    exclude: frozenset[tuple[str, str]] = frozenset(),
    progress: Callable[[str], None] | None = None,
) -> TreeRanker:
    """Train on one draw (``sample`` phrases of each kind), leaving out (phrase, code) ``exclude``:
    the phrases a measurement will ask, so that no test phrase was ever a training phrase."""
    index_cases, term_cases = draw(sample, seed)
    folds = max(2, sample // FOLD_SIZE)
    rng = random.Random(seed + 1)
    index_cases += labelled_index_headings(rng, int(sample * HEADING_SHARE))
    rng.shuffle(index_cases)
    examples = Examples()
    skipped = 0
    for k, (idx, inc, held) in enumerate(split_folds(index_cases, term_cases, folds)):
        if progress is not None:
            progress(f"fold {k + 1}/{folds}: building a suggester without its phrases")
        suggester = build_suggester(held)
        cases = [(p, c) for _r, p, c in idx] + list(inc)
        kept = [(p, c) for p, c in cases if (p, c) not in exclude]
        skipped += len(cases) - len(kept)
        examples.extend(suggester, with_encounters(rng, kept))
    if progress is not None:
        progress(f"fitting on {examples.candidates} candidates of {examples.phrases} phrases")
    return fit(examples, {"seed": seed, "sample": sample, "folds": folds, "left_out": skipped})
