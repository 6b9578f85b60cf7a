"""The ICD-10-CM Alphabetic Index as a coder reads it: main terms, subterms, modifiers, cross-references.

Rows come from the package's ``data/icd10cm-index.json.gz`` (compiled from the FY2025 index in
``../shared/data/icd10cm-index``). A row's full term is the chain of terms from its main term
down; nonessential modifiers (the parenthesized words) may be present in the text or not; a
``see`` row sends the coder to another main term instead of giving a code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from chartkeeper.coding.codeset import load_data
from chartkeeper.coding.text import document_tokens, fold

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

    def resolve_see(self, entry: IndexEntry) -> IndexEntry | None:
        """The row a ``see`` reference points to, when the index has it by path."""
        target = entry.see
        for noise in _NOISE:
            cut = fold(target).find(noise)
            if cut > 0:
                target = target[:cut]
                break
        parts = tuple(p.strip() for p in target.split(",") if p.strip())
        while parts:
            found = self.by_path.get(path_key(parts))
            if found is not None:
                return found
            parts = parts[:-1]
        return None


def _same_word(a: str, b: str) -> bool:
    """Two spellings of one word: a shared beginning of at least 3 letters and half the shorter."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n >= 3 and n * 2 >= min(len(a), len(b))


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
