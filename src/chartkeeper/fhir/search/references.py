"""Split a FHIR reference string into (target type, target id), as ``resolve()`` sees it.

Kept apart because both the FHIRPath runtime (``where(resolve() is Patient)``) and the
reference converter need the same answer for the same string.
"""

from __future__ import annotations

import re
from functools import lru_cache

from chartkeeper.fhir.search.params import resource_types

#: FHIR's id syntax; anything else in the id position is not a resolvable reference.
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


@lru_cache(maxsize=65536)
def reference_parts(reference: str) -> tuple[str | None, str | None]:
    """``"Patient/1"`` -> ("Patient", "1"); absolute URLs use their last two segments.

    ``Type/id/_history/v`` drops the version; a canonical's ``|version`` is dropped. Contained
    (``#x``), ``urn:uuid:``/``urn:oid:`` and conditional (``Type?query``) references, and
    anything whose type segment is not an R4 resource type or whose id is not a FHIR id
    (``[A-Za-z0-9-.]{1,64}``), give (None, None).
    """
    if not reference or reference[0] == "#" or "?" in reference or reference.startswith("urn:"):
        return None, None
    ref = reference.split("|", 1)[0]
    hist = ref.find("/_history/")
    if hist >= 0:
        ref = ref[:hist]
    parts = ref.rstrip("/").rsplit("/", 2)
    if len(parts) < 2:
        return None, None
    rtype, rid = parts[-2], parts[-1]
    if rtype not in resource_types() or not _ID.fullmatch(rid):
        return None, None
    if len(parts) == 3 and "://" not in reference:
        return None, None  # "a/Patient/1" is neither relative nor absolute
    return rtype, rid


def reference_type(reference: str) -> str | None:
    """The target type of a reference string, or None when it does not say."""
    return reference_parts(reference)[0]
