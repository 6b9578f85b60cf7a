"""Run compiled FHIRPath branches: turn the JSON step lists into Python closures once, at load.

A step takes the current collection (a list of JSON values) and the root resource and returns
the next collection. Consecutive child steps are fused into one closure so that the common
``Observation.component.code`` costs one call, not two. Step lists (see ``fhirpath.Compiler``):

``["k", key]``              child element (lists are flattened, as FHIRPath collections are)
``["idx", n]``              the n-th item (``first()`` is ``["idx", 0]``)
``["wref", Type]``          ``where(resolve() is Type)`` on Reference values / reference strings
``["weq", key, literal]``   ``where(key = 'literal')``
``["where", tree]``         ``where(criteria)`` in general
``["ext", url]``            ``extension('url')``
``["rt", Type]``            keep resources of that type (``Bundle.entry.resource.ofType(X)``)
``["root"]``                ``%resource``
``["bool", tree]``          replace the collection by a boolean expression's result
``["sub", n, branches]``    the n-th item of the union of ``branches`` (``(a | b).first()``)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from chartkeeper.fhir.search.references import reference_type

Step = Callable[[list[Any], dict[str, Any]], list[Any]]
Tree = Callable[[list[Any], dict[str, Any]], list[Any]]


def build_steps(ops: Sequence[Sequence[Any]]) -> tuple[Step, ...]:
    """Closures for one branch's step list, with runs of child steps fused."""
    steps: list[Step] = []
    keys: list[str] = []
    for op in ops:
        if op[0] == "k":
            keys.append(str(op[1]))
            continue
        if keys:
            steps.append(_path(tuple(keys)))
            keys = []
        steps.append(_build_step(op))
    if keys:
        steps.append(_path(tuple(keys)))
    return tuple(steps)


def run(steps: Sequence[Step], items: list[Any], root: dict[str, Any]) -> list[Any]:
    """The collection a branch yields from ``items``."""
    for step in steps:
        items = step(items, root)
        if not items:
            return items
    return items


def _path(keys: tuple[str, ...]) -> Step:
    if len(keys) == 1:
        key = keys[0]

        def child(items: list[Any], root: dict[str, Any]) -> list[Any]:
            out: list[Any] = []
            for it in items:
                if it.__class__ is dict:
                    v = it.get(key)
                    if v is not None:
                        if v.__class__ is list:
                            out.extend(v)
                        else:
                            out.append(v)
            return out

        return child

    def path(items: list[Any], root: dict[str, Any]) -> list[Any]:
        for key in keys:
            out: list[Any] = []
            for it in items:
                if it.__class__ is dict:
                    v = it.get(key)
                    if v is not None:
                        if v.__class__ is list:
                            out.extend(v)
                        else:
                            out.append(v)
            if not out:
                return out
            items = out
        return items

    return path


def _ref_string(item: Any) -> str | None:
    if item.__class__ is dict:
        ref = item.get("reference")
        return ref if ref.__class__ is str else None
    return item if item.__class__ is str else None


def _build_step(op: Sequence[Any]) -> Step:
    kind = op[0]
    if kind == "idx":
        n = int(op[1])
        return lambda items, root: items[n : n + 1]
    if kind == "wref":
        rtype = str(op[1])

        def wref(items: list[Any], root: dict[str, Any]) -> list[Any]:
            out: list[Any] = []
            for it in items:
                ref = _ref_string(it)
                if ref is not None and reference_type(ref) == rtype:
                    out.append(it)
            return out

        return wref
    if kind == "weq":
        key, lit = str(op[1]), op[2]

        def weq(items: list[Any], root: dict[str, Any]) -> list[Any]:
            out: list[Any] = []
            for it in items:
                if it.__class__ is dict:
                    v = it.get(key)
                    if v.__class__ is list:  # FHIRPath '=' on a one-item collection
                        v = v[0] if len(v) == 1 else None
                    if _equal(v, lit) is True:
                        out.append(it)
            return out

        return weq
    if kind == "where":
        tree = build_tree(op[1])
        return lambda items, root: [it for it in items if tree([it], root) == [True]]
    if kind == "ext":
        url = str(op[1])

        def ext(items: list[Any], root: dict[str, Any]) -> list[Any]:
            out: list[Any] = []
            for it in items:
                if it.__class__ is dict:
                    exts = it.get("extension")
                    if exts.__class__ is list:
                        out.extend(e for e in exts if e.__class__ is dict and e.get("url") == url)
            return out

        return ext
    if kind == "rt":
        rtype = str(op[1])
        return lambda items, root: [
            it for it in items if it.__class__ is dict and it.get("resourceType") == rtype
        ]
    if kind == "root":
        return lambda items, root: [root]
    if kind == "bool":
        return build_tree(op[1])
    if kind == "sub":
        n = int(op[1])
        branches = [build_steps(b[0]) for b in op[2]]

        def sub(items: list[Any], root: dict[str, Any]) -> list[Any]:
            out: list[Any] = []
            for steps in branches:
                out.extend(run(steps, items, root))
            return out[n : n + 1]

        return sub
    raise ValueError(f"unknown step {kind!r}")


