"""Narrative XHTML checks (Narrative.div; invariants txt-1 and txt-2).

Why expat: it is in the standard library, fast, and safe when used like this: a DOCTYPE stops
the parse before any entity can be declared (no billion-laughs expansion), and no external
entity handler is installed, so nothing is ever fetched. Only XML's five predefined entities
are therefore known, which is what FHIR wants (``&reg;`` is an error, as in the reference
validator: XHTML in FHIR must not rely on HTML's entity table).

The allowed element and attribute names are those the FHIR spec lists for narrative
(basic HTML 4 formatting, ``<a>`` with ``name``/``href``, images, tables, inline style).
"""

from __future__ import annotations

import re
import xml.parsers.expat
from collections.abc import Callable

XHTML_NS = "http://www.w3.org/1999/xhtml"
XML_NS = "http://www.w3.org/XML/1998/namespace"

ALLOWED_ELEMENTS = frozenset(
    [
        "p",
        "br",
        "div",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "a",
        "span",
        "b",
        "em",
        "i",
        "strong",
        "small",
        "big",
        "tt",
        "dfn",
        "q",
        "var",
        "abbr",
        "acronym",
        "cite",
        "blockquote",
        "hr",
        "address",
        "bdo",
        "kbd",
        "sub",
        "sup",
        "ul",
        "ol",
        "li",
        "dl",
        "dt",
        "dd",
        "pre",
        "table",
        "caption",
        "colgroup",
        "col",
        "thead",
        "tr",
        "tfoot",
        "tbody",
        "th",
        "td",
        "code",
        "samp",
        "img",
        "map",
        "area",
    ]
)
ALLOWED_ATTRIBUTES = frozenset(
    [
        "title",
        "style",
        "class",
        "id",
        "lang",
        "xml:lang",
        "dir",
        "accesskey",
        "tabindex",
        "span",
        "width",
        "align",
        "valign",
        "char",
        "charoff",
        "abbr",
        "axis",
        "headers",
        "scope",
        "rowspan",
        "colspan",
    ]
)
ALLOWED_ELEMENT_ATTRIBUTES = frozenset(
    [
        "a.href",
        "a.name",
        "img.src",
        "img.border",
        "div.xmlns",
        "blockquote.cite",
        "q.cite",
        "a.charset",
        "a.type",
        "a.hreflang",
        "a.rel",
        "a.rev",
        "a.shape",
        "a.coords",
        "img.alt",
        "img.longdesc",
        "img.height",
        "img.width",
        "img.usemap",
        "img.ismap",
        "map.name",
        "area.shape",
        "area.coords",
        "area.href",
        "area.nohref",
        "area.alt",
        "table.summary",
        "table.width",
        "table.border",
        "table.frame",
        "table.rules",
        "table.cellspacing",
        "table.cellpadding",
        "pre.space",
        "td.nowrap",
    ]
)
PREDEFINED_ENTITIES = frozenset(("amp", "lt", "gt", "quot", "apos"))
_ENTITY_RE = re.compile(r"&([A-Za-z_][A-Za-z0-9._\-]*);")

Problem = tuple[str, str]


class _Stop(Exception):
    """Raised from a handler to end the parse at the first problem."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _DivChecker:
    """Collects the first problem of one div while expat walks it."""

    __slots__ = ("depth", "has_content")

    def __init__(self) -> None:
        self.depth = 0
        self.has_content = False

    def start(self, name: str, attrs: dict[str, str]) -> None:
        ns, _, local = name.rpartition(" ")
        if self.depth == 0:
            if local != "div":
                raise _Stop(f"Wrong name on the XHTML ('{local}') - must start with div")
            if ns != XHTML_NS:
                raise _Stop(f"Wrong namespace on the XHTML ('{ns}', should be '{XHTML_NS}')")
        elif ns != XHTML_NS or local not in ALLOWED_ELEMENTS:
            raise _Stop(f"Illegal element name in the XHTML ('{local}')")
        if local == "img":
            self.has_content = True
        for attr, value in attrs.items():
            attr_ns, _, attr_local = attr.rpartition(" ")
            shown = f"xml:{attr_local}" if attr_ns == XML_NS else attr_local
            if attr_ns and attr_ns != XML_NS:
                raise _Stop(f"Illegal attribute name in the XHTML ('{attr}' on '{local}')")
            if shown not in ALLOWED_ATTRIBUTES and f"{local}.{shown}" not in ALLOWED_ELEMENT_ATTRIBUTES:
                raise _Stop(f"Illegal attribute name in the XHTML ('{shown}' on '{local}')")
            if attr_local in ("href", "src") and value.strip().lower().startswith("javascript:"):
                raise _Stop(f"javascript: URLs are not allowed in the XHTML ('{attr_local}' on '{local}')")
        self.depth += 1

    def end(self, name: str) -> None:
        self.depth -= 1

    def text(self, data: str) -> None:
        if not self.has_content and not data.isspace():
            self.has_content = True


def _no_doctype(*_args: object) -> None:
    raise _Stop("a DOCTYPE is not allowed in the XHTML")


def _no_entity_declaration(*_args: object) -> None:
    raise _Stop("entity declarations are not allowed in the XHTML")


def check_div(value: str) -> Problem | None:
    """None when ``value`` is acceptable narrative XHTML, else ``(issue code, message)``."""
    if not value:
        return ("value", "empty narrative div (a property with no value must be left out)")
    checker = _DivChecker()
    parser = xml.parsers.expat.ParserCreate("UTF-8", " ")
    parser.StartElementHandler = checker.start
    parser.EndElementHandler = checker.end
    parser.CharacterDataHandler = checker.text
    doctype_handler: Callable[..., None] = _no_doctype
    parser.StartDoctypeDeclHandler = doctype_handler
    parser.EntityDeclHandler = _no_entity_declaration
    try:
        parser.Parse(value, True)
    except _Stop as stop:
        return ("invalid", stop.message)
    except xml.parsers.expat.ExpatError as exc:
        if exc.code == xml.parsers.expat.errors.codes[xml.parsers.expat.errors.XML_ERROR_UNDEFINED_ENTITY]:
            for match in _ENTITY_RE.finditer(value):
                if match.group(1) not in PREDEFINED_ENTITIES:
                    return ("invalid", f"Invalid entity in the XHTML ('{match.group(0)}')")
        reason = xml.parsers.expat.errors.messages[exc.code]
        return (
            "invalid",
            f"narrative is not well-formed XHTML: {reason} (line {exc.lineno}, column {exc.offset})",
        )
    if not checker.has_content:
        return ("invalid", "txt-2: the narrative SHALL have some non-whitespace content")
    return None
