"""C-CDA intake: safe XML parsing and the "C-CDA on FHIR" mapping of a document to a transaction Bundle.

``map_document(raw)`` is the mapper (pure, testable alone); ``prepare_ccda`` hands its Bundle to
the same planning, validation and indexing FHIR intake uses, so there is one write path.
"""

from chartkeeper.intake.ccda.document import MappedDocument, map_document
from chartkeeper.intake.ccda.xmlsafe import CcdaError, parse_xml

__all__ = ["CcdaError", "MappedDocument", "map_document", "parse_xml"]
