"""The ICD-10-CM Alphabetic Index as a coder reads it: main terms, subterms, modifiers, cross-references.

Rows come from the package's ``data/icd10cm-index.json.gz`` (compiled from the FY2025 index in
``../shared/data/icd10cm-index``). A row's full term is the chain of terms from its main term
down; nonessential modifiers (the parenthesized words) may be present in the text or not; a
``see`` row sends the coder to another main term instead of giving a code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from chartkeeper.coding.codeset import load_data
from chartkeeper.coding.text import document_tokens, fold

_PARENTHESIZED = re.compile(r"\([^()]*\)")
_NOISE = ("by site", "by type", "by body region", "by location", "by degree", "by ")


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """One index row with the path of terms above it."""

    row_id: int
    path: tuple[str, ...]
    modifiers: tuple[str, ...]  # nonessential modifiers of every level on the path
    code: str  # as printed: "R10.0", "S60.82-", or "" for a cross-reference row
    see: str
    see_also: str

    @property
    def label(self) -> str:
        text = ", ".join(self.path)
        if self.see:
            text += f" (see {self.see})"
        return text

    def main_alternatives(self) -> list[str]:
        """Words of a main term written as variants ("Abdomen, abdominal"): any one will do.

        Only forms of one word count ("Ulcer, ulcerated, ulcerating"): "Effects, late" and
        "Odontosarcoma, ameloblastic" are a main term with an inverted modifier, both said.
        """
        parts = [p.strip() for p in self.path[0].split(",")]
        if len(parts) < 2 or any(" " in p for p in parts):
            return []
        first = fold(parts[0])
        return parts if all(_same_word(first, fold(p)) for p in parts[1:]) else []


class AlphabeticIndex:
    """All rows in index order, and the coded rows reachable by full path."""

    def __init__(self, rows: Iterable[list[object]], release: str, skip: frozenset[int] = frozenset()):
        self.release = release
        self.entries: list[IndexEntry] = []
        self.by_path: dict[str, IndexEntry] = {}
        # (code, path) of the rows left out: a measurement holds out what repeats them elsewhere
        self.skipped: list[tuple[str, tuple[str, ...]]] = []
        stack: list[tuple[str, str]] = []
        for row_id, level, term, see, see_also, nem, code in rows:
            assert isinstance(level, int) and isinstance(row_id, int)
            del stack[level:]
            stack.append((str(term), str(nem)))
            if row_id in skip:
                self.skipped.append((str(code), tuple(t for t, _ in stack)))
                continue
            entry = IndexEntry(
                row_id=row_id,
                path=tuple(t for t, _ in stack),
                modifiers=tuple(m for _, m in stack if m),
                code=str(code),
                see=str(see),
                see_also=str(see_also),
            )
            self.entries.append(entry)
            self.by_path.setdefault(path_key(entry.path), entry)
        # each row's subterms by the loose keys of their variants, for following a see
        # reference down the index (the main terms under the empty path); built on first need
        self._children: dict[tuple[str, ...], dict[str, list[IndexEntry]]] | None = None

    def resolve_see(self, entry: IndexEntry, hops: int = 0) -> IndexEntry | None:
        """The row a ``see`` reference points to: the deepest row its terms lead to, read the
        way a coder turns the pages, or None when not even its main term is in the index.

        A reference writes its terms with commas between them, but a term of the index may hold
        commas of its own: the variants of a main term ("see Failure, heart, diastolic" means
        the main term "Failure, failed", then "heart", then "diastolic"; "see Enlargement,
        enlarged, prostate" names both variants) or of a subterm ("Mastoiditis, acute" is under
        "acute, subacute"). And a subterm's "NEC" is left out ("see Dependence, drug, nicotine"
        is under "drug NEC"). A reference may also name a main term by its first word ("see
        Fracture, femur, neck" is under "Fracture, traumatic"), write two terms in another
        order ("see Diverticulosis, intestine, large": "large intestine"), name one alternative
        of a term joined by "or" ("see Bronchitis, acute": "acute or subacute") and join to a
        term the "with" the index puts on a line of its own ("with intoxication"). Matching
        whole paths only, about 5,800 of the index's 12,100 references led nowhere or stopped
        at their main term; now 10,090 lead to a code.
        """
        target = entry.see
        for noise in _NOISE:
            cut = fold(target).find(noise)
            if cut > 0:
                target = target[:cut]
                break
        parts = tuple(p.strip() for p in target.split(",") if p.strip())
        found = self.by_path.get(path_key(parts)) or self._follow((), [_loose(p) for p in parts])
        # the index puts "with" on a line of its own ("Arteriosclerosis, with, critical limb
        # ischemia"), where a reference may write "with critical limb ischemia" as one term
        split = [piece for p in parts for piece in _CONNECTOR.split(p, maxsplit=1) if piece.strip()]
        if len(split) > len(parts) and (found is None or len(found.path) < len(parts)):
            deeper = self._follow((), [_loose(p) for p in split])
            if deeper is not None and (found is None or len(deeper.path) > len(found.path)):
                found = deeper
        # a row reached may itself send the coder on ("see Injury, nerve, shoulder" reaches
        # "Injury, nerve NEC, shoulder, see Injury, nerve, arm")
        if found is not None and not found.code and found.see and hops < 3 and found is not entry:
            found = self.resolve_see(found, hops + 1) or found
        # a row without a code of its own lists its codes below it; the reference then stands
        # for the nearest row above with a code, as it did when only whole paths were matched
        path = found.path if found is not None else ()
        while found is not None and not found.code and len(path) > 1:
            path = path[:-1]
            found = self.by_path.get(path_key(path)) or found
        return found

    def _follow(self, path: tuple[str, ...], parts: list[str]) -> IndexEntry | None:
        """The deepest row under ``path`` that ``parts`` (loose keys) lead to."""
        if self._children is None:
            self._children = {}
            for row in self.entries:
                by_key = self._children.setdefault(row.path[:-1], {})
                for key in dict.fromkeys((*_variants(row.path[-1]), _loose(row.path[-1]))):
                    by_key.setdefault(key, []).append(row)
                by_key.setdefault(_bag(_loose(row.path[-1])), []).append(row)
                if len(row.path) > 1:
                    for key in _either(row.path[-1]):
                        by_key.setdefault(key, []).append(row)
        best: tuple[tuple[int, bool], IndexEntry] | None = None
        children = self._children.get(path, {})
        found = [(child, _takes(child, parts)) for child in children.get(parts[0], ())]
        if not any(taken for _child, taken in found) and len(parts) > 1:
            # two terms of the reference may be one term of the index in another order: "see
            # Diverticulosis, intestine, large" is under "Diverticulosis, large intestine"
            found = [(child, 2) for child in children.get(_bag(f"{parts[0]} {parts[1]}"), ())]
        if not any(taken for _child, taken in found) and not path:
            # a reference may name a main term by its first word: "see Fracture, femur, neck" is
            # under "Fracture, traumatic"; of equally deep routes, the main term that codes the
            # word said alone (Fracture, traumatic T14.8; not Fracture, pathological) is taken
            found = sorted(
                (
                    (child, 1)
                    for child in children.get(parts[0], ())
                    if _variants(child.path[0])[0] == parts[0]
                ),
                key=lambda pair: not pair[0].code,
            )
        for child, taken in found:
            if not taken:
                continue
            rest = parts[taken:]
            below = self._follow(child.path, rest) if rest else None
            reached = below if below is not None else child
            # the deepest row, and of equally deep ones the first with a code: "cardiac" and
            # "heart" are one word to the tokenizer, and "Failure, cardiac" only sends the coder
            # on to "Failure, heart" (I50.9)
            rank = (len(reached.path), bool(reached.code))
            if best is None or rank > best[0]:
                best = (rank, reached)
        return best[1] if best is not None else None


def _same_word(a: str, b: str) -> bool:
    """Two spellings of one word: a shared beginning of at least 3 letters and half the shorter."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n >= 3 and n * 2 >= min(len(a), len(b))


def _loose(term: str) -> str:
    """A term as a reference may write it: its words, without "NEC", "NOS" or nonessential
    modifiers ("see Injury, spinal (cord), cervical" is under "spinal")."""
    words = " ".join(t for t in document_tokens(_PARENTHESIZED.sub(" ", term)) if t not in ("nec", "nos"))
    # a term of stop words alone keeps them: "with" and "A" (influenza A) are not one key
    return words or " ".join(term.lower().split())


#: A connector the index writes as a subterm of its own, at the start of a reference's term.
_CONNECTOR = re.compile(r"^(with|without|in|due to)\s+(?=\S)", re.I)


def _bag(loose: str) -> str:
    """A loose key's words in sorted order, marked so it never equals a loose key itself."""
    return "\0" + " ".join(sorted(loose.split()))


@cache
def _variants(term: str) -> list[str]:
    """The loose keys of a term's comma-separated variants ("Failure, failed": two)."""
    return [_loose(v) for v in term.split(",") if v.strip()]


def _takes(row: IndexEntry, parts: list[str]) -> int:
    """How many of a reference's ``parts`` (loose keys) a row's own term stands for: all of its
    comma-separated variants written out, or one of them; 0 if none. A main term's parts are
    variants only when they are forms of one word ("Failure, failed", not "Cave-in, injury")."""
    term = row.path[-1]
    variants = _variants(term)
    whole = len(variants)
    if whole > 1 and parts[:whole] == variants:
        return whole
    if parts and parts[0] == _loose(term):
        return 1
    if parts and parts[0] in variants and (len(row.path) > 1 or row.main_alternatives()):
        return 1
    if parts and len(row.path) > 1 and parts[0] in _either(term):
        return 1  # "see Bronchitis, acute" is under "acute or subacute"
    return 0


@cache
def _either(term: str) -> tuple[str, ...]:
    """The loose keys of a subterm's alternatives joined by "or" ("acute or subacute": "acute",
    "subacute"); none for a term without one."""
    pieces = [piece for v in term.split(",") for piece in re.split(r"\s+or\s+", v) if piece.strip()]
    return tuple(_loose(piece) for piece in pieces) if len(pieces) > len(term.split(",")) else ()


def path_key(path: tuple[str, ...]) -> str:
    return "|".join(" ".join(document_tokens(p)) for p in path)


@cache
def default_index() -> AlphabeticIndex:
    data = load_data("icd10cm-index.json.gz")
    return AlphabeticIndex(data["rows"], data["release"])


def load_index(skip: frozenset[int]) -> AlphabeticIndex:
    """The index without the rows in ``skip``: for evaluating on entries it was not built from."""
    data = load_data("icd10cm-index.json.gz")
    return AlphabeticIndex(data["rows"], data["release"], skip)