# --- boolean / value trees (FHIRPath three-valued logic over collections) ---------------------


def _equal(a: Any, b: Any) -> bool | None:
    """FHIRPath ``=`` on two single values; None (empty) if either is missing."""
    if a is None or b is None:
        return None
    if a.__class__ is bool or b.__class__ is bool:
        return a.__class__ is b.__class__ and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return a.__class__ is b.__class__ and bool(a == b)


def _as_bool(coll: list[Any]) -> bool | None:
    """Singleton evaluation: empty -> unknown; one boolean -> itself; one other item -> true."""
    if len(coll) != 1:
        return None
    v = coll[0]
    return v if v.__class__ is bool else True


def build_tree(tree: Sequence[Any]) -> Tree:
    """Closure evaluating one tree node on a collection; see ``fhirpath.Compiler._tree``."""
    kind = tree[0]
    if kind == "lit":
        value = tree[1]
        return lambda items, root: [value]
    if kind == "coll":
        branches = [build_steps(b[0]) for b in tree[1]]

        def coll(items: list[Any], root: dict[str, Any]) -> list[Any]:
            out: list[Any] = []
            for steps in branches:
                out.extend(run(steps, items, root))
            return out

        return coll
    if kind == "resolve_is":
        rtype = str(tree[1])

        def resolve_is(items: list[Any], root: dict[str, Any]) -> list[Any]:
            out: list[Any] = []
            for it in items:
                ref = _ref_string(it)
                out.append(ref is not None and reference_type(ref) == rtype)
            return out

        return resolve_is
    if kind in ("exists", "empty", "not", "hasValue"):
        return _unary(kind, build_tree(tree[1]))
    if kind in ("and", "or", "xor", "=", "!="):
        return _binary(kind, build_tree(tree[1]), build_tree(tree[2]))
    raise ValueError(f"unknown tree node {kind!r}")


def _unary(kind: str, arg: Tree) -> Tree:
    if kind == "exists":
        return lambda items, root: [bool(arg(items, root))]
    if kind == "empty":
        return lambda items, root: [not arg(items, root)]
    if kind == "hasValue":

        def has_value(items: list[Any], root: dict[str, Any]) -> list[Any]:
            coll = arg(items, root)
            return [len(coll) == 1 and isinstance(coll[0], str | int | float | bool)]

        return has_value

    def not_(items: list[Any], root: dict[str, Any]) -> list[Any]:
        b = _as_bool(arg(items, root))
        return [] if b is None else [not b]

    return not_


def _binary(kind: str, left: Tree, right: Tree) -> Tree:
    def logic(items: list[Any], root: dict[str, Any]) -> list[Any]:
        a, b = _as_bool(left(items, root)), _as_bool(right(items, root))
        result: bool | None
        if kind == "and":
            result = False if a is False or b is False else (True if a and b else None)
        elif kind == "or":
            result = True if a is True or b is True else (False if a is False and b is False else None)
        else:
            result = None if a is None or b is None else a != b
        return [] if result is None else [result]

    def compare(items: list[Any], root: dict[str, Any]) -> list[Any]:
        a, b = left(items, root), right(items, root)
        if not a or not b:
            return []
        same = len(a) == len(b) and all(_equal(x, y) is True for x, y in zip(a, b, strict=True))
        return [same if kind == "=" else not same]

    return logic if kind in ("and", "or", "xor") else compare
