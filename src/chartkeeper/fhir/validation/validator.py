"""The structural walk: one pass over a parsed JSON resource against the compiled definitions.

Why one hand-written walker: validation runs on every resource ingest sees (target well over
15,000 resources/s on one core), so the walk visits each JSON property once, looks it up in
a precompiled dict, dispatches on a small int kind, and runs object-level checks (invariants,
bindings, references, Bundle rules) registered on the type definitions at load time.

Why two passes: nearly every resource is valid, and for a valid one paths and messages are
wasted work. So a *clean pass* (``_clean``: flat per-type rows, no paths, stops at the first
problem) runs first; only when it finds anything does the *reporting walk* (``walk``) run from
the start and produce the issues with their paths. The reporting walk is the reference: the
clean pass may give up more often than needed, never less (tests compare the two).
"""

from __future__ import annotations

import re
import sys
from functools import cache
from typing import Any

from chartkeeper.fhir.outcome import Issue
from chartkeeper.fhir.validation import invariants as invariant_rules
from chartkeeper.fhir.validation.bundle_rules import BundleRules
from chartkeeper.fhir.validation.primitives import WARNING, is_plausible_oid, json_type_name, wrong_json_type
from chartkeeper.fhir.validation.structure import (
    COMPLEX,
    PRIM,
    ElementCheck,
    ElementSpec,
    NodeCheck,
    Structure,
    TypeDef,
    read_data,
)
from chartkeeper.fhir.validation.terminology import make_coding_check, make_concept_binding_check

EMPTY_ARRAY = "Array cannot be empty - the property should not be present if it has no values"
EMPTY_OBJECT = (
    "Object must have some content - the property should not be present if it has no values (ele-1)"
)

_RELATIVE_REF = re.compile(r"([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(/_history/[A-Za-z0-9\-.]{1,64})?")
_RESTFUL_TAIL = re.compile(
    r"https?://\S+/([A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}(/_history/[A-Za-z0-9\-.]{1,64})?"
)
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+", re.ASCII)
_REFERENCES_REMEMBERED = 4096
_UUID_REF = re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


# What the clean pass does with one JSON property (first item of a TypeDef.clean_table row).
_PRIM, _CODE, _PRIM_REF, _OBJ, _RES, _PRIMS, _OBJS, _RESS, _NEVER = range(9)


class _Unclean(Exception):
    """Raised by the clean pass at the first problem: the reporting walk takes over."""


class Context:
    """State of one validate_resource call (issues found, local references of the current resource)."""

    __slots__ = ("contained_index", "entries", "issues", "local_refs")

    def __init__(self, entries: bool) -> None:
        self.issues: list[Issue] = []
        self.entries = entries
        # (reference, path, is Reference.reference, allowed targets, index of the contained resource or -1)
        self.local_refs: list[tuple[str, str, bool, frozenset[str] | None, int]] | None = None
        self.contained_index = -1


