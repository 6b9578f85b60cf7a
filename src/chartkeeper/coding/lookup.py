"""``code lookup`` and ``code browse``: everything the tabular list says about one code."""

from __future__ import annotations

from typing import Any

from chartkeeper.coding.codeset import CodeSet, default_codeset
from chartkeeper.errors import NotFound

NOTE_NAMES = (
    "includes",
    "inclusion_term",
    "excludes1",
    "excludes2",
    "code_first",
    "use_additional_code",
    "code_also",
    "notes",
)


def describe(code: str, codeset: CodeSet | None = None) -> dict[str, Any]:
    """A JSON-ready description of ``code``; NotFound (with the reason) when it does not exist."""
    cs = codeset or default_codeset()
    status = cs.status(code)
    if status.node is None or not status.exists:
        raise NotFound(status.message or f"{code} is not an ICD-10-CM code")
    node = status.node
    ancestors = cs.ancestors(node.code)
    own = [node]
    parents = [{"code": a.code, "description": a.description, "kind": a.kind} for a in ancestors]
    if status.code != node.code:
        parents.insert(0, {"code": node.code, "description": node.description, "kind": node.kind})
    out: dict[str, Any] = {
        "code": status.code,
        "description": status.description,
        "kind": node.kind if status.code == node.code else "code with 7th character",
        "billable": status.billable,
        "release": cs.release,
        "chapter": _first(parents, "chapter"),
        "block": _first(parents, "block"),
        "parents": parents,
        "children": [
            {"code": c, "description": cs.status(c).description}
            for c in (cs.child_codes(status.code) if status.code == node.code else [])
        ],
    }
    if status.problem:
        out["problem"] = {"rule": status.problem, "message": status.message}
    for name in NOTE_NAMES:
        values = [v for n in own for v in n.notes.get(name, ())]
        if values:
            out[name] = values
    inherited: dict[str, list[dict[str, Any]]] = {}
    for ancestor in ancestors:
        for name in ("excludes1", "excludes2", "code_first", "use_additional_code", "code_also"):
            if ancestor.notes.get(name):
                inherited.setdefault(name, []).append({"at": ancestor.code, "notes": ancestor.notes[name]})
    if inherited:
        out["inherited_notes"] = inherited
    rule = cs.seventh(node.code)
    if rule is not None:
        out["seventh_character"] = {
            "at": rule[0].code,
            "values": rule[1],
            "note": rule[0].notes.get("seven_chr_note", ""),
        }
    return out


def _first(parents: list[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    for p in parents:
        if p["kind"] == kind:
            return {"code": p["code"], "description": p["description"]}
    return None


def browse(code: str | None, codeset: CodeSet | None = None) -> list[dict[str, Any]]:
    """The children of ``code`` (the chapters when none): for walking the hierarchy."""
    cs = codeset or default_codeset()
    if not code:
        return [{"code": c, "description": cs.nodes[c].description, "kind": "chapter"} for c in cs.chapters]
    described = describe(code, cs)
    return [
        {"code": c["code"], "description": c["description"], "billable": cs.status(c["code"]).billable}
        for c in described["children"]
    ]
