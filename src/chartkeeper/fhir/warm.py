"""Build the FHIR machinery a long-running process will need, before it serves anything.

The validator, the search-parameter registry and each resource type's extraction plan are
built on first use. In a server that is the first request of each worker process: a read that
needs the validator's type list and its AuditEvent's index plan paid for reading and compiling
the FHIR definitions under load (a second worker of ``chartkeeper serve --workers 2`` spent
about a second of its first seconds on it, docs/PERFORMANCE.md). Built at start-up instead,
they are also in the heap that ``gc.freeze()`` sets aside, so no later collection walks them.
"""

from __future__ import annotations

from chartkeeper.fhir.search.extract import extract_index_values
from chartkeeper.fhir.search.params import resource_types
from chartkeeper.fhir.validation.validator import get_validator


def warm_up() -> int:
    """Compile the validator and every resource type's index plan; return how many types.

    Each type's plan is built by extracting the index values of an empty resource of that
    type, the same call every write makes, so nothing here can drift from what writes use."""
    validator = get_validator()
    types = sorted(resource_types() | validator.resource_types)
    for res_type in types:
        extract_index_values({"resourceType": res_type, "id": "warm-up"})
    return len(types)