class Validator:
    """The compiled structure with all checks attached; one per process (see :func:`get_validator`)."""

    def __init__(self, structure: Structure) -> None:
        self.structure = structure
        self.defs = structure.defs
        self.resource_types = structure.resource_types
        self.element_def = structure.defs["Element"]
        self.entry_resource = structure.defs["Bundle.entry"].elements["resource"]
        self.bundle_rules = BundleRules(structure.resource_types, structure.constraints)
        # Type/id references seen lately -> their type (what _RELATIVE_REF would find again)
        self._relative_targets: dict[str, str] = {}
        self._install()

    # -- setup -------------------------------------------------------------------------------

    def _install(self) -> None:
        structure = self.structure
        binding = make_concept_binding_check(structure)
        for tdef in self.defs.values():
            for spec in tdef.elements.values():
                if spec.type_name == "Reference":
                    self._add_post(spec, self._check_reference)
                if spec.type_name in ("CodeableConcept", "Coding") and spec.valueset in structure.valuesets:
                    self._add_post(spec, binding)
        self.defs["Coding"].checks.append(make_coding_check(structure))
        self.defs["Bundle"].checks.append(self._check_bundle)
        self.defs["Identifier"].checks.append(_check_identifier)
        for path, rules in invariant_rules.build(structure.choice_keys).items():
            for key, predicate in rules:
                check = self._invariant(key, predicate)
                if path in self.defs:
                    self.defs[path].checks.append(check)
                else:
                    parent, name = path.rsplit(".", 1)
                    self._add_post(self.defs[parent].elements[name], _as_element_check(check))
        for tdef in self.defs.values():
            _compile_clean(tdef)

    @staticmethod
    def _add_post(spec: ElementSpec, check: ElementCheck) -> None:
        first = spec.post
        if first is None:
            spec.post = check
            return

        def both(node: dict[str, Any], s: ElementSpec, path: str, ctx: Context) -> None:
            first(node, s, path, ctx)
            check(node, s, path, ctx)

        spec.post = both

    def _invariant(self, key: str, predicate: invariant_rules.Predicate) -> NodeCheck:
        _, severity, human, _ = self.structure.constraints[key]
        message = f"Constraint failed: {key}: '{human}'"
        level = "error" if severity == "error" else "warning"

        def check(node: dict[str, Any], path: str, ctx: Context) -> None:
            try:
                holds = predicate(node)
            except (TypeError, AttributeError, ValueError, KeyError):
                return  # malformed content: the structural checks report it
            if not holds:
                ctx.issues.append(Issue(level, "invariant", message, path))  # type: ignore[arg-type]

        return check

    # -- public entry ------------------------------------------------------------------------

    def validate(self, resource: object, entries: bool) -> list[Issue]:
        if type(resource) is dict and self._is_clean(resource, Context(entries)):
            return []
        return self._report(resource, entries)

    def _report(self, resource: object, entries: bool) -> list[Issue]:
        """The reporting walk: every issue with its path (run when the clean pass found something)."""
        ctx = Context(entries)
        if type(resource) is not dict:
            ctx.issues.append(
                Issue(
                    "fatal",
                    "structure",
                    "a resource must be a JSON object, not " + json_type_name(resource),
                    None,
                )
            )
            return ctx.issues
        rtype = resource.get("resourceType")
        path = rtype if type(rtype) is str and rtype in self.resource_types else "$"
        try:
            self.check_resource(resource, path, ctx, contained=False)
        except RecursionError:
            message = "content is nested too deeply to be a FHIR resource"
            ctx.issues.append(Issue("fatal", "structure", message, path))
        return ctx.issues

    # -- the clean pass ----------------------------------------------------------------------------
    #
    # Almost every resource ingest sees is valid, so validation first runs this pass: the same
    # checks as the reporting walk below, in the same order, but building no paths and stopping
    # at the first problem (by raising _Unclean). When it finishes without an issue the resource
    # is clean; otherwise the reporting walk runs from the start and says what and where. So it
    # must never pass anything the reporting walk would report: whenever in doubt, it gives up.
    # Object checks (invariants, bindings, references, Bundle rules) run unchanged with an empty
    # path; any issue they add sends the resource to the reporting walk too.

    def _is_clean(self, resource: dict[str, Any], ctx: Context) -> bool:
        try:
            self._clean_resource(resource, ctx, contained=False)
        except Exception:
            return False  # _Unclean, or anything unusual: the reporting walk decides and reports
        return not ctx.issues

    def _clean_resource(self, node: dict[str, Any], ctx: Context, contained: bool) -> None:
        rtype = node.get("resourceType")
        if type(rtype) is not str or rtype not in self.resource_types:
            raise _Unclean
        tdef = self.defs[rtype]
        if contained:
            self._clean(node, tdef, ctx)
            return
        saved_refs, saved_index = ctx.local_refs, ctx.contained_index
        ctx.local_refs, ctx.contained_index = None, -1
        self._clean(node, tdef, ctx)
        if ctx.local_refs is not None or "contained" in node:
            self._check_local_refs(node, "", ctx)
        ctx.local_refs, ctx.contained_index = saved_refs, saved_index

    def _clean_resource_child(self, value: Any, spec: ElementSpec, ctx: Context, index: int) -> None:
        if type(value) is not dict:
            raise _Unclean
        if spec.contained:
            ctx.contained_index = index
            self._clean_resource(value, ctx, contained=True)
            ctx.contained_index = -1
            self._check_contained_rules(value, "", ctx)
            return
        if spec.type_name != "Resource" and value.get("resourceType") != spec.type_name:
            raise _Unclean
        if spec is self.entry_resource and not ctx.entries:
            rtype = value.get("resourceType")
            if type(rtype) is not str or rtype not in self.resource_types:
                raise _Unclean
            return
        self._clean_resource(value, ctx, contained=False)

    def _clean(self, node: dict[str, Any], tdef: TypeDef, ctx: Context) -> None:
        """:meth:`walk` for a non-empty object, without paths; raises _Unclean at a problem.

        A null or wrongly typed value needs no test of its own: the primitive checks, the code
        sets and the object/array tests all reject it.
        """
        table = tdef.clean_table
        choices: set[str] | None = None
        for key, value in node.items():
            row = table.get(key)
            if row is None:
                if key == "resourceType" and tdef.is_resource:
                    continue
                raise _Unclean  # unknown, or a primitive's _extension sibling: the full walk decides
            op, arg, choice, post, limit, spec = row
            if choice is not None:
                if choices is None:
                    choices = {choice}
                elif choice in choices:
                    raise _Unclean
                else:
                    choices.add(choice)
            if op == _PRIM:
                if arg(value) is not None:
                    raise _Unclean
            elif op == _OBJ:
                if type(value) is not dict or not value:
                    raise _Unclean
                self._clean(value, arg, ctx)
                if post is not None:
                    post(value, spec, "", ctx)
            elif op == _CODE:
                if value not in arg:  # the codes of the value set that are valid codes
                    raise _Unclean
            elif op == _OBJS:
                if type(value) is not list or not value or len(value) > limit:
                    raise _Unclean
                for item in value:
                    if type(item) is not dict or not item:
                        raise _Unclean
                    self._clean(item, arg, ctx)
                    if post is not None:
                        post(item, spec, "", ctx)
            elif op == _PRIMS:
                if type(value) is not list or not value or len(value) > limit:
                    raise _Unclean
                codes = spec.codes
                local = spec.collect_local_ref
                for item in value:
                    if arg(item) is not None or (codes is not None and item not in codes):
                        raise _Unclean
                    if local and item[0] == "#":
                        self._local_ref(ctx, item, "", False, None)
            elif op == _PRIM_REF:
                if arg(value) is not None or (spec.codes is not None and value not in spec.codes):
                    raise _Unclean
                if value[0] == "#":
                    self._local_ref(ctx, value, "", False, None)
            elif op == _RES:
                self._clean_resource_child(value, spec, ctx, -1)
            elif op == _RESS:
                if type(value) is not list or not value or len(value) > limit:
                    raise _Unclean
                for i, item in enumerate(value):
                    self._clean_resource_child(item, spec, ctx, i)
            else:
                raise _Unclean
        required = tdef.clean_required
        if required and not node.keys() >= required:
            raise _Unclean
        for keys in tdef.clean_multi:
            for k in keys:
                if k in node:
                    break
            else:
                raise _Unclean
        for check in tdef.checks:
            check(node, "", ctx)

    # -- resources -----------------------------------------------------------------------------

    def check_resource(self, node: dict[str, Any], path: str, ctx: Context, contained: bool) -> None:
        rtype = node.get("resourceType")
        if type(rtype) is not str:
            ctx.issues.append(Issue("error", "structure", "missing resourceType: not a FHIR resource", path))
            return
        if rtype not in self.resource_types:
            ctx.issues.append(Issue("error", "structure", f"Unknown resource type '{rtype[:100]}'", path))
            return
        tdef = self.defs[rtype]
        if contained:
            self.walk(node, tdef, path, ctx)
            return
        saved_refs, saved_index = ctx.local_refs, ctx.contained_index
        ctx.local_refs, ctx.contained_index = None, -1
        self.walk(node, tdef, path, ctx)
        if ctx.local_refs is not None or "contained" in node:
            self._check_local_refs(node, path, ctx)
        ctx.local_refs, ctx.contained_index = saved_refs, saved_index

    def _resource_child(self, value: Any, spec: ElementSpec, path: str, ctx: Context, index: int) -> None:
        if type(value) is not dict:
            ctx.issues.append(Issue("error", "structure", "must be a JSON object holding a resource", path))
            return
        if spec.contained:
            ctx.contained_index = index
            self.check_resource(value, path, ctx, contained=True)
            ctx.contained_index = -1
            self._check_contained_rules(value, path, ctx)
            return
        if spec.type_name != "Resource" and value.get("resourceType") != spec.type_name:
            ctx.issues.append(Issue("error", "structure", f"must be a {spec.type_name} resource", path))
            return
        if spec is self.entry_resource and not ctx.entries:
            rtype = value.get("resourceType")
            if type(rtype) is not str or rtype not in self.resource_types:
                shown = f"'{rtype}'" if type(rtype) is str else "missing"
                ctx.issues.append(Issue("error", "structure", f"Unknown resource type ({shown})", path))
            return
        self.check_resource(value, path, ctx, contained=False)

    def _check_contained_rules(self, node: dict[str, Any], path: str, ctx: Context) -> None:
        """dom-2 / dom-4 / dom-5 on one contained resource."""
        constraints = self.structure.constraints
        if "contained" in node:
            ctx.issues.append(_constraint_issue(constraints, "dom-2", path))
        meta = node.get("meta")
        if type(meta) is dict:
            if "versionId" in meta or "lastUpdated" in meta:
                ctx.issues.append(_constraint_issue(constraints, "dom-4", path))
            if "security" in meta:
                ctx.issues.append(_constraint_issue(constraints, "dom-5", path))

    def _check_local_refs(self, node: dict[str, Any], path: str, ctx: Context) -> None:
        """ref-1 (``#id`` references name a contained resource) and dom-3 (contained resources are used)."""
        contained = node.get("contained")
        by_id: dict[str, tuple[int, dict[str, Any]]] = {}
        if type(contained) is list:
            for i, item in enumerate(contained):
                if type(item) is dict and type(item.get("id")) is str:
                    by_id[item["id"]] = (i, item)
        refs = ctx.local_refs or []
        referenced: set[str] = set()
        refers_to_container: set[int] = set()
        constraints = self.structure.constraints
        for ref, where, is_reference, targets, from_contained in refs:
            target = ref[1:]
            if not target:
                if from_contained >= 0:
                    refers_to_container.add(from_contained)
                elif is_reference:
                    ctx.issues.append(_constraint_issue(constraints, "ref-1", where))
                continue
            referenced.add(target)
            if not is_reference:
                continue
            found = by_id.get(target)
            if found is None:
                ctx.issues.append(_constraint_issue(constraints, "ref-1", where))
            else:
                found_type = found[1].get("resourceType")
                if targets is not None and (type(found_type) is not str or found_type not in targets):
                    ctx.issues.append(_target_issue(str(found_type), targets, where))
        if type(contained) is list:
            for i, item in enumerate(contained):
                if type(item) is not dict:
                    continue
                cid = item.get("id")
                if (type(cid) is not str or cid not in referenced) and i not in refers_to_container:
                    ctx.issues.append(_constraint_issue(constraints, "dom-3", f"{path}.contained[{i}]"))

    # -- objects ---------------------------------------------------------------------------------

    def walk(self, node: dict[str, Any], tdef: TypeDef, path: str, ctx: Context) -> None:
        """Check every property of one JSON object against its type, then the type's object checks."""
        issues = ctx.issues
        if not node:
            issues.append(Issue("error", "invalid", EMPTY_OBJECT, path))
            return
        elements = tdef.elements
        choices: dict[str, str] | None = None
        for key, value in node.items():
            spec = elements.get(key)
            if spec is None:
                self._other_property(node, key, value, tdef, path, ctx)
                continue
            if spec.choice is not None:
                if choices is None:
                    choices = {}
                other = choices.get(spec.choice)
                if other is not None:
                    issues.append(
                        Issue(
                            "error",
                            "structure",
                            f"only one of {other} and {key} may be present ({spec.choice}[x] is one choice)",
                            f"{path}.{key}",
                        )
                    )
                choices[spec.choice] = key
            if value is None:
                issues.append(Issue("error", "structure", "null is not allowed here", f"{path}.{key}"))
                continue
            kind = spec.kind
            if spec.is_array:
                if type(value) is not list:
                    issues.append(
                        Issue(
                            "error",
                            "structure",
                            f"The property {key} must be a JSON Array, not {json_type_name(value)}",
                            f"{path}.{key}",
                        )
                    )
                    continue
                if not value:
                    issues.append(Issue("error", "invalid", EMPTY_ARRAY, f"{path}.{key}"))
                    continue
                if kind == PRIM:
                    self._primitive_array(node, key, value, spec, path, ctx)
                elif kind == COMPLEX:
                    sub = spec.tdef
                    post = spec.post
                    base = f"{path}.{key}"
                    for i, item in enumerate(value):
                        where = f"{base}[{i}]"
                        if type(item) is dict and item:
                            self.walk(item, sub, where, ctx)  # type: ignore[arg-type]
                            if post is not None:
                                post(item, spec, where, ctx)
                        else:
                            _bad_object(item, where, issues)
                else:
                    base = f"{path}.{key}"
                    for i, item in enumerate(value):
                        self._resource_child(item, spec, f"{base}[{i}]", ctx, i)
                if 1 < spec.max < len(value):
                    issues.append(
                        Issue(
                            "error",
                            "structure",
                            f"at most {spec.max} values allowed, found {len(value)}",
                            f"{path}.{key}",
                        )
                    )
                continue
            if type(value) is list:
                issues.append(
                    Issue(
                        "error", "structure", f"The property {key} must not be a JSON Array", f"{path}.{key}"
                    )
                )
                continue
            if kind == PRIM:
                problem = spec.check(value)  # type: ignore[misc]
                if problem is not None:
                    issues.append(_problem_issue(problem, f"{path}.{key}"))
                elif spec.codes is not None and value not in spec.codes:
                    issues.append(_code_issue(value, spec, f"{path}.{key}"))
                elif spec.collect_local_ref and value[0] == "#":
                    self._local_ref(ctx, value, f"{path}.{key}", False, None)
                if spec.max == 0:
                    issues.append(
                        Issue("error", "structure", f"{key} is not allowed here (max 0)", f"{path}.{key}")
                    )
            elif kind == COMPLEX:
                where = f"{path}.{key}"
                if type(value) is dict and value:
                    self.walk(value, spec.tdef, where, ctx)  # type: ignore[arg-type]
                    if spec.post is not None:
                        spec.post(value, spec, where, ctx)
                else:
                    _bad_object(value, where, issues)
            else:
                self._resource_child(value, spec, f"{path}.{key}", ctx, -1)
        for name, keys in tdef.required:
            for k in keys:
                if k in node:
                    break
            else:
                issues.append(
                    Issue(
                        "error",
                        "required",
                        f"missing required element '{name}' (minimum cardinality 1)",
                        f"{path}.{name}",
                    )
                )
        for check in tdef.checks:
            check(node, path, ctx)

    def _other_property(
        self, node: dict[str, Any], key: str, value: Any, tdef: TypeDef, path: str, ctx: Context
    ) -> None:
        if key.startswith("_"):
            spec = tdef.elements.get(key[1:])
            if spec is not None and spec.kind == PRIM:
                self._primitive_extension(node, key[1:], value, spec, path, ctx)
                return
        elif key == "resourceType" and tdef.is_resource:
            return
        ctx.issues.append(
            Issue("error", "structure", f"Unrecognized property '{key[:100]}'", f"{path}.{key[:100]}")
        )

    def _primitive_array(
        self, node: dict[str, Any], key: str, value: list[Any], spec: ElementSpec, path: str, ctx: Context
    ) -> None:
        check = spec.check
        codes = spec.codes
        extensions = node.get("_" + key)
        for i, item in enumerate(value):
            if item is None:
                if not (type(extensions) is list and i < len(extensions) and type(extensions[i]) is dict):
                    ctx.issues.append(
                        Issue(
                            "error",
                            "structure",
                            "null in an array needs an extension at the same index in _" + key,
                            f"{path}.{key}[{i}]",
                        )
                    )
                continue
            problem = check(item)  # type: ignore[misc]
            if problem is not None:
                ctx.issues.append(_problem_issue(problem, f"{path}.{key}[{i}]"))
            elif codes is not None and item not in codes:
                ctx.issues.append(_code_issue(item, spec, f"{path}.{key}[{i}]"))
            elif spec.collect_local_ref and item[0] == "#":
                self._local_ref(ctx, item, f"{path}.{key}[{i}]", False, None)

    def _primitive_extension(
        self, node: dict[str, Any], name: str, value: Any, spec: ElementSpec, path: str, ctx: Context
    ) -> None:
        """The ``_name`` sibling of a primitive: id/extension objects (an array with nulls if it repeats)."""
        where = f"{path}.{name}"
        issues = ctx.issues
        if spec.is_array:
            if type(value) is not list:
                issues.append(
                    Issue("error", "structure", f"The property _{name} must be a JSON Array", where)
                )
                return
            values = node.get(name)
            if values is not None and (type(values) is not list or len(values) != len(value)):
                issues.append(
                    Issue(
                        "error", "structure", f"_{name} must have the same number of items as {name}", where
                    )
                )
            for i, item in enumerate(value):
                if item is None:
                    continue
                self._element_object(
                    item,
                    values[i] if type(values) is list and i < len(values) else None,
                    f"{where}[{i}]",
                    ctx,
                )
            return
        if type(value) is list:
            issues.append(
                Issue("error", "structure", f"The property _{name} must not be a JSON Array", where)
            )
            return
        self._element_object(value, node.get(name), where, ctx)

    def _element_object(self, value: Any, primitive: Any, where: str, ctx: Context) -> None:
        if type(value) is not dict:
            _bad_object(value, where, ctx.issues)
            return
        self.walk(value, self.element_def, where, ctx)
        if primitive is None and value and "extension" not in value:
            ctx.issues.append(
                Issue("error", "invalid", "ele-1: an element with no value must have extensions", where)
            )

    # -- references ------------------------------------------------------------------------------

    @staticmethod
    def _local_ref(
        ctx: Context, ref: str, where: str, is_reference: bool, targets: frozenset[str] | None
    ) -> None:
        if ctx.local_refs is None:
            ctx.local_refs = []
        ctx.local_refs.append((ref, where, is_reference, targets, ctx.contained_index))

    def _check_reference(self, node: dict[str, Any], spec: ElementSpec, path: str, ctx: Context) -> None:
        """Reference.reference: a form FHIR can resolve, naming a resource type the element allows."""
        ref = node.get("reference")
        if type(ref) is not str or not ref:
            return
        if ref[0] == "#":
            self._local_ref(ctx, ref, f"{path}.reference", True, spec.targets)
            return
        target: str | None = self._relative_targets.get(ref)
        if target is not None:
            pass  # a Type/id met lately (the same patient and encounter are referred to again and again)
        elif (match := _RELATIVE_REF.fullmatch(ref)) is not None:
            target = match.group(1)
            if len(self._relative_targets) >= _REFERENCES_REMEMBERED:
                self._relative_targets.clear()
            self._relative_targets[ref] = target
        elif ref.startswith("urn:"):
            if (ref.startswith("urn:uuid:") and _UUID_REF.fullmatch(ref) is None) or (
                ref.startswith("urn:oid:") and not is_plausible_oid(ref)
            ):
                ctx.issues.append(
                    Issue("error", "value", f"not a valid reference: {ref[:100]!r}", f"{path}.reference")
                )
            return
        elif _ABSOLUTE.fullmatch(ref) is not None:
            restful = _RESTFUL_TAIL.fullmatch(ref)
            if restful is None or restful.group(1) not in self.resource_types:
                return
            target = restful.group(1)
        else:
            head = ref.split("?", 1)[0] if "?" in ref else ref.split("/", 1)[0]
            if "?" in ref and head in self.resource_types and not any(c.isspace() for c in ref):
                target = head  # conditional reference (resolved by a transaction)
            else:
                ctx.issues.append(
                    Issue(
                        "error",
                        "value",
                        "not a valid reference (expected Type/id, an absolute URL, urn:uuid:, urn:oid: "
                        f"or #id): {ref[:100]!r}",
                        f"{path}.reference",
                    )
                )
                return
        if target not in self.resource_types:
            ctx.issues.append(
                Issue(
                    "error",
                    "value",
                    f"Unknown resource type '{target}' in reference {ref[:100]!r}",
                    f"{path}.reference",
                )
            )
        elif spec.targets is not None and target not in spec.targets:
            ctx.issues.append(_target_issue(target, spec.targets, f"{path}.reference"))

    def _check_bundle(self, node: dict[str, Any], path: str, ctx: Context) -> None:
        self.bundle_rules.check(node, path, ctx.issues)


