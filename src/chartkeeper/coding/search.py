"""Text search over the tabular list: descriptions and inclusion terms, any code level.

Unlike ``suggest`` (which answers "which billable code?"), search answers "where in the
classification is this?": it returns headers too, as they are, for browsing. The same matcher
gives it typo, abbreviation and word-order tolerance.
"""

from __future__ import annotations

from chartkeeper.coding.models import Suggestion
from chartkeeper.coding.suggest import Suggester, default_suggester
from chartkeeper.coding.terms import TABULAR


def search(text: str, limit: int = 20, suggester: Suggester | None = None) -> list[Suggestion]:
    """Tabular codes whose description or inclusion terms match ``text``, best first."""
    s = suggester or default_suggester()
    limit = max(1, min(limit, 200))
    tokens = s.query_words(text)
    out: dict[str, Suggestion] = {}
    for hit in s.matcher.best(tokens, limit=limit * 3, only=TABULAR):
        node = s.codeset.nodes.get(hit.code)
        if node is None or hit.code in out:
            continue
        out[hit.code] = Suggestion(hit.code, node.description, hit.score, (hit.label,), "tabular")
        if len(out) == limit:
            break
    return list(out.values())
