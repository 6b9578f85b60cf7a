"""Code suggestion from free text, the way a coder works: index first, then the tabular list.

1. The text's words (abbreviations expanded, typos corrected, any order) are matched against
   index rows: the main term must be said; subterms count; nonessential modifiers may be said
   or not; a ``see`` row stands for the row it points to.
2. Tabular descriptions and inclusion terms are matched the same way, as a second route.
3. Every candidate is completed in the tabular list: a code ending in ``-`` or a header is
   followed down to a billable code, choosing at each level the child the text supports
   (laterality, type) or else the unspecified one, and the 7th character the text says
   (initial encounter when it says none).

Everything is in memory and deterministic; ties are broken by code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from chartkeeper.coding.codeset import CodeSet, default_codeset, load_data, normalize
from chartkeeper.coding.index import AlphabeticIndex, load_index
from chartkeeper.coding.match import Matcher
from chartkeeper.coding.models import Suggestion
from chartkeeper.coding.snomed import SnomedMap, default_snomed_map
from chartkeeper.coding.terms import Terms, compile_terms
from chartkeeper.coding.text import SOFT_WORDS, document_tokens, query_tokens

_SEMANTIC_TAG = re.compile(r"\s*\((disorder|finding|situation|morphologic abnormality|event)\)\s*$", re.I)
INDEX_BONUS = 0.03
#: The final score: this share from the index/tabular route, the rest from how well the full
#: code's tabular description agrees with the text (the coder's check in the tabular list).
ROUTE_SHARE = 0.75
#: How many matched documents are followed to a full code per result asked for.
CANDIDATES_PER_RESULT = 5


@dataclass(frozen=True, slots=True)
class HeldOut:
    """What to leave out of the suggester, to measure it on phrases it was not built from."""

    index_rows: frozenset[int] = frozenset()
    inclusion_terms: frozenset[tuple[str, str]] = frozenset()  # (code, term)


class Suggester:
    """Ranks billable ICD-10-CM codes for a phrase; build once, call many times."""

    def __init__(self, codeset: CodeSet, terms: Terms, snomed: SnomedMap | None = None) -> None:
        self.codeset = codeset
        self.snomed = snomed
        self.matcher = Matcher(terms)
        self._refined: dict[tuple[str, frozenset[str]], tuple[str, str] | None] = {}

    def suggest(self, text: str, limit: int = 5) -> list[Suggestion]:
        """The ``limit`` best billable codes for ``text``, best first (empty when nothing fits)."""
        limit = max(1, min(limit, 50))
        tokens, _unknown = self.matcher.normalize_query(query_tokens(text))
        query = frozenset(tokens)
        best: dict[str, Suggestion] = {}
        order: dict[str, int] = {}
        for hit in self.matcher.best(tokens, limit=limit * CANDIDATES_PER_RESULT):
            full = self.complete(hit.code, query)
            if full is None:
                continue
            code, description = full
            route = hit.score + (INDEX_BONUS if hit.source == "index" else 0.0)
            total = round(
                min(1.0, ROUTE_SHARE * route + (1 - ROUTE_SHARE) * self._agreement(description, query)), 4
            )
            prior = best.get(code)
            order.setdefault(code, len(order))
            if prior is None or total > prior.score:
                matched = (hit.label,) if prior is None else (hit.label, *prior.matched[:2])
                best[code] = Suggestion(code, description, total, matched, hit.source)
            elif len(prior.matched) < 3 and hit.label not in prior.matched:
                best[code] = Suggestion(
                    code, prior.description, prior.score, (*prior.matched, hit.label), prior.source
                )
        ranked = sorted(best.values(), key=lambda s: (-s.score, order[s.code]))
        return ranked[:limit]

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
        node = self.codeset.nodes.get(base)
        if node is None or node.kind in ("chapter", "block"):
            return None
        while not node.leaf:
            kids = [self.codeset.nodes[k] for k in self.codeset.children.get(node.code, [])]
            if not kids:
                return None
            node = max(kids, key=lambda k: (self._fit(k.description, query), -kids.index(k)))
        rule = self.codeset.seventh(node.code)
        if rule is None:
            return node.code, node.description
        chars = sorted(rule[1])
        char = max(chars, key=lambda c: (self._said(rule[1][c], query), -chars.index(c)))
        status = self.codeset.status(_with_seventh(node.code, char))
        return (status.code, status.description or "") if status.billable else None

    def _agreement(self, description: str, query: frozenset[str]) -> float:
        """Weighted F1 of the text's words against the code's description words."""
        if not query:
            return 0.0
        weight = self.matcher.weight
        words = set(document_tokens(description)) - SOFT_WORDS
        if not words:
            return 0.0
        common = sum(weight(w) for w in words & query)
        precision = common / sum(weight(w) for w in words)
        recall = common / sum(weight(w) for w in query)
        return 2 * precision * recall / (precision + recall) if common else 0.0

    def _said(self, description: str, query: frozenset[str]) -> float:
        return sum(self.matcher.weight(w) for w in set(document_tokens(description)) & query)

    def _fit(self, description: str, query: frozenset[str]) -> float:
        """How well a child's words agree with the text: said words count, unsaid ones cost a little."""
        weight = self.matcher.weight
        words = set(document_tokens(description))
        fit = sum(weight(w) for w in words & query)
        fit -= 0.1 * sum(weight(w) for w in words - query - SOFT_WORDS)
        if "unspecified" in words:
            fit += 0.5
        return fit


def _with_seventh(base: str, char: str) -> str:
    flat = base.replace(".", "")
    return normalize(flat + "X" * (6 - len(flat)) + char)


def build_suggester(held_out: HeldOut, codeset: CodeSet | None = None) -> Suggester:
    """A suggester compiled without ``held_out`` (slow: seconds): for evaluation only."""
    cs = codeset or default_codeset()
    index: AlphabeticIndex = load_index(held_out.index_rows)
    return Suggester(cs, compile_terms(cs, index, held_out.inclusion_terms), default_snomed_map())


@cache
def default_suggester() -> Suggester:
    """The suggester over the shipped, precompiled terms and SNOMED map (built once per process)."""
    return Suggester(
        default_codeset(), Terms.from_json(load_data("icd10cm-terms.json.gz")), default_snomed_map()
    )