def _check_identifier(node: dict[str, Any], path: str, ctx: Context) -> None:
    """Identifier.system names a namespace, so it must be absolute; urn:ietf:rfc:3986 values must be URIs."""
    system = node.get("system")
    if type(system) is not str or not system:
        return
    if _ABSOLUTE.fullmatch(system) is None:
        message = f"Identifier.system must be an absolute URI, not a local reference: {system[:100]!r}"
        ctx.issues.append(Issue("error", "value", message, f"{path}.system"))
    elif system == "urn:ietf:rfc:3986":
        value = node.get("value")
        if type(value) is str and value and _ABSOLUTE.fullmatch(value) is None:
            message = f"with system urn:ietf:rfc:3986 the value must be an absolute URI: {value[:100]!r}"
            ctx.issues.append(Issue("error", "value", message, f"{path}.value"))


def _compile_clean(tdef: TypeDef) -> None:
    """The clean pass's rows of one type: (op, check/code set/type, choice, post, max items, spec)."""
    table: dict[str, tuple[Any, ...]] = {}
    for key, spec in tdef.elements.items():
        limit = spec.max if spec.max > 1 else sys.maxsize
        arg: Any = spec.check if spec.kind == PRIM else spec.tdef
        if spec.is_array:
            op = _PRIMS if spec.kind == PRIM else _OBJS if spec.kind == COMPLEX else _RESS
        elif spec.kind == COMPLEX:
            op = _OBJ
        elif spec.kind != PRIM:
            op = _RES
        elif spec.max == 0:
            op = _NEVER
        elif spec.collect_local_ref:
            op = _PRIM_REF
        elif spec.codes is not None:
            op = _CODE
            check = spec.check
            assert check is not None
            arg = frozenset(code for code in spec.codes if check(code) is None)
        else:
            op = _PRIM
        table[key] = (op, arg, spec.choice, spec.post, limit, spec)
    tdef.clean_table = table
    # A primitive given only by its ``_name`` sibling never gets here (the clean pass gives up on
    # ``_`` keys), so only the plain JSON names can satisfy a requirement.
    plain = [tuple(k for k in keys if not k.startswith("_")) for _, keys in tdef.required]
    tdef.clean_required = frozenset(keys[0] for keys in plain if len(keys) == 1)
    tdef.clean_multi = tuple(keys for keys in plain if len(keys) != 1)


