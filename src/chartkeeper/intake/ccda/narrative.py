"""A section's CDA narrative block (``<text>``) → FHIR narrative XHTML.

Why a whitelist rewrite rather than copying the markup: CDA narrative has its own element set
(``content``, ``paragraph``, ``list``/``item``, ``linkHtml``, ``renderMultiMedia`` …) and
FHIR's XHTML rules allow only plain HTML formatting with no scripts, event attributes or
foreign namespaces. Each CDA element is turned into its HTML counterpart, only safe attributes
are kept, links keep only ``http(s):`` and in-page targets, and anything else is reduced to its
text. The result passes Chartkeeper's own narrative checks (txt-1, txt-2).
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape, quoteattr

from chartkeeper.intake.ccda.xmlsafe import Element, local_name

XHTML_NS = "http://www.w3.org/1999/xhtml"

_RENAME = {
    "content": "span",
    "paragraph": "p",
    "item": "li",
    "caption": "caption",
    "table": "table",
    "thead": "thead",
    "tbody": "tbody",
    "tfoot": "tfoot",
    "tr": "tr",
    "th": "th",
    "td": "td",
    "col": "col",
    "colgroup": "colgroup",
    "sub": "sub",
    "sup": "sup",
    "br": "br",
    "footnote": "span",
    "footnoteRef": "sup",
    "linkHtml": "a",
}
_KEEP_ATTRS = {
    "td": ("colspan", "rowspan", "align", "valign"),
    "th": ("colspan", "rowspan", "align", "valign", "scope"),
    "table": ("border", "width", "cellpadding", "cellspacing", "summary"),
    "col": ("span", "width", "align", "valign"),
    "colgroup": ("span", "width", "align", "valign"),
    "tr": ("align", "valign"),
}
_STYLE = {
    "bold": "font-weight:bold",
    "italics": "font-style:italic",
    "underline": "text-decoration:underline",
}
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9 %#._:\-]{1,64}$")
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$")
_SAFE_HREF = re.compile(r"^(https?://[^\s\"'<>]+|#[A-Za-z0-9_.\-]+)$")


def section_div(text: Element | None) -> str | None:
    """The XHTML ``div`` for a section's ``text`` element; None when it holds no readable content."""
    if text is None:
        return None
    parts: list[str] = []
    _children(text, parts)
    body = "".join(parts)
    if not body.strip() or not _has_text(text):
        return None
    return f'<div xmlns="{XHTML_NS}">{body}</div>'


def _has_text(element: Element) -> bool:
    return any(str(chunk).strip() for chunk in element.itertext())


def _children(element: Element, parts: list[str]) -> None:
    if element.text:
        parts.append(escape(element.text))
    for child in element:
        if isinstance(child.tag, str):
            _element(child, parts)
        if child.tail:
            parts.append(escape(child.tail))


def _element(element: Element, parts: list[str]) -> None:
    name = local_name(element)
    if name == "renderMultiMedia":
        return  # points at an observationMedia the narrative cannot carry
    if name == "list":
        tag = "ol" if (element.get("listType") or "").lower() == "ordered" else "ul"
    else:
        tag = _RENAME.get(name, "span")
    attrs = _attributes(element, tag)
    if tag == "br":
        parts.append(f"<br{attrs}/>")
        return
    parts.append(f"<{tag}{attrs}>")
    if tag in ("ul", "ol"):
        for item in element:
            if isinstance(item.tag, str) and local_name(item) == "caption":
                continue  # a list caption has no place in ul/ol
            if isinstance(item.tag, str):
                _element(item, parts)
    else:
        _children(element, parts)
    parts.append(f"</{tag}>")


def _attributes(element: Element, tag: str) -> str:
    out: list[str] = []
    ident = element.get("ID")
    if ident and _ID.match(ident):
        out.append(f" id={quoteattr(ident)}")
    for name in _KEEP_ATTRS.get(tag, ()):
        value = element.get(name)
        if value and _SAFE_VALUE.match(value):
            out.append(f" {name}={quoteattr(value)}")
    styles = [_STYLE[s.lower()] for s in (element.get("styleCode") or "").split() if s.lower() in _STYLE]
    if styles:
        out.append(f" style={quoteattr(';'.join(styles))}")
    if tag == "a":
        href = (element.get("href") or "").strip()
        if _SAFE_HREF.match(href):
            out.append(f" href={quoteattr(href)}")
    return "".join(out)
