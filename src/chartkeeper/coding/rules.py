"""The coding rules, each named, each citing where it comes from.

Code rules look at one code (exists, billable, 7th character, placeholder X, MCE age and sex
edits); encounter rules look at the codes of one encounter together (Excludes1 pairs, "code
first" and "use additional code" sequencing). Errors block billing; warnings ask a coder to look.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from chartkeeper.coding.codeset import CodeSet, load_data, normalize
from chartkeeper.coding.models import Finding, Severity

_CODE = r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?"
_REF = re.compile(rf"\b({_CODE})(?:\s*-\s*({_CODE})|\.?-)?")
TABULAR = "ICD-10-CM tabular list"
AGE_GROUPS = {(0, 0): "newborn", (0, 17): "pediatric", (9, 64): "maternity", (15, 124): "adult"}


@dataclass(frozen=True, slots=True)
class Edits:
    """MCE age ranges and sex edits by code (see tools/build_coding_data.py)."""

    release: str
    ages: dict[str, tuple[int, int]]
    sexes: dict[str, str]


@cache
def default_edits() -> Edits:
    data = load_data("mce-edits.json.gz")
    return Edits(data["release"], {k: (v[0], v[1]) for k, v in data["age"].items()}, data["sex"])


def code_findings(
    codeset: CodeSet, edits: Edits, written: str, sex: str | None = None, age: int | None = None
) -> list[Finding]:
    """Everything wrong with one code for a patient of ``sex`` and ``age`` (years), if known."""
    status = codeset.status(written)
    release = codeset.release
    if status.problem is not None:
        source = TABULAR
        if status.problem.startswith(("seventh", "placeholder")) and status.node is not None:
            rule = codeset.seventh(status.node.code)
            source = f"7th character note at {rule[0].code}" if rule else TABULAR
        return [Finding(status.problem, "error", status.message or "", status.code, source, release)]
    out: list[Finding] = []
    code = status.code
    edit_code = code
    if age is not None and edit_code in edits.ages:
        low, high = edits.ages[edit_code]
        if not low <= age <= high:
            group = AGE_GROUPS.get((low, high), "age")
            out.append(
                Finding(
                    "age-conflict", "warning",
                    f"{code} is a {group} diagnosis (ages {low}-{high}); the patient is {age}",
                    code, f"{edits.release}: {group} age edit", release,
                )
            )  # fmt: skip
    if sex in ("male", "female") and edit_code in edits.sexes and edits.sexes[edit_code] != sex:
        out.append(
            Finding(
                "sex-conflict", "warning",
                f"{code} is a {edits.sexes[edit_code]}-only diagnosis; the patient is {sex}",
                code, f"{edits.release}: sex edit (dropped by CMS in FY2025, kept here as a warning)", release,
            )
        )  # fmt: skip
    return out


def references(note: str) -> list[tuple[str, str]]:
    """Code ranges a note points to: "(E08.-)" → (E08, E08); "(I10-I16)" → (I10, I16)."""
    out: list[tuple[str, str]] = []
    for inner in re.findall(r"\(([^()]*)\)", note):
        for m in _REF.finditer(inner):
            low = m.group(1)
            out.append((low, m.group(2) or low))
    return out


def matches(code: str, ref: tuple[str, str]) -> bool:
    low, high = ref
    if low == high:
        return code.startswith(low)
    return low[:3] <= code[:3] <= high[:3]


def _noted(codeset: CodeSet, code: str, note: str) -> list[tuple[str, str, tuple[str, str]]]:
    """(node carrying the note, note text, referenced range) along ``code``'s lineage."""
    status = codeset.status(code)
    if status.node is None:
        return []
    found = []
    for node in codeset.lineage(status.node.code):
        for text in node.notes.get(note, ()):
            for ref in references(text):
                found.append((node.code, text, ref))
    return found


def encounter_findings(codeset: CodeSet, codes: Sequence[tuple[str, int | None]]) -> list[Finding]:
    """Excludes1 pairs and sequencing among an encounter's codes (code, rank or None)."""
    release = codeset.release
    out: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    normal = [(normalize(c), r) for c, r in codes]
    for a, rank_a in normal:
        for owner, text, ref in _noted(codeset, a, "excludes1"):
            for b, _rank_b in normal:
                if b == a or (b, a) in seen or (a, b) in seen or not matches(b, ref):
                    continue
                if matches(a, ref):  # a note of a parent pointing into its own subtree
                    continue
                seen.add((a, b))
                out.append(
                    Finding(
                        "excludes1", "error",
                        f"{a} and {b} are coded together, but {owner} says Excludes1: {text}",
                        a, f"Excludes1 note at {owner}", release, related_code=b,
                    )
                )  # fmt: skip
        if rank_a is None:
            continue
        out.extend(_sequence(codeset, a, rank_a, normal, "code_first", release))
        out.extend(_sequence(codeset, a, rank_a, normal, "use_additional_code", release))
    return out


def _sequence(
    codeset: CodeSet, a: str, rank_a: int, codes: list[tuple[str, int | None]], note: str, release: str
) -> list[Finding]:
    """code first: the referenced code must come before ``a``; use additional code: after it."""
    out: list[Finding] = []
    for owner, text, ref in _noted(codeset, a, note):
        for b, rank_b in codes:
            if b == a or rank_b is None or not matches(b, ref) or matches(a, ref):
                continue
            wrong = rank_b > rank_a if note == "code_first" else rank_b < rank_a
            if not wrong:
                continue
            severity: Severity = "warning"
            rule = "code-first" if note == "code_first" else "use-additional-code"
            order = f"{b} before {a}" if note == "code_first" else f"{a} before {b}"
            out.append(
                Finding(
                    rule, severity,
                    f"sequence {order}: {owner} says {note.replace('_', ' ')}: {text}",
                    a, f"{note.replace('_', ' ').capitalize()} note at {owner}", release, related_code=b,
                )
            )  # fmt: skip
            break
    return out
