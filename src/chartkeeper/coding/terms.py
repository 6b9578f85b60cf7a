"""Term documents for matching, compiled once: index rows and tabular terms as word ids.

A document is one index row (its main term's words must be said; subterm words should be;
nonessential modifiers may be) or one tabular description or inclusion term. Tokenizing the
125,000 documents takes seconds on a shared core, so ``tools/build_coding_data.py`` compiles
them into ``data/icd10cm-terms.json.gz`` and the app only loads word ids. The benchmark compiles
them again without held-out rows, through the same functions.
"""

from __future__ import annotations

import base64
import math
import sys
from array import array
from dataclasses import dataclass
from typing import Any, ClassVar

from chartkeeper.coding.codeset import CodeSet
from chartkeeper.coding.index import AlphabeticIndex, IndexEntry
from chartkeeper.coding.text import SOFT_WORDS, document_tokens

INDEX, TABULAR = 0, 1
SOURCES = ("index", "tabular")

#: (code, label, source, anchor words, required word groups, optional words)
RawDoc = tuple[str, str, int, tuple[str, ...], tuple[tuple[str, ...], ...], tuple[str, ...]]


def _pack(values: array[Any]) -> str:
    return base64.b64encode(values.tobytes()).decode("ascii")


def _unpack(code: str, text: str) -> array[Any]:
    out: array[Any] = array(code)
    out.frombytes(base64.b64decode(text))
    return out


@dataclass
class Terms:
    """Documents over a vocabulary, stored as flat arrays (CSR style) of word and document ids.

    Document ``n``'s anchor words are ``anchor_words[anchor_start[n]:anchor_start[n + 1]]``; its
    groups are ``group_start[n]`` … ``group_start[n + 1]``, and group ``g``'s words are
    ``group_words[word_start[g]:word_start[g + 1]]``. Word ``w``'s postings (the documents that
    contain it, optional words included, soft words never) are
    ``post_docs[post_start[w]:post_start[w + 1]]``. Flat arrays load in milliseconds and take a
    few megabytes, where lists of lists of ints took seconds and a hundred.
    """

    vocabulary: list[str]
    weights: array[float]
    codes: list[str]
    labels: list[str]
    sources: bytes
    anchor_start: array[int]
    anchor_words: array[int]
    group_start: array[int]
    word_start: array[int]
    group_words: array[int]
    post_start: array[int]
    post_docs: array[int]

    _ARRAYS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("weights", "d"),
        ("anchor_start", "i"),
        ("anchor_words", "i"),
        ("group_start", "i"),
        ("word_start", "i"),
        ("group_words", "i"),
        ("post_start", "i"),
        ("post_docs", "i"),
    )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "vocabulary": self.vocabulary,
            "codes": self.codes,
            "labels": self.labels,
            "sources": base64.b64encode(self.sources).decode("ascii"),
        }
        for name, _code in self._ARRAYS:
            out[name] = _pack(getattr(self, name))
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Terms:
        arrays = {name: _unpack(code, data[name]) for name, code in cls._ARRAYS}
        return cls(
            vocabulary=data["vocabulary"],
            codes=[sys.intern(c) for c in data["codes"]],
            labels=data["labels"],
            sources=base64.b64decode(data["sources"]),
            **arrays,
        )


def _assemble(vocabulary: list[str], docs: list[list[Any]]) -> Terms:
    """Flat arrays from documents ``[code, label, source, anchor, groups, optional]`` (word ids)."""
    soft = {i for i, w in enumerate(vocabulary) if w in SOFT_WORDS}
    postings: list[list[int]] = [[] for _ in vocabulary]
    df = [0] * len(vocabulary)
    anchor_start, anchor_words = array("i", [0]), array("i")
    group_start, word_start, group_words = array("i", [0]), array("i", [0]), array("i")
    for n, (_c, _l, _s, anchor, groups, optional) in enumerate(docs):
        anchor_words.extend(anchor)
        anchor_start.append(len(anchor_words))
        for group in groups:
            group_words.extend(group)
            word_start.append(len(group_words))
        group_start.append(len(word_start) - 1)
        words = {w for g in groups for w in g}
        words.update(optional)
        for w in sorted(words):
            df[w] += 1
            if w not in soft:
                postings[w].append(n)
    post_start, post_docs = array("i", [0]), array("i")
    for plist in postings:
        post_docs.extend(plist)
        post_start.append(len(post_docs))
    total = len(docs) + 1
    return Terms(
        vocabulary=vocabulary,
        weights=array("d", [math.log(total / (1 + c)) + 1.0 for c in df]),
        codes=[d[0] for d in docs],
        labels=[d[1] for d in docs],
        sources=bytes(d[2] for d in docs),
        anchor_start=anchor_start,
        anchor_words=anchor_words,
        group_start=group_start,
        word_start=word_start,
        group_words=group_words,
        post_start=post_start,
        post_docs=post_docs,
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
