"""Term documents for matching, compiled once: index rows and tabular terms as word ids.

A document is one index row (its main term's words should be said, and a row whose main term
is not said counts less; subterm words should be; nonessential modifiers may be) or one tabular
description or inclusion term. Tokenizing the 125,000 documents takes seconds on a shared core,
so ``tools/build_coding_data.py`` compiles them into ``data/icd10cm-terms.json.gz`` and the app
only loads word ids. The benchmark compiles them again without held-out rows, through the same
functions.
"""

from __future__ import annotations

import base64
import math
import re
import sys
from array import array
from dataclasses import dataclass
from typing import Any, ClassVar

from chartkeeper.coding.code_mentions import MENTION, category_titles, say_codes
from chartkeeper.coding.codeset import CodeSet, normalize
from chartkeeper.coding.index import AlphabeticIndex, IndexEntry
from chartkeeper.coding.text import NEGATION, SOFT_WORDS, document_tokens, negated_phrases

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
    #: Per tabular node (category or subcategory), every word said about it anywhere: its
    #: description, its inclusion terms and the index rows that lead to it. Node ``k`` is
    #: ``node_codes[k]``; its words are ``node_words[node_start[k]:node_start[k + 1]]``.
    node_codes: list[str]
    node_start: array[int]
    node_words: array[int]
    #: Node ``k``'s description, tokenized: ``title_words[title_start[k]:title_start[k + 1]]``.
    title_start: array[int]
    title_words: array[int]
    #: What the tabular list calls an index word: word ``w``'s renderings are
    #: ``trans_words[trans_start[w]:trans_start[w + 1]]``, with strengths in ``trans_strength``
    #: (the share of the index rows saying ``w`` whose codes' descriptions say the rendering).
    trans_start: array[int]
    trans_words: array[int]
    trans_strength: array[float]
    #: The categories whose descriptions (of any code under them) use word ``w``:
    #: ``categories[k]`` for ``k`` in ``cat_of_word[cat_start[w]:cat_start[w + 1]]``.
    categories: list[str]
    cat_start: array[int]
    cat_of_word: array[int]
    #: Documents in the order of their nodes (``node_codes``, sorted, so a node and everything
    #: under it are one run): node ``k`` is the node of ``node_docs[k]`` documents, and word
    #: ``w``'s documents sit at the sorted positions ``ranked_post[post_start[w]:post_start[w + 1]]``
    #: of that order. How many documents under a code say a word is then two bisections.
    node_docs: array[int]
    ranked_post: array[int]
    #: What the code set says after a negator, as stemmed words ("open wound", from "without open
    #: wound"): where a text's negation ends when its clause goes on (``text._tokens``).
    negations: list[str]

    _ARRAYS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("weights", "d"),
        ("anchor_start", "i"),
        ("anchor_words", "i"),
        ("group_start", "i"),
        ("word_start", "i"),
        ("group_words", "i"),
        ("post_start", "i"),
        ("post_docs", "i"),
        ("node_start", "i"),
        ("node_words", "i"),
        ("title_start", "i"),
        ("title_words", "i"),
        ("trans_start", "i"),
        ("trans_words", "i"),
        ("trans_strength", "d"),
        ("cat_start", "i"),
        ("cat_of_word", "i"),
        ("node_docs", "i"),
        ("ranked_post", "i"),
    )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "vocabulary": self.vocabulary,
            "codes": self.codes,
            "labels": self.labels,
            "sources": base64.b64encode(self.sources).decode("ascii"),
            "node_codes": self.node_codes,
            "categories": self.categories,
            "negations": self.negations,
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
            node_codes=[sys.intern(c) for c in data["node_codes"]],
            categories=[sys.intern(c) for c in data["categories"]],
            negations=data["negations"],
            **arrays,
        )


