"""Codes named inside a text, read as the words they stand for.

The tabular list writes some of its terms with codes instead of words: Z83.3 "Family history of
diabetes mellitus" includes "Conditions classifiable to E08-E13", P00.0 "Newborn affected by
maternal conditions classifiable to O10-O11, O13-O16". A coder reading such a term looks the
codes up; so do coders and clinicians who write "hx of C18" or "family history E08-E13". The
suggester works on words, so each code or range a text names is replaced by the title of the
narrowest tabular entry that holds all of it: "E08-E13" is the block "Diabetes mellitus", "D50-D89"
the chapter "Diseases of the blood and blood-forming organs and ...", "C7A.022-C7A.025" the
subcategory C7A.02 "Malignant carcinoid tumors of the appendix, large intestine, and rectum".
"""

from __future__ import annotations

import re

from chartkeeper.coding.codeset import CodeSet, normalize

#: A code as the tabular list writes one in a note: category, optional subcategory, optional
#: ".-" ("F10.-"); optionally a range to another ("O10-O11"). Not inside a word ("G6PD").
_CODE = r"[A-TV-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?"
MENTION = re.compile(rf"(?<![\w.])({_CODE})(?:\.-|-)?(?:-({_CODE}))?(?![\w])", re.IGNORECASE)
#: What a title says after it names no condition: its own range, and the negated part ("Rheumatic
#: fever without heart involvement" named as "any condition in I00 with ... heart involvement").
_TITLE_RANGE = re.compile(r"\s*\([A-Z][0-9][0-9A-Z][^)]*\)\s*$")
_TITLE_NEGATED = re.compile(r",?\s+(?:without|not)\b.*$", re.IGNORECASE)


def span_title(codeset: CodeSet, first: str, last: str | None = None) -> str | None:
    """The title of the narrowest tabular entry holding ``first`` and ``last`` (None when
    either is not a code of the tabular list, or they share no chapter)."""
    start = codeset.get(first)
    end = codeset.get(last) if last else start
    if start is None or end is None:
        return None
    above_end = {n.code for n in codeset.lineage(end.code)}
    for node in codeset.lineage(start.code):
        if node.code in above_end:
            title = _TITLE_NEGATED.sub("", _TITLE_RANGE.sub("", node.description))
            return title or None
    return None


def say_codes(text: str, codeset: CodeSet) -> str:
    """``text`` with every code or code range it names replaced by the words of its title.

    A word shaped like a code that the tabular list does not hold ("B12") is left as written, and
    so is a bare category in lower case ("p53"): a code is read in lower case only with its dot
    or as a range ("c18.9", "e08-e13")."""

    def said(match: re.Match[str]) -> str:
        if match.group(1)[0].islower() and "." not in match.group(0) and not match.group(2):
            return match.group(0)  # "p53" is a gene more often than P53 the newborn's bleeding
        first, last = normalize(match.group(1)), match.group(2)
        title = span_title(codeset, first, normalize(last) if last else None)
        return f" {title} " if title else match.group(0)

    return MENTION.sub(said, text) if any(ch.isdigit() for ch in text) else text


def category_titles(text: str, codeset: CodeSet, limit: int = 40) -> list[str]:
    """The titles of the categories each code range in ``text`` spans, in tabular order (at most
    ``limit``): "Conditions classifiable to C15-C26" under Z80.0 holds "Malignant neoplasm of
    colon" (C18), which a coder knows and the range's own title, "Malignant neoplasms of
    digestive organs", does not say.

    Only a range within one block is spelt out: one across blocks ("C00-C96", "J00-J39") names a
    broad class, and its dozens of categories made every cancer or respiratory phrase find the
    codes of conditions "complicating pregnancy" or a family history."""
    spans: list[tuple[str, str, str]] = []
    for match in MENTION.finditer(text):
        first = codeset.get(normalize(match.group(1)))
        last = codeset.get(normalize(match.group(2))) if match.group(2) else None
        if first is None or last is None or first.code[:3] == last.code[:3]:
            continue
        start, end = codeset.get(first.code[:3]), codeset.get(last.code[:3])
        if start is not None and end is not None and start.parent == end.parent:
            spans.append((start.code, end.code, start.parent))
    # within one block the categories are that block's children, already in tabular order
    categories = dict.fromkeys(
        code for a, b, block in sorted(spans) for code in codeset.children.get(block, []) if a <= code <= b
    )
    return [_TITLE_RANGE.sub("", codeset.nodes[code].description) for code in list(categories)[:limit]]
