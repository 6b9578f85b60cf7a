"""One C-CDA document → one FHIR transaction Bundle ("C-CDA on FHIR").

The header gives Patient, authors, custodian and the encompassing Encounter; each section
Chartkeeper knows (``sections.SECTION_MAPPERS``) gives its clinical resources; every section,
known or not, keeps its human-readable narrative in a Composition; and a DocumentReference
holds the original XML, byte for byte, so nothing the mapping leaves out is lost.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from chartkeeper.intake.ccda import datatypes as dt
from chartkeeper.intake.ccda.builder import DocumentBundle, element_key, ref, stable_id
from chartkeeper.intake.ccda.header import (
    map_authors,
    map_custodian,
    map_encompassing_encounter,
    map_patient,
)
from chartkeeper.intake.ccda.narrative import section_div
from chartkeeper.intake.ccda.sections import SECTION_MAPPERS, Where
from chartkeeper.intake.ccda.xmlsafe import (
    ROOT_TAG,
    CcdaError,
    Element,
    attr,
    find,
    find_all,
    line_of,
    parse_xml,
    template_ids,
    text_of,
)

JSON = dict[str, Any]
DOC = "2.16.840.1.113883.10.20.22.1."
DOCUMENT_TYPES = {
    DOC + "2": "Continuity of Care Document",
    DOC + "8": "Discharge Summary",
    DOC + "14": "Referral Note",
    DOC + "9": "Progress Note",
    DOC + "4": "Consultation Note",
    DOC + "3": "History and Physical",
    DOC + "7": "Operative Note",
    DOC + "6": "Procedure Note",
    DOC + "13": "Transfer Summary",
    DOC + "15": "Care Plan",
    DOC + "5": "Diagnostic Imaging Report",
    DOC + "10": "Unstructured Document",
    DOC + "1": "US Realm Header document",
}
LOINC = "2.16.840.1.113883.6.1"
#: LOINC document codes, for documents that carry only the US Realm Header templateId
DOCUMENT_CODES = {
    "34133-9": "Continuity of Care Document",
    "18842-5": "Discharge Summary",
    "57133-1": "Referral Note",
    "11506-3": "Progress Note",
    "11488-4": "Consultation Note",
    "34117-2": "History and Physical",
    "11504-8": "Operative Note",
    "28570-0": "Procedure Note",
    "18761-7": "Transfer Summary",
}
FORMAT_SYSTEM = "http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode"
_CONFIDENTIALITY = {"U", "L", "M", "N", "R", "V"}
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+$")


@dataclass(slots=True)
class MappedDocument:
    """A document's transaction Bundle; ``origins[i]`` says where entry ``i`` came from."""

    kind: str
    bundle: JSON
    origins: list[str]


def document_kind(root: Element) -> str:
    """The C-CDA document type by templateId, else by LOINC document code; CcdaError when this is
    not a C-CDA document at all."""
    if root.tag != ROOT_TAG:
        raise CcdaError(
            f"not a C-CDA document: the root element is {root.tag}, not ClinicalDocument in urn:hl7-org:v3"
        )
    roots = template_ids(root)
    known = [DOCUMENT_TYPES[r] for r in sorted(roots) if r in DOCUMENT_TYPES and r != DOC + "1"]
    if known:
        return known[0]
    if DOC + "1" in roots or any(r.startswith(DOC) for r in roots):
        loinc = find(root, "code")
        by_code = (
            DOCUMENT_CODES.get(attr(loinc, "code") or "") if attr(loinc, "codeSystem") == LOINC else None
        )
        return by_code or DOCUMENT_TYPES[DOC + "1"]
    raise CcdaError(
        "a CDA document without a C-CDA document templateId (2.16.840.1.113883.10.20.22.1.*) is not taken"
    )


def map_document(raw: bytes) -> MappedDocument:
    """Parse (safely) and map one C-CDA document; CcdaError says what is wrong and where."""
    root = parse_xml(raw)
    kind = document_kind(root)
    # the document's id and its content: ids are copied between documents in the wild, and two
    # different documents must never overwrite each other's resources
    digest = hashlib.sha256(raw).hexdigest()[:32]
    out = DocumentBundle(f"{element_key(root) or 'no-id'}|{digest}")
    map_patient(root, out)
    authors = map_authors(root, out)
    custodian = map_custodian(root, out)
    encounter = map_encompassing_encounter(root, out)
    out.encounter = encounter or ""
    try:
        doc_type = dt.concept(find(root, "code"))
        when = dt.ts(find(root, "effectiveTime"))
        doc_ids = dt.identifiers(root)
    except dt.DataError as exc:
        raise CcdaError(f"header: {exc}") from exc
    if doc_type is None:
        raise CcdaError("header: ClinicalDocument/code has no code (what kind of document is it?)")
    title = text_of(find(root, "title")) or doc_type.get("text") or kind
    body = find(root, "component/structuredBody")
    if body is not None:
        sections = [s for e in find_all(body, "component/section") if (s := _section(e, out))]
        if when is None:
            raise CcdaError("header: ClinicalDocument/effectiveTime is missing")
        if not authors and custodian is None:
            raise CcdaError(
                "header: the document has no author (the US Realm Header requires one) and no custodian"
            )
        composition: JSON = {
            "resourceType": "Composition",
            "id": stable_id(out.doc_key, "Composition"),
            "status": "final",
            "type": doc_type,
            "subject": ref(out.patient),
            "date": when,
            "author": [ref(a) for a in authors] or [ref(custodian or "")],
            "title": title,
        }
        dt.put(composition, "identifier", doc_ids[0] if doc_ids else None)
        dt.put(composition, "encounter", ref(encounter) if encounter else None)
        dt.put(composition, "custodian", ref(custodian) if custodian else None)
        confidentiality = attr(find(root, "confidentialityCode"), "code")
        dt.put(
            composition, "confidentiality", confidentiality if confidentiality in _CONFIDENTIALITY else None
        )
        dt.put(composition, "section", sections)
        out.add(composition, "header: Composition")
    out.add(
        _document_reference(root, raw, out, doc_type, title, when, authors, custodian, encounter), "header"
    )
    return MappedDocument(kind, out.bundle(), out.origins)


