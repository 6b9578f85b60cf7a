"""Code suggestion from free text, the way a coder works: index first, then the tabular list.

1. The text's words (abbreviations expanded, typos corrected, negation marked, any order) are
   matched against index rows: the main term must be said; subterms count; nonessential
   modifiers may be said or not; a ``see`` row stands for the row it points to.
2. Tabular descriptions and inclusion terms are matched the same way, as a second route.
3. A matched leaf brings its siblings, a matched header the leaves under it: the codes a coder
   sees in the tabular list at that point.
4. Each leaf is scored by features of the code set: the route, what is said of the leaf and its
   headers anywhere (node profiles, directly and through renderings), agreement of its own
   description, text words its category uses but it lacks, NOS / NEC conventions; first as a
   hand-weighted sum (``WEIGHTS``), then the best ``RERANK`` leaves by a learned ranking
   (``ranker``: boosted trees over those and 33 more features, such as a side, a "with ..." or
   an "other" the text does not say, and how characteristic its words are of the leaf's
   category, each also against the other candidates), trained on index rows and inclusion terms
   held out of the suggester. A leaf whose
   own index row or tabular term the text says word for word comes first.
5. The best leaves get the 7th character the text says (initial encounter when it says none).

Everything is in memory and deterministic; ties are broken by match order.
"""

from __future__ import annotations

import heapq
import math
import re
from bisect import bisect_left
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

from chartkeeper.coding.code_mentions import say_codes
from chartkeeper.coding.codeset import CodeSet, default_codeset, load_data, normalize
from chartkeeper.coding.index import AlphabeticIndex, load_index
from chartkeeper.coding.match import Hit, Matcher
from chartkeeper.coding.models import Suggestion
from chartkeeper.coding.ranker import CANDIDATE_FEATURES, TreeRanker, phrase_rows
from chartkeeper.coding.snomed import SnomedMap, default_snomed_map
from chartkeeper.coding.terms import Terms, compile_terms, node_of
from chartkeeper.coding.text import NEGATION, SOFT_WORDS, document_tokens, query_tokens, stem

_SEMANTIC_TAG = re.compile(r"\s*\((disorder|finding|situation|morphologic abnormality|event)\)\s*$", re.I)
INDEX_BONUS = 0.03
#: The ranking: a weighted sum of features (see ``Suggester._features``). Tuned on a development
#: draw of held-out phrases (benchmarks/coding.py --seed 11), not on the benchmark's own draw.
WEIGHTS = {
    "route": 0.5,
    "cover": 0.45,
    "cover_leaf": 0.05,
    "rendered": 0.15,
    "agree": 0.15,
    "missing": -0.75,
    "nos_unspecified": 0.05,
    "nec_other": 0.15,
}
#: A leaf's weighted sum over this is its score (0 to 1): a text said in full by a code's own
#: index row and description scores about 1.
SCORE_SCALE = 1.15
#: How many matched documents are followed to codes.
HITS = 30
#: The share of a match a sibling of the matched leaf, or a leaf under a matched header, keeps.
SIBLING_SHARE = 0.9
SUBTREE_SHARE = 0.95
#: A matched header with more leaves than this is followed down by the text instead.
MAX_LEAVES = 40
#: How many leaves (the best by route) are scored in full.
POOL = 60
#: The best leaves by route whose cousins join the pool, and the share of the route they keep.
COUSINS_OF, COUSIN_SHARE = 10, 0.85
#: Renderings added to the search: at most this many, each at least this rare.
EXPAND_MAX, EXPAND_MIN_WEIGHT = 2, 6.0
#: How many of the best leaves by the hand-weighted sum the learned ranking orders anew (the
#: rest follow in their order): the right code is among them for all but a few phrases.
RERANK = 30
#: Words whose opposite in a code's descriptions contradicts the text (the text says "benign",
#: the code's category "malignant"): coders read these before anything else.
OPPOSITES: dict[str, frozenset[str]] = {}
for _a, _b in (
    ("benign", "malignant"),
    ("acute", "chronic"),
    ("upper", "lower"),
    ("male", "female"),
    ("congenital", "acquired"),
    ("primary", "secondary"),
    ("open", "closed"),
    ("traumatic", "nontraumatic"),
    ("family", "personal"),
    ("superficial", "deep"),
    ("anterior", "posterior"),
    ("central", "peripheral"),
    ("initial", "subsequent"),
):
    OPPOSITES[_a] = OPPOSITES.get(_a, frozenset()) | {_b}
    OPPOSITES[_b] = OPPOSITES.get(_b, frozenset()) | {_a}
