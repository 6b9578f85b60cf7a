"""How far words can go: which held-out labels a phrase's words can reach at all; prints one JSON object.

Usage::

    .venv/bin/python benchmarks/coding_ceiling.py [--sample 1000] [--folds 2] [--seed 7] [--examples 15]

Same held-out draw as ``benchmarks/coding.py`` (its ``draw``, ``split_folds`` and ``score``, which
uses its ``hit``): for each fold a suggester is built without that fold's index rows and inclusion
terms, and each held-out phrase is both asked (top-1 / top-5, as ``coding.py`` scores them) and
tested for *lexical reachability* of its label from what that held-out suggester is built from.

The phrase's words are the suggester's own (``Suggester.query_words``): codes it names said as
their titles, ``query_tokens`` (lower case, stop words, stemming
and irregular forms, Roman numerals, abbreviations, negation marks) then
``Matcher.normalize_query`` (typo correction to the vocabulary, else the word's root; words
the vocabulary lacks are dropped). Soft words ("unspecified", "type", "site" ...) are left out: the suggester never
matches on them. Each remaining word also stands for its *renderings* (metatarsus → foot: all of
them, where the suggester searches with at most two).

The text of a tabular node (category or subcategory) is what the held-out suggester has for it:
its node profile (every word of its description, of its inclusion terms that were not held out
and of the index rows that were not held out leading to it, ``see`` rows included under the code
they point to, each widened by the index's word equivalences) and its title words. A label is
**reachable** when one of the phrase's words is in the text of

* the label's node, any node under it (codes extending it), or any category or subcategory above
  it: the suggester follows a matched header down to its leaves; or
* when the label is a leaf under a category or subcategory, any sibling leaf: a matched leaf
  brings its siblings.

These are all the routes by which the suggester can put a code among its candidates (a matched
term document leads to its node, a node to itself, its siblings or its leaves), without the
limits it adds (30 documents, 60 leaves, 40 leaves under a header, a lower score for an index row
whose main term is not said): so every top-5 hit must be reachable, which the script asserts. A phrase is **strictly
unreachable** when none of its words is anywhere in the text of the label's whole 3-character
category (every node under it): no method matching these words to these data could even find the
category.

The implied top-5 ceiling, one minus the unreachable share, bounds methods that find codes
through the words of the phrase (with the suggester's equivalences) in the shipped data: index
rows, tabular descriptions and inclusion terms. It is not a bound for methods that bring knowledge from
elsewhere (a synonym resource, a trained model), nor for a method that learns new word
equivalences from these data beyond the suggester's. "Reachable" is generous: one shared word,
however common ("disease", "other"), is enough, so the true word-based ceiling is lower.

The JSON, per source (``index``, ``inclusion``) and ``all``: the suggester's top-1 / top-5; the
unreachable and strictly unreachable counts, shares and implied ceilings; phrases with no content
word at all; ``cross_tab``: top-5 hits, top-5 misses and top-1 misses split by reachability and
by route (the label's own text, its headers only, its siblings only); and, for reachable top-5
misses, which of the label and the suggester's top-1 the words favour (the rarity-weighted share
of the phrase's words each one's text, its own and its headers', says or renders: descriptive,
not part of the ceiling). Then ``--examples`` unreachable phrases and as many reachable misses,
spread over the draw, with the label's description and the suggester's top-1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from coding import draw, score, split_folds

from chartkeeper.coding.codeset import default_codeset, normalize
from chartkeeper.coding.suggest import Suggester, build_suggester
from chartkeeper.coding.text import SOFT_WORDS

HEADERS = ("category", "subcategory")


class Reach:
    """What one (held-out) suggester can reach from a phrase's words, node by node."""

    def __init__(self, suggester: Suggester) -> None:
        self.suggester = suggester
        self.codeset = suggester.codeset
        t = suggester.matcher.terms
        vocabulary = t.vocabulary
        self.text: dict[str, frozenset[str]] = {}
        for k, code in enumerate(t.node_codes):
            said = t.node_words[t.node_start[k] : t.node_start[k + 1]]
            title = t.title_words[t.title_start[k] : t.title_start[k + 1]]
            self.text[code] = frozenset(vocabulary[w] for w in (*said, *title))
        self._subtree: dict[str, frozenset[str]] = {}

    def words(self, phrase: str) -> tuple[frozenset[str], frozenset[str]]:
        """The phrase's content words as the suggester reads them, and their renderings."""
        tokens = self.suggester.query_words(phrase)
        said = frozenset(w for w in tokens if w not in SOFT_WORDS)
        rendered = frozenset(b for w in said for b, _s in self.suggester._renderings(w)) - said
        return said, rendered

    def node(self, label: str) -> str:
        """The tabular node a label rests on ("S86.89-" → S86.89, "S86.891A" → S86.891)."""
        base = normalize(label.rstrip("-").rstrip("."))
        if base in self.codeset.nodes:
            return base
        status = self.codeset.status(base)
        assert status.node is not None, f"label {label} is not in the code set"
        return status.node.code

    def subtree_text(self, code: str) -> frozenset[str]:
        """Every word of the node and of every node under it."""
        cached = self._subtree.get(code)
        if cached is None:
            cs = self.codeset
            parts = [self.text.get(code, frozenset())]
            parts.extend(self.subtree_text(k) for k in cs.children.get(code, []))
            cached = frozenset().union(*parts)
            self._subtree[code] = cached
        return cached

    def label_text(self, label: str) -> dict[str, frozenset[str]]:
        """The words by which the label is reachable, by route: its own (the node and what is
        under it), its headers' up to the category and, for a leaf, its siblings'."""
        cs = self.codeset
        code = self.node(label)
        node = cs.nodes[code]
        headers = [self.text.get(n.code, frozenset()) for n in cs.ancestors(code) if n.kind in HEADERS]
        siblings: list[frozenset[str]] = []
        parent = cs.nodes.get(node.parent)
        if node.leaf and parent is not None and parent.kind in HEADERS:
            siblings.extend(
                self.text.get(k, frozenset())
                for k in cs.children.get(parent.code, [])
                if k != code and cs.nodes[k].leaf
            )
        return {
            "own": self.subtree_text(code),
            "headers": frozenset().union(*headers),
            "siblings": frozenset().union(*siblings),
        }

    def coverage(self, phrase: str, code: str) -> float:
        """The share of the phrase's words (weighted by rarity, as the suggester weighs them) that
        the text of ``code``'s own node, what is under it and its headers says, or renders."""
        tokens = self.suggester.query_words(phrase)
        said = [w for w in dict.fromkeys(tokens) if w not in SOFT_WORDS]
        text = self.label_text(code)
        lineage = text["own"] | text["headers"]
        weight = self.suggester.matcher.weight
        total = sum(weight(w) for w in said)
        explained = sum(
            weight(w)
            for w in said
            if w in lineage or any(b in lineage for b, _s in self.suggester._renderings(w))
        )
        return explained / total if total else 0.0

    def category(self, label: str) -> str:
        code = self.node(label)
        for n in self.codeset.lineage(code):
            if n.kind == "category":
                return n.code
        raise AssertionError(f"{label} has no category")

    def classify(self, phrase: str, label: str) -> dict[str, Any]:
        """Reachability of ``label`` from ``phrase``: ``reachable``, ``strict`` (no word anywhere
        in the label's category), the route, and whether it needs a rendering."""
        said, rendered = self.words(phrase)
        text = self.label_text(label)
        every = said | rendered
        route = next((name for name, words in text.items() if every & words), "")
        direct = any(said & words for words in text.values())
        return {
            "reachable": bool(route),
            "reaching": sorted(every & text[route]) if route else [],
            "strict": not every & self.subtree_text(self.category(label)),
            "route": route,
            "via_rendering_only": bool(route) and not direct,
            "words": sorted(said),
        }


