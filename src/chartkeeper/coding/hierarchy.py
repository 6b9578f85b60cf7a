"""ICD-10-CM subsumption for FHIR search (token ``:below`` / ``:above``), as a terminology port.

The fhir package cannot import coding, so the application hands this object to the search
parser (``fhir.search.terminology.Terminology.with_hierarchy``); see docs/adr/0013.

ICD-10-CM codes are lexical below their category: every code under ``E11.6`` starts with
``E11.6``, and every code under the category ``E11`` starts with ``E11.``, 7th-character codes
included. So ``below`` answers with code *prefixes* rather than enumerating the (implicit)
7th-character codes, and SQL reads each as one index range. Blocks (``E08-E13``) and chapters
(``4``) are not codes a record carries, but searching below them is useful: they expand to
their categories. Codes are compared as the tabular writes them (upper case, with the dot),
which is how FHIR's ICD-10-CM system spells them.
"""

from __future__ import annotations

from chartkeeper.coding.codeset import CodeSet, default_codeset, normalize
from chartkeeper.coding.models import ICD10CM_SYSTEM
from chartkeeper.fhir.search.terminology import Subsumed, Terminology


class Icd10cmHierarchy:
    """``CodeHierarchy`` over the shipped tabular list."""

    def __init__(self, codeset: CodeSet | None = None) -> None:
        self._codeset = codeset

    @property
    def codeset(self) -> CodeSet:
        if self._codeset is None:  # loaded on first use, not when the app starts
            self._codeset = default_codeset()
        return self._codeset

    def below(self, code: str) -> Subsumed | None:
        written = normalize(code)
        node = self.codeset.nodes.get(written)
        if node is None:
            status = self.codeset.status(written)
            return Subsumed(codes=(status.code,)) if status.exists else None
        if node.kind in ("chapter", "block"):
            categories = self._categories(written)
            return Subsumed(codes=(written, *categories), prefixes=tuple(f"{c}." for c in categories))
        if node.kind == "category":
            return Subsumed(codes=(written,), prefixes=(f"{written}.",))
        return Subsumed(codes=(written,), prefixes=(written,))

    def above(self, code: str) -> Subsumed | None:
        written = normalize(code)
        node = self.codeset.nodes.get(written)
        if node is None:
            status = self.codeset.status(written)
            if not status.exists or status.node is None:
                return None
            base = status.node.code
            return Subsumed(
                codes=tuple(sorted({written, base, *(n.code for n in self.codeset.ancestors(base))}))
            )
        return Subsumed(codes=tuple(sorted({written, *(n.code for n in self.codeset.ancestors(written))})))

    def _categories(self, code: str) -> list[str]:
        found: list[str] = []
        stack = [code]
        while stack:
            current = stack.pop()
            for child in self.codeset.children.get(current, []):
                kind = self.codeset.nodes[child].kind
                if kind == "category":
                    found.append(child)
                elif kind in ("chapter", "block"):
                    stack.append(child)
        return sorted(found)


def with_icd10cm(terminology: Terminology) -> Terminology:
    """``terminology`` that also knows ICD-10-CM's hierarchy."""
    return terminology.with_hierarchy(ICD10CM_SYSTEM, Icd10cmHierarchy())