#: Essential modifiers a coder never assumes: a code whose description says one of these is
#: right only when the text says it (or a word of the same group): "lung cancer" is primary
#: (C34.9-), not secondary (C78.0-); "DVT" acute, not chronic; "hip fracture" traumatic, not a
#: stress or pathological one; "breast cancer" not a screening. The index writes each of them as
#: a subterm of its own, and the tabular list's defaults are the codes without them.
MARKED_GROUPS: tuple[frozenset[str], ...] = tuple(
    frozenset(stem(w) for w in group.split())
    for group in (
        "secondary metastatic metastasis metastases metastasized",
        "chronic",
        "recurrent recurring",
        "stress",
        "pathological pathologic",
        "screening",
        "congenital",
        "sequela sequelae",
        "subsequent",
        "history",
        "family familial",
        "newborn neonatal perinatal neonate",
        "pregnancy pregnant antepartum gestational",
        "puerperium puerperal postpartum",
        "remission",
        "carrier",
        "situ",
        "suspected",
        "postprocedural postoperative",
        "dependence dependent",
        "abuse",
        "poisoning overdose",
        "proximal",
        "distal",
    )
)
MARKED: dict[str, frozenset[str]] = {w: group for group in MARKED_GROUPS for w in group}
#: Words that say a side of the body.
SIDES = frozenset({"right", "left", "bilateral"})
_WITHOUT, _WITH = re.compile(r"\bwithout\b"), re.compile(r"\bwith\b")
#: What a description leaves unspecified: the word after "unspecified" ("unspecified side"), or
#: a whole "unspecified whether ..." clause. The text need not say these words.
_DEFAULTED = re.compile(r"\bunspecified (whether [^,]*|[a-z]+)")


@dataclass(frozen=True, slots=True)
class HeldOut:
    """What to leave out of the suggester, to measure it on phrases it was not built from."""

    index_rows: frozenset[int] = frozenset()
    inclusion_terms: frozenset[tuple[str, str]] = frozenset()  # (code, term)


@dataclass(frozen=True, slots=True)
class _LeafFacts:
    """Word sets of one leaf, for the ranking features."""

    title: frozenset[str]  # its description's words (soft words left out)
    title_weight: float
    leaf_said: frozenset[str]  # every word said of the leaf (description, inclusion terms, index)
    lineage_said: frozenset[str]  # the same over the leaf and its headers up to the category
    explained: frozenset[str]  # words of the lineage's descriptions and of the leaf's terms
    category: str  # its category's code
    unspecified: bool
    other: bool
    own: frozenset[str]  # its description's words, soft words included
    parent: str  # its parent's code when that is a category or subcategory, else ""
    parent_title: frozenset[str]
    sibling_words: frozenset[str]  # words of its siblings' descriptions
    siblings: int
    with_words: frozenset[str]  # what its description adds with "with" (before any "without")
    without: bool  # its description says "without"
    numbers: frozenset[str]
    defaulted: frozenset[str]  # words its description says are unspecified ("unspecified side")


@dataclass(slots=True)
class Candidate:
    """A leaf of the tabular list the text leads to, with what led there and how it scores."""

    leaf: str
    route: float  # the best index/tabular match leading here
    labels: list[str]  # the terms that led here, best first (at most 3)
    source: str  # "index" or "tabular", of the best
    seen: int  # order of discovery: ties go to the earlier
    share: float = 1.0  # 1 when a matched term leads to this leaf itself, less via a sibling
    exact: bool = False  # a term leading to this leaf itself says the text, all of it
    features: dict[str, float] = field(default_factory=dict)
    score: float = 0.0


