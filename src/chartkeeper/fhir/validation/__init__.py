"""Fast FHIR R4 (4.0.1) structural validation compiled from the spec's own definitions.

``validate_resource`` checks a parsed JSON resource (unknown properties, JSON types, cardinality,
primitive formats, narrative XHTML, required bindings, references, core invariants, Bundle
rules); ``parse_json_issues`` turns bytes into JSON or a located fatal issue.
"""

from chartkeeper.fhir.validation.jsonparse import parse_json_issues
from chartkeeper.fhir.validation.validator import validate_resource

__all__ = ["parse_json_issues", "validate_resource"]