def _assemble(
    vocabulary: list[str],
    docs: list[list[Any]],
    profiles: list[tuple[str, list[int], list[int]]],
    renderings: dict[int, list[tuple[int, float]]],
    categories: list[tuple[str, list[int]]],
    doc_nodes: list[int],
    negations: list[str],
) -> Terms:
    """Flat arrays from documents ``[code, label, source, anchor, groups, optional]`` (word ids),
    node profiles ``(code, word ids)`` and renderings (word id → ``[(word id, strength)]``); the
    negated phrases are kept as they are."""
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
    # documents ordered by node (those of no node last), and each word's postings in that order
    order = sorted(range(len(docs)), key=lambda n: (doc_nodes[n] if doc_nodes[n] >= 0 else len(profiles), n))
    position = [0] * len(docs)
    for p, n in enumerate(order):
        position[n] = p
    ranked_post = array("i")
    for plist in postings:
        ranked_post.extend(sorted(position[n] for n in plist))
    node_docs = array("i", [0] * len(profiles))
    for k in doc_nodes:
        if k >= 0:
            node_docs[k] += 1
    node_start, node_words = array("i", [0]), array("i")
    title_start, title_words = array("i", [0]), array("i")
    for _code, words_of_node, title in profiles:
        node_words.extend(words_of_node)
        node_start.append(len(node_words))
        title_words.extend(title)
        title_start.append(len(title_words))
    trans_start, trans_words, trans_strength = array("i", [0]), array("i"), array("d")
    for w in range(len(vocabulary)):
        for target, strength in renderings.get(w, ()):
            trans_words.append(target)
            trans_strength.append(strength)
        trans_start.append(len(trans_words))
    by_word: list[list[int]] = [[] for _ in vocabulary]
    for k, (_code, words_of_category) in enumerate(categories):
        for w in words_of_category:
            by_word[w].append(k)
    cat_start, cat_of_word = array("i", [0]), array("i")
    for ks in by_word:
        cat_of_word.extend(ks)
        cat_start.append(len(cat_of_word))
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
        node_codes=[code for code, _w, _t in profiles],
        node_start=node_start,
        node_words=node_words,
        title_start=title_start,
        title_words=title_words,
        trans_start=trans_start,
        trans_words=trans_words,
        trans_strength=trans_strength,
        categories=[code for code, _w in categories],
        cat_start=cat_start,
        cat_of_word=cat_of_word,
        node_docs=node_docs,
        ranked_post=ranked_post,
        negations=negations,
    )


#: Words of one-word cross-references not used as synonyms: too common, or not the same thing.
_NOT_SYNONYMS = frozenset({"condition", "age", "affection", "advice", "active", "old", "late", "state"})


def synonyms(index: AlphabeticIndex) -> dict[str, frozenset[str]]:
    """Word equivalences the index states, which coders follow: word → words its documents accept.

    * one-word "see" and "see also" references between main terms ("Ache, see Pain";
      "Acidemia, see also Acidosis"), one way: documents of the target accept the referring word;
    * the spellings of one main term ("Tuberculosis, tubercular, tuberculous"), so that the
      tabular list's "Tuberculous arthritis" is found from "tuberculosis of joint".
    """
    pairs: dict[str, set[str]] = {}

    def pair(a: str, b: str, both_ways: bool = True) -> None:
        if a != b and a not in _NOT_SYNONYMS and b not in _NOT_SYNONYMS:
            pairs.setdefault(b, set()).add(a)
            if both_ways:
                pairs.setdefault(a, set()).add(b)

    for entry in index.entries:
        if len(entry.path) != 1:
            continue
        alternatives = entry.main_alternatives()
        if alternatives:
            words = [w for a in alternatives for w in document_tokens(a)]
            for w in words[1:]:
                pair(words[0], w)
            continue
        for target in (entry.see if not entry.code else "", entry.see_also):
            source, target = entry.path[0].strip(), target.strip()
            if not target or " " in source or " " in target or "," in source or "," in target:
                continue
            a, b = document_tokens(source), document_tokens(target)
            if len(a) == 1 and len(b) == 1:
                # one way: the target's documents accept the referring word ("ache" finds Pain),
                # but "Pleuropneumonia (see also Pneumonia)" does not make every pneumonia one
                pair(a[0], b[0], both_ways=False)
    return {w: frozenset(v) for w, v in pairs.items()}


def _widen(group: tuple[str, ...], syn: dict[str, frozenset[str]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*group, *sorted(x for w in group for x in syn.get(w, ())))))