class Suggester:
    """Ranks billable ICD-10-CM codes for a phrase; build once, call many times."""

    def __init__(
        self,
        codeset: CodeSet,
        terms: Terms,
        snomed: SnomedMap | None = None,
        ranker: TreeRanker | None = None,
    ) -> None:
        self.codeset = codeset
        self.snomed = snomed
        self.ranker = ranker
        self.matcher = Matcher(terms)
        self._negations = frozenset(terms.negations)
        self._node_offsets = [0]
        for count in terms.node_docs:
            self._node_offsets.append(self._node_offsets[-1] + count)
        self._spans: dict[str, tuple[int, int]] = {}
        self._refined: dict[tuple[str, frozenset[str]], tuple[str, str] | None] = {}
        self._node_ids = {code: k for k, code in enumerate(terms.node_codes)}
        self._leaf_cache: dict[str, list[tuple[str, float]]] = {}
        self._cousin_cache: dict[str, list[str]] = {}
        self._facts_cache: dict[str, _LeafFacts] = {}
        self._cat_cache: dict[str, frozenset[str]] = {}

    def query_words(self, text: str) -> list[str]:
        """The words of ``text`` as the suggester reads them: codes it names said as their
        titles (``code_mentions``), then tokenized, corrected and rendered to known words."""
        words = query_tokens(say_codes(text, self.codeset), self._negations)
        tokens, _unknown = self.matcher.normalize_query(words)
        return tokens

    def suggest(self, text: str, limit: int = 5) -> list[Suggestion]:
        """The ``limit`` best billable codes for ``text``, best first (empty when nothing fits)."""
        limit = max(1, min(limit, 50))
        tokens = self.query_words(text)
        query = frozenset(tokens)
        out: list[Suggestion] = []
        for c in self.candidates(tokens):
            full = self.complete(c.leaf, query)
            if full is None or any(s.code == full[0] for s in out):
                continue
            scaled = c.score if self.ranker is not None else c.score / SCORE_SCALE
            score = round(min(1.0, max(0.0, scaled)), 4)
            out.append(Suggestion(full[0], full[1], score, tuple(c.labels), c.source))
            if len(out) == limit:
                break
        return out

    def candidates(self, tokens: list[str]) -> list[Candidate]:
        """Every leaf the matched index rows and tabular terms lead to, scored, best first.

        With a learned ranking a candidate's score is its predicted chance of being right;
        without one, the hand-weighted sum of its features.
        """
        pool = self.featured(tokens, full=self.ranker is not None)
        if self.ranker is None or not pool:
            return pool
        head, rest = pool[:RERANK], pool[RERANK:]
        # the ranking decides even when it gives every candidate a low chance: since the tabular
        # list's notes became documents (ADR 0032), handing such texts to the hand-weighted sum
        # lost codes on the benchmark and on Synthea's condition names alike
        for c, odds in zip(head, self.ranker.log_odds(model_rows(head)), strict=True):
            c.score = _chance(float(odds))
        # a leaf whose own index row or tabular term says the text in full (every word of the
        # text, every required word of the row; renderings aside) is the coder's direct hit
        # ("pneumonia": Pneumonia J18.9) and comes first: the ranking learned from held-out
        # phrases, which never have such a row, cannot know that
        head.sort(key=lambda c: (not c.exact, -c.score, c.seen))
        # scores stay in order: a direct hit scores at least what the best of the rest does
        top = max((c.score for c in head if not c.exact), default=0.0)
        for c in head:
            if c.exact:
                c.score = max(c.score, top)
        floor = min(c.score for c in head)
        for c in rest:
            c.score = min(floor, c.score / SCORE_SCALE)
        return head + rest

    def featured(self, tokens: list[str], full: bool) -> list[Candidate]:
        """The candidates with their features, in the order of the hand-weighted sum.

        full: add the learned ranking's own features too (``ranker.CANDIDATE_FEATURES``).
        """
        query = frozenset(tokens)
        # the tabular renderings of the text's words widen the search (metatarsus → foot); common
        # renderings would only slow it down
        weight = self.matcher.weight
        extra = dict.fromkeys(
            b
            for w in tokens
            for b, _s in self._renderings(w)
            if b not in query and NEGATION + b not in query and weight(b) >= EXPAND_MIN_WEIGHT
        )
        if extra and self.matcher.said_in_full(tokens):
            # a row or term says the text word for word ("influenza": Influenza J11.1): the
            # renderings would only lower it ("manifestation", from "Influenza, with ...
            # manifestations", made the bare row lose to every "with" row)
            extra = {}
        hits = self.matcher.best([*tokens, *list(extra)[:EXPAND_MAX]], limit=HITS)
        # leaf -> [best route, share of it, index of its hit, order seen, other hits' indexes]
        best: dict[str, list[Any]] = {}
        for h, hit in enumerate(hits):
            node = node_of(self.codeset, hit.code)
            if node is None:
                continue
            route = hit.score + (INDEX_BONUS if hit.source == "index" else 0.0)
            leaves = self._leaves(node) or [(self._descend(node, query), 1.0)]
            for leaf, share in leaves:
                if not leaf:
                    continue
                score = route * share
                prior = best.get(leaf)
                if prior is None:
                    best[leaf] = [score, share, h, len(best), []]
                elif score > prior[0]:
                    prior[4].insert(0, prior[2])
                    prior[0], prior[1], prior[2] = score, share, h
                else:
                    prior[4].append(h)
        said_in_full: set[str] = set()
        for hit in hits:
            if self._own_term(hit) and self.matcher.says_all(hit.doc, tokens):
                node = node_of(self.codeset, hit.code)
                if node is not None and not self.codeset.nodes[node].leaf:
                    if not hit.code.endswith("-") and not self._inclusion_term(hit):
                        continue  # a category's title ("Gastro-esophageal reflux disease", K21)
                    # an index row that leaves characters to the tabular list ("Otitis, media
                    # H66.9-"), or a header's inclusion term ("Fracture of hip NOS", S72.00),
                    # leads to the leaf the text supports: the unspecified side when it says
                    # none (H66.90, S72.009)
                    node = self._descend(node, query) or None
                said_in_full.add(node or "")
        chosen = heapq.nsmallest(POOL, best.items(), key=lambda kv: (-kv[1][0], kv[1][3]))
        pool: list[Candidate] = []
        for leaf, (score, share, h, seen, others) in chosen:
            labels = list(dict.fromkeys(hits[i].label for i in (h, *others)))[:3]
            pool.append(Candidate(leaf, score, labels, hits[h].source, seen, share, leaf in said_in_full))
        # the same code of the neighbouring headers (L89.303, unspecified buttock, stage 3 → the
        # right and left buttock's stage 3): the tabular list's sides, sites and kinds are often
        # one level up, where siblings do not reach
        present = {c.leaf for c in pool}
        for c in pool[:COUSINS_OF]:
            for cousin in self._cousins(c.leaf):
                if cousin not in present:
                    present.add(cousin)
                    pool.append(
                        Candidate(
                            cousin, c.route * COUSIN_SHARE, c.labels, c.source, len(present), COUSIN_SHARE
                        )
                    )
        weights = {w: self.matcher.weight(w) for w in query}
        total = math.fsum(weights.values()) or 1.0
        rendered = {w: r for w in query if (r := self._renderings(w))}
        for c in pool:
            c.features = self._features(c, weights, total, rendered)
            c.score = sum(WEIGHTS.get(name, 0.0) * value for name, value in c.features.items())
        pool.sort(key=lambda c: (-c.score, c.seen))
        if full and pool:
            said_by_pool = frozenset().union(*(self._facts(c.leaf).own for c in pool))
            for rank, c in enumerate(pool[:RERANK]):
                c.features.update(self._contrast(c, rank, query, weights, total, said_by_pool))
        return pool

    def _own_term(self, hit: Hit) -> bool:
        """Whether a hit is one of its code's own names: an index row, the code's description,
        an inclusion term or an Includes note, not a phrase of another code's Excludes note. A
        note's phrase lost its context ("dermatitis (L23.6, L25.4, L27.2)" under adverse food
        reactions), so saying it word for word is no direct hit ("eczema" came to L27.2)."""
        if hit.source == "index":
            # a see row's code is its target's, which the referring words may not fit: "Failure,
            # heart, hypertensive, see Hypertension, heart" is I11.9, heart disease *without*
            # failure, until the coder reads on under the target to "with heart failure" (I11.0)
            return "(see " not in hit.label
        node = self.codeset.nodes.get(hit.code)
        if node is None:
            return False
        return hit.label == node.description or any(
            hit.label in node.notes.get(kind, ()) for kind in ("inclusion_term", "includes")
        )

    def _inclusion_term(self, hit: Hit) -> bool:
        """Whether a hit is one of its tabular entry's inclusion terms."""
        node = self.codeset.nodes.get(hit.code)
        return (
            hit.source == "tabular" and node is not None and hit.label in node.notes.get("inclusion_term", ())
        )

    def _contrast(
        self,
        c: Candidate,
        rank: int,
        query: frozenset[str],
        weights: dict[str, float],
        total: float,
        said_by_pool: frozenset[str],
    ) -> dict[str, float]:
        """The learned ranking's further features: how the leaf stands against its siblings and
        the rest of the pool, the coders' defaults, and how characteristic the text's words are
        of its category, parent and itself (documents under each that say them)."""
        facts = self._facts(c.leaf)
        weight = self.matcher.weight
        own = facts.own - SOFT_WORDS - facts.defaulted
        own_weight = math.fsum(weight(w) for w in own) or 1.0
        added = own - facts.parent_title
        added_weight = math.fsum(weight(w) for w in added) or 1.0
        added_said = math.fsum(weight(w) for w in added & query)
        sibling_only = (facts.sibling_words - facts.own - facts.parent_title - SOFT_WORDS) & query
        pool_only = {w for w in query if w in said_by_pool and w not in facts.lineage_said}
        sides_said, sides = query & SIDES, facts.own & SIDES
        side = 0.0
        if sides_said:
            side = 1.0 if sides_said & sides else (-1.0 if sides else -0.5)
        says_nos = "nos" in query or "unspecified" in query
        says_other = bool(query & {"other", "nec", "specified"})
        numbers_said = {w for w in query if any(ch.isdigit() for ch in w)}
        unsaid_with = facts.with_words - query
        lift, worst, in_parent, in_leaf = self._word_evidence(c.leaf, facts, query)
        marked_unsaid = sum(1 for w in facts.own if w in MARKED and not MARKED[w] & query)
        contradicted = sum(
            1 for w in query if w in OPPOSITES and w not in facts.explained and OPPOSITES[w] & facts.explained
        )
        return {
            "weighted": c.score,
            "share": c.share,
            "direct": float(c.share == 1.0),
            "index": float(c.source == "index"),
            "rank": rank / POOL,
            "seen": min(c.seen, 100) / 100,
            "labels": float(len(c.labels)),
            "title_unsaid": math.fsum(weight(w) for w in own - query) / own_weight,
            "own_said": added_said / total,
            "own_unsaid": math.fsum(weight(w) for w in added - query) / total,
            "own_precision": added_said / added_weight,
            "sibling_words": math.fsum(weight(w) for w in sibling_only) / total,
            "pool_words": math.fsum(weight(w) for w in pool_only) / total,
            "side": side,
            "side_unsaid": float(not sides_said and bool(sides)),
            "with_unsaid": math.fsum(weight(w) for w in unsaid_with) / total,
            "without": float(facts.without and not unsaid_with),
            "other_unsaid": float(facts.other and not says_other),
            "contradicted": float(contradicted),
            "marked_unsaid": float(min(marked_unsaid, 2)),
            "unspecified": float(facts.unspecified),
            "unspecified_default": float(facts.unspecified and not sibling_only),
            "unspecified_specific": float(facts.unspecified and not says_nos and bool(sibling_only)),
            "number_match": float(bool(numbers_said & facts.numbers)),
            "number_conflict": float(
                bool(numbers_said) and bool(facts.numbers) and not numbers_said & facts.numbers
            ),
            "siblings": min(facts.siblings, 20) / 20,
            "category_lift": lift,
            "category_worst": worst,
            "parent_words": in_parent,
            "leaf_words": in_leaf,
            "leaf_documents": math.log1p(self._documents_at(c.leaf)),
            "parent_documents": math.log1p(self._documents_at(facts.parent)),
            "category_documents": math.log1p(self._documents_under(facts.category)),
            "code_length": float(len(c.leaf.replace(".", ""))),
        }

    def _word_evidence(self, leaf: str, facts: _LeafFacts, query: frozenset[str]) -> tuple[float, ...]:
        """How much likelier the text's words are in documents under the leaf's category than at
        large (mean and worst log-ratio, smoothed), and the shares of its words that some
        document under the leaf's parent, and under the leaf, says."""
        t = self.matcher.terms
        documents = len(t.codes)
        cat_lo, cat_hi = self._span(facts.category)
        in_category = cat_hi - cat_lo
        spans = (self._span(facts.parent), self._span(leaf))
        ranked = t.ranked_post
        ratios: list[float] = []
        said_under = [0, 0]
        for w in query:
            i = self.matcher.ids.get(w)
            if i is None:
                continue
            a, b = t.post_start[i], t.post_start[i + 1]
            if a == b:
                continue
            base = (b - a + 0.5) / documents
            here = bisect_left(ranked, cat_hi, a, b) - bisect_left(ranked, cat_lo, a, b)
            ratio = math.log((here + 5 * base) / (in_category + 10) / base)
            ratios.append(ratio)
            for k, (lo, hi) in enumerate(spans):
                if hi > lo and bisect_left(ranked, hi, a, b) > bisect_left(ranked, lo, a, b):
                    said_under[k] += 1
        n = len(query) or 1
        return math.fsum(ratios) / n, min([0.0, *ratios]), said_under[0] / n, said_under[1] / n

    def _span(self, code: str) -> tuple[int, int]:
        """The positions, in node order, of the documents of ``code`` and every node under it."""
        cached = self._spans.get(code)
        if cached is None:
            first = self._node_ids.get(code)
            if first is not None:
                # node codes are sorted, so everything under a code follows it in one run
                last = bisect_left(self.matcher.terms.node_codes, code + "\uffff", first)
                cached = (self._node_offsets[first], self._node_offsets[last])
            else:
                cached = (0, 0)
            self._spans[code] = cached
        return cached

    def _documents_at(self, code: str) -> int:
        k = self._node_ids.get(code)
        return self.matcher.terms.node_docs[k] if k is not None else 0

    def _documents_under(self, code: str) -> int:
        lo, hi = self._span(code)
        return hi - lo

    def _features(
        self,
        c: Candidate,
        weights: dict[str, float],
        total: float,
        rendered: dict[str, list[tuple[str, float]]],
    ) -> dict[str, float]:
        """The ranking features of one leaf for a text (``weights``: the text's words' weights)."""
        facts = self._facts(c.leaf)
        said = weights.keys()
        lineage_said = facts.lineage_said
        via = math.fsum(
            weights[w] * max((s for b, s in options if b in lineage_said), default=0.0)
            for w, options in rendered.items()
            if w not in lineage_said
        )
        common = math.fsum(weights[w] for w in facts.title & said)
        if common:
            precision, recall = common / facts.title_weight, common / total
            agree = 2 * precision * recall / (precision + recall)
        else:
            agree = 0.0
        says_nos = "nos" in weights or "unspecified" in weights
        says_nec = "nec" in weights or "specified" in weights or "other" in weights
        return {
            "route": c.route,
            "cover": math.fsum(weights[w] for w in lineage_said & said) / total,
            "rendered": via / total,
            "cover_leaf": math.fsum(weights[w] for w in facts.leaf_said & said) / total,
            "agree": agree,
            "missing": math.fsum(
                weights[w]
                for w in said
                if w not in facts.explained and facts.category in self._categories_of(w)
            )
            / total,
            "nos_unspecified": float(says_nos and facts.unspecified),
            "nec_other": float(says_nec and facts.other),
        }

    def _facts(self, leaf: str) -> _LeafFacts:
        """What the code set says about a leaf, computed once per leaf and kept."""
        cached = self._facts_cache.get(leaf)
        if cached is not None:
            return cached
        cs, t = self.codeset, self.matcher.terms
        vocabulary = t.vocabulary
        lineage = [n for n in cs.lineage(leaf) if n.kind in ("category", "subcategory")]
        said_of: list[frozenset[str]] = []
        titles: list[frozenset[str]] = []
        for node in lineage:
            k = self._node_ids.get(node.code)
            if k is None:
                said_of.append(frozenset())
                titles.append(frozenset(document_tokens(node.description)))
                continue
            said_of.append(
                frozenset(vocabulary[w] for w in t.node_words[t.node_start[k] : t.node_start[k + 1]])
            )
            titles.append(
                frozenset(vocabulary[w] for w in t.title_words[t.title_start[k] : t.title_start[k + 1]])
            )
        own = titles[0]
        title = own - SOFT_WORDS
        lineage_desc = frozenset().union(*titles)
        category = lineage[-1].code if lineage[-1].kind == "category" else ""
        here = cs.nodes[leaf]
        parent = cs.nodes.get(here.parent)
        parent_code = parent.code if parent is not None and parent.kind in ("category", "subcategory") else ""
        siblings = [k for k in cs.children.get(parent_code, []) if k != leaf] if parent_code else []
        description = here.description.lower()
        before_without = _WITHOUT.split(description)[0]
        facts = _LeafFacts(
            title=title,
            title_weight=math.fsum(self.matcher.weight(w) for w in title) or 1.0,
            leaf_said=said_of[0],
            lineage_said=frozenset().union(*said_of),
            explained=lineage_desc | said_of[0],
            category=category,
            unspecified="unspecified" in own or "nos" in own,
            other="other" in own,
            own=own,
            parent=parent_code,
            parent_title=titles[1] if parent_code and len(titles) > 1 else frozenset(),
            sibling_words=frozenset(w for k in siblings for w in document_tokens(cs.nodes[k].description)),
            siblings=len(siblings),
            with_words=frozenset(w for part in _WITH.split(before_without)[1:] for w in document_tokens(part))
            - SOFT_WORDS,
            without=" without " in f" {description} ",
            numbers=frozenset(w for w in own if any(ch.isdigit() for ch in w)),
            defaulted=frozenset(w for m in _DEFAULTED.finditer(description) for w in document_tokens(m[1])),
        )
        if len(self._facts_cache) < 60_000:
            self._facts_cache[leaf] = facts
        return facts

    def _cousins(self, leaf: str) -> list[str]:
        """Leaves ending in the same character under the other children of the leaf's grandparent."""
        cached = self._cousin_cache.get(leaf)
        if cached is not None:
            return cached
        cs = self.codeset
        parent = cs.nodes.get(cs.nodes[leaf].parent)
        grand = cs.nodes.get(parent.parent) if parent is not None else None
        out: list[str] = []
        if grand is not None and grand.kind in ("category", "subcategory") and parent is not None:
            for aunt in cs.children.get(grand.code, []):
                if aunt != parent.code:
                    out.extend(k for k in cs.children.get(aunt, []) if cs.nodes[k].leaf and k[-1] == leaf[-1])
        if len(self._cousin_cache) < 50_000:
            self._cousin_cache[leaf] = out
        return out

    def _renderings(self, word: str) -> list[tuple[str, float]]:
        t = self.matcher.terms
        i = self.matcher.ids.get(word)
        if i is None:
            return []
        a, b = t.trans_start[i], t.trans_start[i + 1]
        return [(t.vocabulary[t.trans_words[k]], t.trans_strength[k]) for k in range(a, b)]

    def _categories_of(self, word: str) -> frozenset[str]:
        """The categories whose descriptions use ``word``."""
        cached = self._cat_cache.get(word)
        if cached is None:
            t = self.matcher.terms
            i = self.matcher.ids.get(word)
            cats = t.cat_of_word[t.cat_start[i] : t.cat_start[i + 1]] if i is not None else ()
            cached = frozenset(t.categories[k] for k in cats)
            if len(self._cat_cache) < 50_000:
                self._cat_cache[word] = cached
        return cached

    def _leaves(self, node: str) -> list[tuple[str, float]]:
        """The leaves a matched node leads to, with the share of the match each keeps.

        A header leads to every leaf under it (when there are not too many); a leaf to itself
        and, at a discount, to its siblings: a coder reading the tabular list sees them too.
        """
        cached = self._leaf_cache.get(node)
        if cached is not None:
            return cached
        cs = self.codeset
        here = cs.nodes[node]
        out: list[tuple[str, float]] = []
        if here.leaf:
            out.append((node, 1.0))
            parent = cs.nodes.get(here.parent)
            if parent is not None and parent.kind in ("category", "subcategory"):
                out.extend(
                    (k, SIBLING_SHARE)
                    for k in cs.children.get(parent.code, [])
                    if k != node and cs.nodes[k].leaf
                )
        else:
            stack = [node]
            leaves: list[str] = []
            while stack and len(leaves) <= MAX_LEAVES:
                current = stack.pop()
                if cs.nodes[current].leaf:
                    leaves.append(current)
                else:
                    stack.extend(reversed(cs.children.get(current, [])))
            if len(leaves) > MAX_LEAVES:
                leaves = []
            out.extend((leaf, SUBTREE_SHARE) for leaf in leaves)
        if len(self._leaf_cache) < 50_000:
            self._leaf_cache[node] = out
        return out

    def suggest_coding(self, system: str, code: str, display: str, limit: int = 5) -> list[Suggestion]:
        """Suggestions for a coding in another system: the curated map first, then its display."""
        out: list[Suggestion] = []
        mapped = self.snomed.lookup(system, code) if self.snomed is not None else None
        if mapped is not None and mapped.icd10:
            status = self.codeset.status(mapped.icd10)
            out.append(
                Suggestion(
                    status.code,
                    status.description or "",
                    1.0,
                    (f"SNOMED CT {code} {mapped.display}",),
                    "snomed-map",
                )
            )
        for s in self.suggest(_SEMANTIC_TAG.sub("", display), limit):
            if all(s.code != o.code for o in out):
                out.append(s)
        return out[:limit]

    def complete(self, raw: str, query: frozenset[str]) -> tuple[str, str] | None:
        """Follow ``raw`` (an index or tabular code, maybe ending in ``-``) down to a billable code."""
        key = (raw, query)
        if key in self._refined:
            return self._refined[key]
        result = self._complete(raw, query)
        if len(self._refined) < 100_000:
            self._refined[key] = result
        return result

    def _complete(self, raw: str, query: frozenset[str]) -> tuple[str, str] | None:
        base = normalize(raw.rstrip("-").rstrip("."))
        status = self.codeset.status(base)
        if status.billable:
            return status.code, status.description or ""
        leaf = self._descend(base, query)
        if not leaf:
            return None
        node = self.codeset.nodes[leaf]
        rule = self.codeset.seventh(node.code)
        if rule is None:
            return node.code, node.description
        chars = sorted(rule[1])
        char = max(chars, key=lambda c: (self._said(rule[1][c], query), -chars.index(c)))
        status = self.codeset.status(_with_seventh(node.code, char))
        return (status.code, status.description or "") if status.billable else None

    def _descend(self, code: str, query: frozenset[str]) -> str:
        """From a header down to the leaf whose descriptions the text supports best ("" if none)."""
        node = self.codeset.nodes.get(code)
        if node is None or node.kind in ("chapter", "block"):
            return ""
        while not node.leaf:
            kids = [self.codeset.nodes[k] for k in self.codeset.children.get(node.code, [])]
            if not kids:
                return ""
            node = max(kids, key=lambda k: (self._fit(k.description, query), -kids.index(k)))
        return node.code

    def _said(self, description: str, query: frozenset[str]) -> float:
        return math.fsum(self.matcher.weight(w) for w in set(document_tokens(description)) & query)

    def _fit(self, description: str, query: frozenset[str]) -> float:
        """How well a child's words agree with the text: said words count, unsaid ones cost a little."""
        weight = self.matcher.weight
        words = set(document_tokens(description))
        fit = math.fsum(weight(w) for w in words & query)
        fit -= 0.1 * math.fsum(weight(w) for w in words - query - SOFT_WORDS)
        if "unspecified" in words:
            fit += 0.5
        return fit


