"""Term documents for matching, compiled once: index rows and tabular terms as word ids.

A document is one index row (its main term's words must be said; subterm words should be;
nonessential modifiers may be) or one tabular description or inclusion term. Tokenizing the
125,000 documents takes seconds on a shared core, so ``tools/build_coding_data.py`` compiles
them into ``data/icd10cm-terms.json.gz`` and the app only loads word ids. The benchmark compiles
them again without held-out rows, through the same functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from chartkeeper.coding.codeset import CodeSet
from chartkeeper.coding.index import AlphabeticIndex, IndexEntry
from chartkeeper.coding.text import SOFT_WORDS, document_tokens

INDEX, TABULAR = 0, 1
SOURCES = ("index", "tabular")

#: (code, label, source, anchor words, required word groups, optional words)
RawDoc = tuple[str, str, int, tuple[str, ...], tuple[tuple[str, ...], ...], tuple[str, ...]]


@dataclass
class Terms:
    """Documents over a vocabulary: words are ids, so loading is cheap and memory small."""

    vocabulary: list[str]
    weights: list[float]
    codes: list[str]
    labels: list[str]
    sources: list[int]
    anchors: list[list[int]]
    groups: list[list[list[int]]]
    optional: list[list[int]]
    postings: list[list[int]]

    def to_json(self) -> dict[str, Any]:
        return {
            "vocabulary": self.vocabulary,
            "docs": [
                [
                    self.codes[i],
                    self.labels[i],
                    self.sources[i],
                    self.anchors[i],
                    self.groups[i],
                    self.optional[i],
                ]
                for i in range(len(self.codes))
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Terms:
        docs = data["docs"]
        vocabulary: list[str] = data["vocabulary"]
        return _assemble(vocabulary, docs)


def _assemble(vocabulary: list[str], docs: list[list[Any]]) -> Terms:
    postings: list[list[int]] = [[] for _ in vocabulary]
    df = [0] * len(vocabulary)
    soft = {i for i, w in enumerate(vocabulary) if w in SOFT_WORDS}
    for n, (_c, _l, _s, _a, groups, optional) in enumerate(docs):
        words = {w for g in groups for w in g}
        words.update(optional)
        for w in words:
            df[w] += 1
            if w not in soft:
                postings[w].append(n)
    total = len(docs) + 1
    return Terms(
        vocabulary=vocabulary,
        weights=[math.log(total / (1 + c)) + 1.0 for c in df],
        codes=[d[0] for d in docs],
        labels=[d[1] for d in docs],
        sources=[d[2] for d in docs],
        anchors=[d[3] for d in docs],
        groups=[d[4] for d in docs],
        optional=[d[5] for d in docs],
        postings=postings,
    )


#: Words of one-word cross-references not used as synonyms: too common, or not the same thing.
_NOT_SYNONYMS = frozenset({"condition", "age", "affection", "advice", "active", "old", "late", "state"})


def synonyms(index: AlphabeticIndex) -> dict[str, frozenset[str]]:
    """Word equivalences from one-word "see" references between main terms ("Ache, see Pain").

    Coders follow these; the matcher treats the two words as interchangeable in documents.
    """
    pairs: dict[str, set[str]] = {}
    for entry in index.entries:
        if len(entry.path) != 1 or entry.code or not entry.see:
            continue
        source, target = entry.path[0].strip(), entry.see.strip()
        if " " in source or " " in target or "," in source or "," in target:
            continue
        a, b = document_tokens(source), document_tokens(target)
        if len(a) != 1 or len(b) != 1 or a[0] in _NOT_SYNONYMS or b[0] in _NOT_SYNONYMS or a == b:
            continue
        pairs.setdefault(a[0], set()).add(b[0])
        pairs.setdefault(b[0], set()).add(a[0])
    return {w: frozenset(v) for w, v in pairs.items()}


def _widen(group: tuple[str, ...], syn: dict[str, frozenset[str]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*group, *sorted(x for w in group for x in syn.get(w, ())))))


def compile_terms(
    codeset: CodeSet, index: AlphabeticIndex, held_inclusions: frozenset[tuple[str, str]]
) -> Terms:
    """Tokenize every document and give each word an id (sorted, so the output is deterministic)."""
    syn = synonyms(index)
    raw = [
        (code, label, src, _widen(anchor, syn), tuple(_widen(g, syn) for g in groups), opt)
        for code, label, src, anchor, groups, opt in index_docs(index)
        + tabular_docs(codeset, held_inclusions)
    ]
    vocabulary = sorted({w for d in raw for w in (*d[3], *(x for g in d[4] for x in g), *d[5])})
    ids = {w: i for i, w in enumerate(vocabulary)}
    docs = [
        [
            code,
            label,
            src,
            [ids[w] for w in anchor],
            [[ids[w] for w in g] for g in groups],
            [ids[w] for w in opt],
        ]
        for code, label, src, anchor, groups, opt in raw
    ]
    return _assemble(vocabulary, docs)


def index_docs(index: AlphabeticIndex) -> list[RawDoc]:
    docs: list[RawDoc] = []
    for entry in index.entries:
        code = entry.code
        if not code and entry.see:
            target = index.resolve_see(entry)
            code = target.code if target is not None else ""
        if code:
            docs.append(_index_doc(entry, code))
    return docs


def _index_doc(entry: IndexEntry, code: str) -> RawDoc:
    alternatives = entry.main_alternatives()
    groups: list[tuple[str, ...]]
    if alternatives:
        main_group = tuple(dict.fromkeys(t for a in alternatives for t in document_tokens(a)))
        groups = [main_group] if main_group else []
        anchor = main_group
    else:
        anchor = tuple(dict.fromkeys(t for t in document_tokens(entry.path[0]) if t not in SOFT_WORDS))
        groups = [(t,) for t in anchor]
    for sub in entry.path[1:]:
        groups.extend((t,) for t in document_tokens(sub) if t not in SOFT_WORDS)
    optional = {t for m in entry.modifiers for t in document_tokens(m)}
    optional.update(t for p in entry.path for t in document_tokens(p) if t in SOFT_WORDS)
    return (code, entry.label, INDEX, anchor, tuple(dict.fromkeys(groups)), tuple(sorted(optional)))


def tabular_docs(codeset: CodeSet, held_out: frozenset[tuple[str, str]]) -> list[RawDoc]:
    docs: list[RawDoc] = []
    for node in codeset.nodes.values():
        if node.kind not in ("category", "subcategory"):
            continue
        docs.append(_tabular_doc(node.code, node.description))
        for term in node.notes.get("inclusion_term", ()):
            if (node.code, term) not in held_out:
                docs.append(_tabular_doc(node.code, term))
    return docs


def _tabular_doc(code: str, text: str) -> RawDoc:
    words = document_tokens(text)
    required = tuple((w,) for w in dict.fromkeys(words) if w not in SOFT_WORDS)
    soft = tuple(sorted({w for w in words if w in SOFT_WORDS}))
    return (code, text, TABULAR, (), required, soft)
