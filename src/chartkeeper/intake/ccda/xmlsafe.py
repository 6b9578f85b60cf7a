"""Parsing untrusted C-CDA XML safely, and small typed helpers for reading it.

Why these parser settings: a C-CDA document comes from outside, and XML can make a parser read
local files or fetch URLs (external entities, an external DTD) or blow up memory (nested entity
expansion, the "billion laughs"). lxml is told to resolve no entities, load no DTD, use no
network and keep libxml2's size limits (``huge_tree=False``); on top of that any DOCTYPE is
refused, since C-CDA never needs one. Malformed XML is reported with its line and column.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from lxml import etree

from chartkeeper.errors import InvalidInput

V3 = "urn:hl7-org:v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SDTC = "urn:hl7-org:sdtc"
XSI_TYPE = f"{{{XSI}}}type"
ROOT_TAG = f"{{{V3}}}ClinicalDocument"

#: documents larger than this are refused before parsing (the largest real sample is ~280 KB;
#: a C-CDA with an embedded PDF can reach a few MB)
MAX_DOCUMENT_BYTES = 20 << 20

Element = etree._Element


class CcdaError(InvalidInput):
    """A C-CDA document that cannot be accepted; the message says where (section, entry, element).

    ``code`` is the FHIR IssueType: ``structure`` for XML that cannot be read at all,
    ``security`` for refused constructs, ``invalid`` for content the mapping cannot accept.
    """

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_xml(raw: bytes, max_bytes: int = MAX_DOCUMENT_BYTES) -> Element:
    """The root element of ``raw``; CcdaError for oversized, malformed or DTD-bearing input."""
    if len(raw) > max_bytes:
        raise CcdaError(f"the document is {len(raw)} bytes; the limit is {max_bytes}", "too-costly")
    try:
        tree = etree.fromstring(raw, _parser()).getroottree()
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        message = str(exc.msg or exc).split(", line ")[0]
        raise CcdaError(f"malformed XML at line {line}, column {column}: {message}", "structure") from exc
    except ValueError as exc:  # e.g. a str with an encoding declaration, or NUL bytes
        raise CcdaError(f"malformed XML: {exc}", "structure") from exc
    info: Any = tree.docinfo  # lxml-stubs lack DocInfo.doctype
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise CcdaError(
            "a DOCTYPE is not allowed in a C-CDA document (entities and DTDs are refused)", "security"
        )
    return tree.getroot()


@lru_cache(maxsize=512)
def _clark(path: str) -> str:
    """``a/b`` → ``{urn:hl7-org:v3}a/{urn:hl7-org:v3}b`` (``sdtc:x`` → the sdtc namespace)."""
    parts = []
    for step in path.split("/"):
        if step.startswith("sdtc:"):
            parts.append(f"{{{SDTC}}}{step[5:]}")
        elif step in (".", "..", "*"):
            parts.append(step)
        else:
            parts.append(f"{{{V3}}}{step}")
    return "/".join(parts)


def find(element: Element, path: str) -> Element | None:
    """The first element at ``path`` (HL7 v3 names, ``/``-separated), or None."""
    return element.find(_clark(path))


def find_all(element: Element, path: str) -> list[Element]:
    return list(element.iterfind(_clark(path)))


def attr(element: Element | None, name: str) -> str | None:
    """An attribute's value with surrounding whitespace removed; None when absent or blank."""
    if element is None:
        return None
    value = element.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def text_of(element: Element | None) -> str | None:
    """All text inside ``element`` with whitespace collapsed; None when there is none."""
    if element is None:
        return None
    joined = " ".join("".join(str(t) for t in element.itertext()).split())
    return joined or None


def local_name(element: Element) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def template_ids(element: Element) -> set[str]:
    """The roots of the element's own templateIds (versions are ignored: R1.1 and R2.1 alike)."""
    return {root for t in find_all(element, "templateId") if (root := attr(t, "root"))}


def xsi_type(element: Element) -> str | None:
    value = attr(element, XSI_TYPE)
    return value.rpartition(":")[2] if value else None


def is_null(element: Element | None) -> bool:
    return element is None or element.get("nullFlavor") is not None


def line_of(element: Element) -> int | None:
    line = element.sourceline
    return line if isinstance(line, int) else None