def _share(n: int, total: int) -> float:
    return round(n / total, 4) if total else 0.0


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    unreachable = sum(not r["reachable"] for r in rows)
    strict = sum(r["strict"] for r in rows)
    top1 = sum(r["top1"] for r in rows)
    top5 = sum(r["top5"] for r in rows)

    def split(subset: list[dict[str, Any]]) -> dict[str, int]:
        return {
            "phrases": len(subset),
            "reachable": sum(r["reachable"] for r in subset),
            "reachable_through_own_text": sum(r["route"] == "own" for r in subset),
            "reachable_through_headers_only": sum(r["route"] == "headers" for r in subset),
            "reachable_through_siblings_only": sum(r["route"] == "siblings" for r in subset),
            "unreachable": sum(not r["reachable"] for r in subset),
            "strictly_unreachable": sum(r["strict"] for r in subset),
        }

    return {
        "phrases": n,
        "top1": _share(top1, n),
        "top5": _share(top5, n),
        "unreachable": unreachable,
        "unreachable_fraction": _share(unreachable, n),
        "top5_ceiling": _share(n - unreachable, n),
        "strictly_unreachable": strict,
        "strictly_unreachable_fraction": _share(strict, n),
        "category_ceiling": _share(n - strict, n),
        "no_content_word": sum(not r["words"] for r in rows),
        "reachable_only_through_renderings": sum(r["via_rendering_only"] for r in rows),
        "cross_tab": {
            "top5_hit": split([r for r in rows if r["top5"]]),
            "top5_miss": split([r for r in rows if not r["top5"]]),
            "reachable_top5_miss_words_favour": {
                side: sum(r.get("favours") == side for r in rows) for side in ("label", "tie", "suggestion")
            },
            "top1_miss": split([r for r in rows if not r["top1"]]),
        },
    }