def model_rows(head: list[Candidate]) -> np.ndarray:
    """The learned ranking's rows for a phrase's best candidates (their own features, with the
    hand-weighted sums still in ``score``), as the app asks and as training records them."""
    own = np.array([[c.features[name] for name in CANDIDATE_FEATURES] for c in head], dtype=np.float64)
    return phrase_rows(own.reshape(len(head), len(CANDIDATE_FEATURES)), np.array([c.score for c in head]))


def _chance(log_odds: float) -> float:
    """The probability of a log-odds, without overflowing for large negative ones."""
    if log_odds >= 0:
        return 1.0 / (1.0 + math.exp(-log_odds))
    odds = math.exp(log_odds)
    return odds / (1.0 + odds)


def _with_seventh(base: str, char: str) -> str:
    flat = base.replace(".", "")
    return normalize(flat + "X" * (6 - len(flat)) + char)


def build_suggester(
    held_out: HeldOut, codeset: CodeSet | None = None, ranker: TreeRanker | None = None
) -> Suggester:
    """A suggester compiled without ``held_out`` (slow: seconds): for evaluation and training.

    A tabular note that says a held-out index row's words for the same code is left out with
    it (``terms.note_docs``), so the phrase is not found again there.

    ranker: the learned ranking to use; without one, the hand-weighted sum ranks.
    """
    cs = codeset or default_codeset()
    index: AlphabeticIndex = load_index(held_out.index_rows)
    terms = compile_terms(cs, index, held_out.inclusion_terms)
    return Suggester(cs, terms, default_snomed_map(), ranker)


@cache
def default_ranker() -> TreeRanker:
    """The shipped ranking model (``tools/build_coding_data.py --ranker`` trains it)."""
    return TreeRanker.from_json(load_data("icd10cm-ranker.json.gz"))


@cache
def default_suggester() -> Suggester:
    """The suggester over the shipped, precompiled terms, ranking model and SNOMED map (built
    once per process)."""
    terms = Terms.from_json(load_data("icd10cm-terms.json.gz"))
    return Suggester(default_codeset(), terms, default_snomed_map(), default_ranker())
