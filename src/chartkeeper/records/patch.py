"""JSON Patch (RFC 6902) on a stored resource: the result must still be the same resource."""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import jsonpointer

from chartkeeper.errors import InvalidInput
from chartkeeper.records.models import Unprocessable


def apply_json_patch(current: dict[str, Any], operations: Any) -> dict[str, Any]:
    """The patched copy of ``current``.

    A body that is not a JSON Patch document → 400; a patch that cannot be applied (a path that
    is not there, a failing ``test``) or that changes ``resourceType`` or ``id`` → 422.
    Server meta (versionId/lastUpdated) in the result is ignored: the store assigns it.
    """
    if not isinstance(operations, list):
        raise InvalidInput("a JSON Patch document is an array of operations")
    try:
        patch = jsonpatch.JsonPatch(operations)
        result = patch.apply(copy.deepcopy(current))
    except jsonpatch.InvalidJsonPatch as exc:
        raise InvalidInput(f"not a valid JSON Patch: {exc}") from exc
    except jsonpatch.JsonPatchTestFailed as exc:
        raise Unprocessable(f"JSON Patch test failed: {exc}") from exc
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
        raise Unprocessable(f"the JSON Patch cannot be applied: {exc}") from exc
    except (TypeError, ValueError, KeyError, IndexError) as exc:
        raise InvalidInput(f"not a valid JSON Patch: {exc}") from exc
    if not isinstance(result, dict):
        raise Unprocessable("the patched document is not a resource")
    for key in ("resourceType", "id"):
        if result.get(key) != current.get(key):
            raise Unprocessable(f"a patch may not change {key}")
    return result