def examples(rows: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """``n`` of ``rows`` spread evenly over the draw (index rows come before inclusion terms)."""
    cs = default_codeset()
    if len(rows) > n:
        step = len(rows) / n
        rows = [rows[int(i * step)] for i in range(n)]
    return [
        {
            "source": r["source"],
            "phrase": r["phrase"],
            "words": r["words"],
            "label": r["label"],
            "label_description": cs.status(r["label"].rstrip("-").rstrip(".")).description
            or cs.nodes[r["node"]].description,
            "route": r["route"] or None,
            "reaching": r["reaching"],
            "strict": r["strict"],
            "top1_suggestion": r["first"],
            "words_favour": r.get("favours"),
            "cover_label_vs_suggestion": r.get("cover"),
        }
        for r in rows
    ]


def measure(sample: int, folds: int, seed: int) -> tuple[list[dict[str, Any]], list[float]]:
    index_cases, tabular_cases = draw(sample, seed)
    rows: list[dict[str, Any]] = []
    build_seconds: list[float] = []
    for idx, inc, held in split_folds(index_cases, tabular_cases, folds):
        t0 = time.perf_counter()
        suggester = build_suggester(held)
        build_seconds.append(round(time.perf_counter() - t0, 1))
        reach = Reach(suggester)
        cases = [("index", p, c) for _r, p, c in idx] + [("inclusion", t, c) for t, c in inc]
        for source, phrase, code in cases:
            top1, top5 = score(suggester, phrase, code)
            row = {"source": source, "phrase": phrase, "label": code, "node": reach.node(code)}
            row.update(top1=top1, top5=top5, first="")
            row.update(reach.classify(phrase, code))
            if not top5:  # what the suggester says instead, and which of the two the words favour
                row["first"] = next((s.code for s in suggester.suggest(phrase, 1)), "")
                if row["reachable"] and row["first"]:
                    label_cover = reach.coverage(phrase, code)
                    first_cover = reach.coverage(phrase, row["first"])
                    row["favours"] = (
                        "label" if label_cover > first_cover + 1e-9
                        else "suggestion" if first_cover > label_cover + 1e-9
                        else "tie"
                    )  # fmt: skip
                    row["cover"] = [round(label_cover, 3), round(first_cover, 3)]
            if top5 and not row["reachable"]:
                raise AssertionError(f"top-5 hit classified unreachable: {phrase!r} → {code}")
            rows.append(row)
    return rows, build_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=1000, help="phrases of each kind")
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--examples", type=int, default=15)
    args = parser.parse_args()
    t0 = time.perf_counter()
    rows, build_seconds = measure(args.sample, args.folds, args.seed)
    report: dict[str, Any] = {
        "release": default_codeset().release,
        "draw": {"sample": args.sample, "folds": args.folds, "seed": args.seed},
        "fold_build_seconds": build_seconds,
    }
    for source in ("index", "inclusion"):
        report[source] = summarize([r for r in rows if r["source"] == source])
    report["all"] = summarize(rows)
    report["sanity"] = {"every_top5_hit_reachable": all(r["reachable"] for r in rows if r["top5"])}
    missed = [r for r in rows if not r["top5"]]
    report["unreachable_examples"] = examples([r for r in missed if not r["reachable"]], args.examples)
    report["reachable_miss_examples"] = examples([r for r in missed if r["reachable"]], args.examples)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