def compile_terms(
    codeset: CodeSet,
    index: AlphabeticIndex,
    held_inclusions: frozenset[tuple[str, str]],
) -> Terms:
    """Tokenize every document and give each word an id (sorted, so the output is deterministic).

    A note saying the words of an index row the index skipped, or of a held-out inclusion term,
    for the same node is held out with it (``note_docs``).
    """
    syn = synonyms(index)
    raw = [
        (code, label, src, _widen(anchor, syn), tuple(_widen(g, syn) for g in groups), opt)
        for code, label, src, anchor, groups, opt in index_docs(index)
        + tabular_docs(codeset, held_inclusions)
        + note_docs(codeset, held_inclusions, index.skipped)
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
    profiles = _profiles(codeset, raw, ids)
    node_ids = {code: k for k, (code, _w, _t) in enumerate(profiles)}
    doc_nodes = [node_ids.get(node_of(codeset, d[0]) or "", -1) for d in raw]
    return _assemble(
        vocabulary,
        docs,
        profiles,
        renderings(codeset, raw, ids),
        _category_words(codeset, ids),
        doc_nodes,
        sorted(_negations(codeset, index, held_inclusions)),
    )


def _negations(
    codeset: CodeSet, index: AlphabeticIndex, held_inclusions: frozenset[tuple[str, str]]
) -> frozenset[str]:
    """What the descriptions, inclusion terms and index terms (each term of a row alone) deny."""
    texts: list[str] = []
    for node in codeset.nodes.values():
        texts.append(node.description)
        texts.extend(t for t in node.notes.get("inclusion_term", ()) if (node.code, t) not in held_inclusions)
    texts.extend(term for entry in index.entries for term in entry.path)
    return negated_phrases(texts)


def _category_words(codeset: CodeSet, ids: dict[str, int]) -> list[tuple[str, list[int]]]:
    """Each category with every word its codes' descriptions use (what tells its codes apart)."""
    out: list[tuple[str, list[int]]] = []
    for node in codeset.nodes.values():
        if node.kind != "category":
            continue
        words: set[int] = set()
        stack = [node.code]
        while stack:
            code = stack.pop()
            words.update(ids[w] for w in document_tokens(codeset.nodes[code].description) if w in ids)
            stack.extend(codeset.children.get(code, []))
        out.append((node.code, sorted(words)))
    return sorted(out)


#: A rendering must come from this many index rows, this share of the word's rows, and be this
#: many times likelier than for an index row at large.
RENDER_MIN_ROWS, RENDER_MIN_SHARE, RENDER_MIN_LIFT, RENDER_MAX = 3, 0.5, 4.0, 3


def renderings(
    codeset: CodeSet, raw: list[RawDoc], ids: dict[str, int]
) -> dict[int, list[tuple[int, float]]]:
    """How the tabular list words what the index says, learned from the index rows themselves.

    An index row says some words ("Osteomyelitis, acute, metatarsus") and leads to a code whose
    descriptions (its own and its headers') say others ("… ankle and foot"). Over all rows, a word
    whose rows' codes mostly say another word that rows at large seldom lead to is rendered by
    it: metatarsus → foot, leg → lower limb. Computed from the rows the suggester is built from,
    so a held-out row teaches nothing.
    """
    lineage_words: dict[str, frozenset[int]] = {}
    rows_with: dict[int, int] = {}
    pair_rows: dict[tuple[int, int], int] = {}
    target_rows: dict[int, int] = {}
    rows = 0
    for code, _label, src, anchor, groups, optional in raw:
        if src != INDEX:
            continue
        node = node_of(codeset, code)
        if node is None:
            continue
        said = lineage_words.get(node)
        if said is None:
            said = frozenset(
                ids[w]
                for n in codeset.lineage(node)
                if n.kind in ("category", "subcategory")
                for w in document_tokens(n.description)
                if w in ids and w not in SOFT_WORDS and not w.startswith(NEGATION)
            )
            lineage_words[node] = said
        # negated words ("~vomit") neither have nor are renderings
        words = {
            ids[w]
            for w in (*anchor, *(x for g in groups for x in g), *optional)
            if w not in SOFT_WORDS and not w.startswith(NEGATION)
        }
        rows += 1
        for b in said:
            target_rows[b] = target_rows.get(b, 0) + 1
        for a in words:
            rows_with[a] = rows_with.get(a, 0) + 1
            for b in said - words:
                pair_rows[(a, b)] = pair_rows.get((a, b), 0) + 1
    out: dict[int, list[tuple[int, float]]] = {}
    for (a, b), n in sorted(pair_rows.items()):
        if n < RENDER_MIN_ROWS:
            continue
        share = n / rows_with[a]
        if share >= RENDER_MIN_SHARE and share / (target_rows[b] / rows) >= RENDER_MIN_LIFT:
            out.setdefault(a, []).append((b, round(share, 3)))
    return {a: sorted(v, key=lambda t: (-t[1], t[0]))[:RENDER_MAX] for a, v in out.items()}


def node_of(codeset: CodeSet, code: str) -> str | None:
    """The tabular node an index or tabular code stands for ("S42.41-" → "S42.41"), if any."""
    base = normalize(code.rstrip("-").rstrip("."))
    node = codeset.nodes.get(base)
    return base if node is not None and node.kind in ("category", "subcategory") else None


def _profiles(
    codeset: CodeSet, raw: list[RawDoc], ids: dict[str, int]
) -> list[tuple[str, list[int], list[int]]]:
    """Every word said about each node, by the tabular list and by the index rows leading to it,
    and the words of the node's own description (every category and subcategory has both)."""
    said: dict[str, set[int]] = {}
    for code, _label, _src, anchor, groups, optional in raw:
        node = node_of(codeset, code)
        if node is None:
            continue
        bag = said.setdefault(node, set())
        bag.update(
            ids[w] for w in (*anchor, *(x for g in groups for x in g), *optional) if w not in SOFT_WORDS
        )
    nodes = sorted(code for code, n in codeset.nodes.items() if n.kind in ("category", "subcategory"))
    return [
        (
            code,
            sorted(said.get(code, ())),
            sorted({ids[w] for w in document_tokens(codeset.nodes[code].description) if w in ids}),
        )
        for code in nodes
    ]


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
                docs.extend(_inclusion_docs(codeset, node.code, term))
    return docs


def _inclusion_docs(codeset: CodeSet, code: str, term: str) -> list[RawDoc]:
    """An inclusion term's documents. A term that names codes ("Conditions classifiable to
    C15-C26" under Z80.0) is read with their titles, as the suggester reads a text
    (``code_mentions``), and once more with each category title of a range in their place, so
    "family history of colon cancer" finds Z80.0 through C18. Those extra documents are labelled
    with the title they add, so they are never the code's own words (no direct hit)."""
    said = say_codes(term, codeset)
    docs = [_tabular_doc(code, term, said)]
    titles, first = category_titles(term, codeset), MENTION.search(term)
    if titles and first is not None:
        lead = term[: first.start()]
        docs.extend(_tabular_doc(code, f"{term}: {title}", f"{lead}{title}") for title in titles)
    return docs


#: A note's closing reference to the codes it points to: "sepsis of newborn (P36.-)",
#: "influenza with involvement of gastrointestinal tract (J09.X3, J10.2, J11.2)".
_NOTE_CODES = re.compile(
    r"\s*\(([A-Z][0-9][0-9A-Z][0-9A-Z.\-]*(?:,\s*[A-Z][0-9][0-9A-Z][0-9A-Z.\-]*)*)\)\s*$"
)
#: Notes whose phrases name conditions with the codes they belong to (Includes notes name
#: conditions of the node that carries them). "Code first", "use additional code" and "code
#: also" name other codes to report with this one, not what this one means, so they are not read.
_NAMING_NOTES = ("excludes1", "excludes2")


def note_docs(
    codeset: CodeSet,
    held_inclusions: frozenset[tuple[str, str]],
    held_rows: list[tuple[str, tuple[str, ...]]],
) -> list[RawDoc]:
    """The tabular list's own cross-references as documents: an Excludes note names a
    condition and the code it belongs to ("congenital pneumonia (P23.-)" under J16), and an
    Includes note a condition its node covers ("tooth decay" under K02). A coder reads these
    notes too; they hold thousands of phrases the index and the inclusion terms do not.

    A note is left out when it says the words of a held-out phrase of the same node (an
    inclusion term, or an index row as (code, path)), so a measurement on held-out phrases does
    not find them again here; a range ("(T20-T31)") is too wide to lead anywhere.
    """
    held = {(node_of(codeset, code) or code, frozenset(document_tokens(t))) for code, t in held_inclusions}
    held.update(
        (node_of(codeset, code) or code, frozenset(document_tokens(" ".join(path))))
        for code, path in held_rows
        if code
    )
    docs: list[RawDoc] = []
    for node in codeset.nodes.values():
        for kind in _NAMING_NOTES:
            for note in node.notes.get(kind, ()):
                found = _NOTE_CODES.search(note)
                if found is None or found.start() == 0:
                    continue
                text = note[: found.start()]
                words = frozenset(document_tokens(text))
                for ref in found[1].split(","):
                    ref = ref.strip()
                    if "-" in ref.rstrip("-"):
                        continue  # a range
                    target = node_of(codeset, ref)
                    if target is not None and (target, words) not in held:
                        docs.append(_tabular_doc(target, text))
        if node.kind in ("category", "subcategory"):
            for text in node.notes.get("includes", ()):
                if (node.code, frozenset(document_tokens(text))) not in held:
                    docs.append(_tabular_doc(node.code, text))
    return docs


def _tabular_doc(code: str, label: str, text: str | None = None) -> RawDoc:
    """A tabular description or term as a document; ``text`` is what is matched when it differs
    from the ``label`` shown."""
    words = document_tokens(label if text is None else text)
    required = tuple((w,) for w in dict.fromkeys(words) if w not in SOFT_WORDS)
    soft = tuple(sorted({w for w in words if w in SOFT_WORDS}))
    return (code, label, TABULAR, (), required, soft)