def _as_element_check(check: NodeCheck) -> ElementCheck:
    def post(node: dict[str, Any], spec: ElementSpec, path: str, ctx: Any) -> None:
        check(node, path, ctx)

    return post


def _problem_issue(problem: tuple[str, str], where: str) -> Issue:
    code, message = problem
    if code.startswith(WARNING):
        return Issue("warning", code[len(WARNING) :], message, where)
    return Issue("error", code, message, where)


def _bad_object(value: Any, where: str, issues: list[Issue]) -> None:
    if type(value) is dict:
        issues.append(Issue("error", "invalid", EMPTY_OBJECT, where))
    else:
        problem = wrong_json_type(value, "a JSON object")
        issues.append(Issue("error", "structure", problem[1], where))


def _code_issue(value: Any, spec: ElementSpec, where: str) -> Issue:
    return Issue(
        "error",
        "code-invalid",
        f"The value provided ('{str(value)[:100]}') is not in the value set '{spec.valueset}', "
        "and a code is required from this value set",
        where,
    )


def _target_issue(found: str, targets: frozenset[str], where: str) -> Issue:
    return Issue(
        "error",
        "structure",
        f"Invalid Resource target type. Found {found}, but expected one of ({', '.join(sorted(targets))})",
        where,
    )


def _constraint_issue(constraints: dict[str, tuple[str, str, str, str]], key: str, where: str) -> Issue:
    human = constraints[key][2] if key in constraints else key
    return Issue("error", "invariant", f"Constraint failed: {key}: '{human}'", where)


@cache
def get_validator() -> Validator:
    """The process-wide validator, compiled on first use (about 0.1 s)."""
    return Validator(Structure(read_data()))


def validate_resource(resource: object, *, entries: bool = True) -> list[Issue]:
    """Validate one parsed JSON resource (dict). Returns all issues (errors and warnings); [] when clean.

    For a Bundle, entries=True validates each entry.resource too (paths like
    ``Bundle.entry[3].resource.name[0]``); entries=False checks only the Bundle's own structure
    and the Bundle rules (ingest validates the entries separately, in parallel).
    """
    return get_validator().validate(resource, entries)
