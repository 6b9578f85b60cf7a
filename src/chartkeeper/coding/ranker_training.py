"""Labelled phrases from the code set itself, and training the learned ranking on them.

A phrase is labelled by the code set: an index row without subterms (its main term and subterms
read as one phrase, labelled with its code) or a tabular inclusion term (labelled with its code).
To learn from a phrase, or to measure on it, the suggester must be built *without* it
(``HeldOut``): otherwise it finds its own words. Training therefore draws phrases, splits them
into folds, builds one suggester per fold without that fold's phrases, and records every
candidate's features with whether it is right. ``benchmarks/coding.py`` measures with the same
draws on phrases the ranking was not trained on, and ``tools/build_coding_data.py`` trains the
shipped model here.

scikit-learn is needed only here (build and benchmark time), never by the app.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from chartkeeper.coding.codeset import default_codeset, load_data
from chartkeeper.coding.index import AlphabeticIndex
from chartkeeper.coding.ranker import FEATURES, TreeRanker, from_sklearn
from chartkeeper.coding.suggest import RERANK, HeldOut, Suggester, build_suggester
from chartkeeper.coding.text import query_tokens

#: The ensemble's settings, chosen on a development draw (seed 13, measured on seed 7 phrases
#: it did not train on): 600 trees of at most 63 leaves and depth 8 ranked as well as 1,500
#: trees of 31 leaves, at a fifth of the evaluation cost.
ITERATIONS, LEARNING_RATE, MAX_LEAF_NODES, MAX_DEPTH = 600, 0.1, 63, 8

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
#: does not say, or words only its siblings or other candidates explain, never help it.
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
    "number_conflict": -1,
}


@dataclass
class Examples:
    """Candidate feature rows (``FEATURES`` columns), whether each is right, and its phrase."""

    rows: list[list[float]]
    right: list[bool]
    phrases: int = 0

    def extend(self, suggester: Suggester, cases: Iterable[tuple[str, str]]) -> None:
        """Add every candidate of each (phrase, code) that ``suggester`` was built without."""
        for phrase, code in cases:
            tokens, _unknown = suggester.matcher.normalize_query(query_tokens(phrase))
            query = frozenset(tokens)
            self.phrases += 1
            for c in suggester.featured(tokens, full=True)[:RERANK]:
                full = suggester.complete(c.leaf, query)
                self.rows.append([c.features[name] for name in FEATURES])
                self.right.append(full is not None and hit(code, full[0]))


def fit(examples: Examples, trained_on: dict[str, Any]) -> TreeRanker:
    """A boosted tree ensemble predicting which candidates are right (the same every run)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    model = HistGradientBoostingClassifier(
        max_iter=ITERATIONS,
        learning_rate=LEARNING_RATE,
        max_leaf_nodes=MAX_LEAF_NODES,
        max_depth=MAX_DEPTH,
        monotonic_cst=[MONOTONE.get(name, 0) for name in FEATURES],
        early_stopping=False,
        random_state=0,
    )
    # one thread: parallel histogram sums add floats in varying order, and the trees then differ
    # from run to run; the shipped model must be reproducible
    with threadpool_limits(1):
        model.fit(np.array(examples.rows, dtype=np.float64), np.array(examples.right))
    return from_sklearn(
        model,
        dict(
            trained_on,
            phrases=examples.phrases,
            candidates=len(examples.rows),
            iterations=ITERATIONS,
            learning_rate=LEARNING_RATE,
            max_leaf_nodes=MAX_LEAF_NODES,
            max_depth=MAX_DEPTH,
        ),
    )


def train_ranker(
    seed: int,
    sample: int,
    folds: int = 2,
    exclude: frozenset[tuple[str, str]] = frozenset(),
    progress: Callable[[str], None] | None = None,
) -> TreeRanker:
    """Train on one draw (``sample`` phrases of each kind), leaving out (phrase, code) ``exclude``:
    the phrases a measurement will ask, so that no test phrase was ever a training phrase."""
    index_cases, term_cases = draw(sample, seed)
    rng = random.Random(seed + 1)
    index_cases += labelled_index_headings(rng, int(sample * HEADING_SHARE))
    rng.shuffle(index_cases)
    examples = Examples([], [])
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
        progress(f"fitting on {len(examples.rows)} candidates of {examples.phrases} phrases")
    return fit(examples, {"seed": seed, "sample": sample, "folds": folds, "left_out": skipped})
