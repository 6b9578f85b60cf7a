"""Value-level rules that the SQL lowering and the in-memory matcher must share exactly."""

from __future__ import annotations


def uri_parents(uri: str) -> list[str]:
    """``uri`` and each prefix of it that ends before a ``/`` of its path (for ``:above``).

    ``http://a/fhir/ValueSet/1`` -> itself, ``http://a/fhir/ValueSet``, ``http://a/fhir``,
    ``http://a``; the scheme's ``//`` is never cut. A trailing ``/`` is ignored.
    """
    found = [uri]
    scheme_end = uri.find("://")
    floor = scheme_end + 3 if scheme_end >= 0 else 0
    cut = uri.rstrip("/")
    if cut != uri:
        found.append(cut)
    while True:
        slash = cut.rfind("/")
        if slash < floor or slash <= 0:
            break
        cut = cut[:slash]
        found.append(cut)
    return found


def uri_below(stored: str, uri: str) -> bool:
    """``stored`` is ``uri`` or lies under it (for ``:below``)."""
    base = uri if uri.endswith("/") else uri + "/"
    return stored == uri or stored.startswith(base)
