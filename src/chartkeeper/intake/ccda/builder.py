"""The transaction Bundle one C-CDA document becomes, with stable ids and where each entry came from.

Why deterministic ids: re-ingesting the same document must find the resources it made the first
time, so every id is a UUID (v5) of the document's own id and the entry's C-CDA id (or its
position when it has none). People and organizations named by an identifier get an id from that
identifier alone and an ``ifNoneExist`` on it, so two documents about one patient, or by one
author, lead to one resource — even one that came from another feed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from chartkeeper.intake.ccda.xmlsafe import Element, attr, find_all

JSON = dict[str, Any]
_NAMESPACE = uuid.UUID("0d7f0c5e-2b6a-4c55-9a53-9c1f4d7b3e21")


def stable_id(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "|".join(parts)))


def element_key(element: Element) -> str | None:
    """``root|extension`` of the element's first usable ``id``, or None."""
    for ident in find_all(element, "id"):
        root = attr(ident, "root")
        if root and ident.get("nullFlavor") is None:
            return f"{root}|{attr(ident, 'extension') or ''}"
    return None


@dataclass
class DocumentBundle:
    """Collects resources for one document; ``bundle()`` is the transaction to import."""

    doc_key: str
    entries: list[JSON] = field(default_factory=list)
    origins: list[str] = field(default_factory=list)
    _by_key: dict[str, str] = field(default_factory=dict)
    _ids: set[tuple[str, str]] = field(default_factory=set)
    patient: str = ""  # fullUrl of the Patient, set by the header mapper
    encounter: str = ""  # fullUrl of the encompassing Encounter, when the document has one

    def entry_id(self, res_type: str, element: Element, position: str) -> str:
        """An id for a clinical entry: from the document and the entry's id, unique in the bundle."""
        base = stable_id(self.doc_key, res_type, element_key(element) or f"@{position}")
        res_id, n = base, 1
        while (res_type, res_id) in self._ids:
            n += 1
            res_id = stable_id(base, str(n))
        return res_id

    def add(self, resource: JSON, where: str) -> str:
        """Add a resource (with its ``id`` set) as a PUT; return its fullUrl for references."""
        res_type, res_id = resource["resourceType"], resource["id"]
        full_url = f"urn:uuid:{res_id}"
        self._ids.add((res_type, res_id))
        self.entries.append(
            {
                "fullUrl": full_url,
                "resource": resource,
                "request": {"method": "PUT", "url": f"{res_type}/{res_id}"},
            }
        )
        self.origins.append(where)
        return full_url

    def add_shared(self, resource: JSON, where: str, identifier: JSON | None, key: str) -> str:
        """Add a person or organization once per document; conditional on its identifier.

        ``key`` says what makes two mentions the same (an identifier or, without one, the
        document and the details); a second mention returns the first one's fullUrl.
        """
        res_type = resource["resourceType"]
        if identifier is not None and identifier.get("system") and identifier.get("value"):
            key = f"{res_type}|{identifier['system']}|{identifier['value']}"
            res_id = stable_id(key)
            criteria = "identifier=" + quote(f"{identifier['system']}|{identifier['value']}", safe="")
        else:
            key = f"{res_type}|{self.doc_key}|{key}"
            res_id = stable_id(key)
            criteria = None
        if key in self._by_key:
            return self._by_key[key]
        resource["id"] = res_id
        full_url = f"urn:uuid:{res_id}"
        request: JSON = {"method": "PUT", "url": f"{res_type}/{res_id}"}
        if criteria is not None:
            request = {"method": "POST", "url": res_type, "ifNoneExist": criteria}
        self._ids.add((res_type, res_id))
        self.entries.append({"fullUrl": full_url, "resource": resource, "request": request})
        self.origins.append(where)
        self._by_key[key] = full_url
        return full_url

    def bundle(self) -> JSON:
        return {"resourceType": "Bundle", "type": "transaction", "entry": self.entries}


def ref(full_url: str, display: str | None = None) -> JSON:
    out: JSON = {"reference": full_url}
    if display:
        out["display"] = display
    return out