def _section(section: Element, out: DocumentBundle) -> JSON | None:
    """A section (and its subsections) → Composition.section; known sections' entries are mapped."""
    oid = next((r for r in sorted(template_ids(section)) if r in SECTION_MAPPERS), None)
    title = text_of(find(section, "title"))
    made: list[str] = []
    if oid is not None:
        name, mapper = SECTION_MAPPERS[oid]
        for n, entry in enumerate(find_all(section, "entry"), start=1):
            where = Where(name, oid, n, line_of(entry))
            try:
                made.extend(mapper(entry, out, where, oid))
            except dt.DataError as exc:
                raise CcdaError(f"{where}: {exc}") from exc
    result: JSON = {}
    try:
        dt.put(result, "code", dt.concept(find(section, "code")))
    except dt.DataError as exc:
        raise CcdaError(f"section {title or oid or '(untitled)'}: {exc}") from exc
    dt.put(result, "title", title)
    div = section_div(find(section, "text"))
    if div:
        result["text"] = {"status": "additional", "div": div}
    dt.put(result, "entry", [ref(m) for m in dict.fromkeys(made)])
    dt.put(result, "section", [s for e in find_all(section, "component/section") if (s := _section(e, out))])
    if not ({"text", "entry", "section"} & set(result)):
        return None
    return result


def _document_reference(
    root: Element,
    raw: bytes,
    out: DocumentBundle,
    doc_type: JSON,
    title: str,
    when: str | None,
    authors: list[str],
    custodian: str | None,
    encounter: str | None,
) -> JSON:
    original: JSON = {
        "contentType": "application/xml",
        "data": base64.b64encode(raw).decode("ascii"),
        "size": len(raw),
        "hash": base64.b64encode(hashlib.sha1(raw, usedforsecurity=False).digest()).decode("ascii"),
        "title": title,
    }
    structured = find(root, "component/structuredBody") is not None
    extensions = {t.get("extension") for t in find_all(root, "templateId")}
    # IHE format codes exist for C-CDA 1.1 and 2.1; an R2.0 document (2014-06-09) gets none
    version = "2.1" if "2015-08-01" in extensions else None if "2014-06-09" in extensions else "1.1"
    content: list[JSON] = [{"attachment": original}]
    if version:
        code = f"urn:hl7-org:sdwg:ccda-{'structuredBody' if structured else 'nonXMLBody'}:{version}"
        content[0]["format"] = {"system": FORMAT_SYSTEM, "code": code}
    embedded = _embedded_body(root)
    if embedded:
        content.append({"attachment": embedded})
    resource: JSON = {
        "resourceType": "DocumentReference",
        "id": stable_id(out.doc_key, "DocumentReference"),
        "status": "current",
        "type": doc_type,
        "subject": ref(out.patient),
        "description": title,
        "content": content,
    }
    ids = dt.identifiers(root)
    dt.put(resource, "masterIdentifier", ids[0] if ids else None)
    dt.put(resource, "date", when if dt.is_instant(when) else None)
    dt.put(resource, "author", [ref(a) for a in authors])
    dt.put(resource, "custodian", ref(custodian) if custodian else None)
    dt.put(resource, "context", {"encounter": [ref(encounter)]} if encounter else None)
    return resource


def _embedded_body(root: Element) -> JSON | None:
    """A nonXMLBody's content (an embedded base64 file or a reference to one) as an Attachment."""
    text = find(root, "component/nonXMLBody/text")
    if text is None:
        return None
    media = attr(text, "mediaType") or "text/plain"
    reference = attr(find(text, "reference"), "value")
    if reference:
        return {"contentType": media, "url": reference} if _URL.match(reference) else None
    data = "".join((text.text or "").split())
    if not data:
        return None
    if (attr(text, "representation") or "TXT") == "B64":
        try:
            base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CcdaError("nonXMLBody/text: the embedded content is not valid base64") from exc
        return {"contentType": media, "data": data}
    return {"contentType": media, "data": base64.b64encode((text.text or "").encode()).decode("ascii")}
