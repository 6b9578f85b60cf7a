"""Parse and compile the FHIRPath subset that FHIR R4 search-parameter expressions use.

The compiler runs once, at build time (``tools/build_search_params.py``), and turns an
expression such as ``Observation.value.ofType(Quantity) | Observation.component.value.ofType(Quantity)``
into *branches*: each a list of simple steps (JSON-serialisable lists, see
:mod:`chartkeeper.fhir.search.program`) plus the FHIR type the branch yields. Knowing the type
statically is what lets extraction pick a converter per branch instead of sniffing JSON shapes,
and resolving choice types here (``value.ofType(Quantity)`` -> the JSON key ``valueQuantity``)
is what keeps the per-resource work down to dictionary look-ups.

Supported: paths (``A.b.c``), a leading type name (``Patient.name`` only applies to Patient;
``Resource``/``DomainResource`` to every type that derives from them), union ``|``,
``ofType(T)``, ``as(T)``, ``x as T``, ``where(...)`` with ``resolve() is T``, ``key = 'lit'`` and
general boolean criteria, ``exists()``, ``empty()``, ``not()``, ``and``/``or``/``xor``,
``=``/``!=``, ``extension('url')``, ``first()``, ``[n]``, ``(...)`` grouping, ``%resource`` and
``$this``. Anything else raises :class:`FhirPathError` so the build reports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from chartkeeper.fhir.search.typemodel import Child, Context

#: A compiled branch: (steps, FHIR type of the values it yields). Steps are JSON lists.
Branch = tuple[list[Any], str]


class FhirPathError(ValueError):
    """The expression is outside the supported subset (or malformed)."""


class TypeResolver(Protocol):
    """What the compiler needs to know about FHIR types (see ``typemodel.TypeModel``)."""

    def is_type(self, name: str) -> bool: ...

    def is_subtype(self, name: str, ancestor: str) -> bool: ...

    def type_context(self, fhir_type: str) -> Context: ...

    def children(self, ctx: Context, name: str) -> list[Child]: ...


# --- tokens ------------------------------------------------------------------------------------

_KEYWORDS = {"and", "or", "xor", "implies", "is", "as", "div", "mod", "in", "contains"}
_TWO_CHAR_OPS = ("!=", "!~", "<=", ">=")
_ONE_CHAR_OPS = set("|.()[],=~<>+-&*/")


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # "id", "str", "num", "op", "kw", "var", "end"
    text: str
    value: Any = None


def _tokenize(src: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c.isspace():
            i += 1
        elif c.isalpha() or c == "_":
            j = i + 1
            while j < n and (src[j].isalnum() or src[j] == "_"):
                j += 1
            word = src[i:j]
            if word in ("true", "false"):
                toks.append(_Tok("bool", word, word == "true"))
            else:
                toks.append(_Tok("kw" if word in _KEYWORDS else "id", word))
            i = j
        elif c == "`":
            j = src.find("`", i + 1)
            if j < 0:
                raise FhirPathError(f"unterminated identifier in {src!r}")
            toks.append(_Tok("id", src[i + 1 : j]))
            i = j + 1
        elif c == "'":
            j, buf = i + 1, []
            while j < n and src[j] != "'":
                if src[j] == "\\" and j + 1 < n:
                    j += 1
                    buf.append({"n": "\n", "t": "\t", "r": "\r"}.get(src[j], src[j]))
                else:
                    buf.append(src[j])
                j += 1
            if j >= n:
                raise FhirPathError(f"unterminated string in {src!r}")
            toks.append(_Tok("str", src[i : j + 1], "".join(buf)))
            i = j + 1
        elif c.isdigit():
            j = i
            while j < n and src[j].isdigit():
                j += 1
            if j + 1 < n and src[j] == "." and src[j + 1].isdigit():
                j += 1
                while j < n and src[j].isdigit():
                    j += 1
                toks.append(_Tok("num", src[i:j], float(src[i:j])))
            else:
                toks.append(_Tok("num", src[i:j], int(src[i:j])))
            i = j
        elif c in "%$":
            j = i + 1
            while j < n and (src[j].isalnum() or src[j] == "_"):
                j += 1
            toks.append(_Tok("var", src[i:j]))
            i = j
        elif src[i : i + 2] in _TWO_CHAR_OPS:
            toks.append(_Tok("op", src[i : i + 2]))
            i += 2
        elif c in _ONE_CHAR_OPS:
            toks.append(_Tok("op", c))
            i += 1
        else:
            raise FhirPathError(f"unexpected {c!r} in {src!r}")
    toks.append(_Tok("end", ""))
    return toks


# --- syntax tree -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ident:
    name: str


@dataclass(frozen=True, slots=True)
class Member:
    base: Node
    name: str


@dataclass(frozen=True, slots=True)
class Call:
    base: Node | None
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Index:
    base: Node
    index: Node


@dataclass(frozen=True, slots=True)
class TypeOp:
    op: str  # "is" | "as"
    base: Node
    type_name: str


@dataclass(frozen=True, slots=True)
class BinOp:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Literal:
    value: Any


@dataclass(frozen=True, slots=True)
class Var:
    name: str


Node = Ident | Member | Call | Index | TypeOp | BinOp | Literal | Var


class _Parser:
    """Recursive descent over FHIRPath's precedence levels that the subset needs."""

    def __init__(self, src: str) -> None:
        self.src = src
        self.toks = _tokenize(src)
        self.pos = 0

    def peek(self) -> _Tok:
        return self.toks[self.pos]

    def take(self) -> _Tok:
        tok = self.toks[self.pos]
        self.pos += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.take()
        if tok.text != text or tok.kind not in ("op", "kw"):
            raise FhirPathError(f"expected {text!r} at {tok.text!r} in {self.src!r}")

    def at(self, *texts: str) -> bool:
        tok = self.peek()
        return tok.kind in ("op", "kw") and tok.text in texts

    def parse(self) -> Node:
        node = self.expr()
        if self.peek().kind != "end":
            raise FhirPathError(f"unexpected {self.peek().text!r} in {self.src!r}")
        return node

    def expr(self) -> Node:
        return self.or_expr()

    def or_expr(self) -> Node:
        node = self.and_expr()
        while self.at("or", "xor"):
            op = self.take().text
            node = BinOp(op, node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.eq_expr()
        while self.at("and"):
            self.take()
            node = BinOp("and", node, self.eq_expr())
        return node

    def eq_expr(self) -> Node:
        node = self.union_expr()
        while self.at("=", "!=", "~", "!~"):
            op = self.take().text
            node = BinOp(op, node, self.union_expr())
        return node

    def union_expr(self) -> Node:
        node = self.type_expr()
        while self.at("|"):
            self.take()
            node = BinOp("|", node, self.type_expr())
        return node

    def type_expr(self) -> Node:
        node = self.postfix()
        while self.at("is", "as"):
            op = self.take().text
            node = TypeOp(op, node, self.type_name())
        return node

    def type_name(self) -> str:
        tok = self.take()
        if tok.kind != "id":
            raise FhirPathError(f"expected a type name at {tok.text!r} in {self.src!r}")
        name = tok.text
        while self.at(".") and self.toks[self.pos + 1].kind == "id":
            self.take()
            name = self.take().text  # FHIR.Quantity / System.String -> the last part
        return name

    def postfix(self) -> Node:
        node = self.term()
        while True:
            if self.at("."):
                self.take()
                tok = self.take()
                if tok.kind not in ("id", "kw"):
                    raise FhirPathError(f"expected a name after '.' in {self.src!r}")
                node = Call(node, tok.text, self.args()) if self.at("(") else Member(node, tok.text)
            elif self.at("["):
                self.take()
                idx = self.expr()
                self.expect("]")
                node = Index(node, idx)
            else:
                return node

    def args(self) -> tuple[Node, ...]:
        self.expect("(")
        args: list[Node] = []
        if not self.at(")"):
            args.append(self.expr())
            while self.at(","):
                self.take()
                args.append(self.expr())
        self.expect(")")
        return tuple(args)

    def term(self) -> Node:
        tok = self.peek()
        if tok.kind == "op" and tok.text == "(":
            self.take()
            node = self.expr()
            self.expect(")")
            return node
        if tok.kind in ("str", "num", "bool"):
            self.take()
            return Literal(tok.value)
        if tok.kind == "var":
            self.take()
            return Var(tok.text)
        if tok.kind == "id" or (tok.kind == "kw" and tok.text in ("as", "is", "contains", "in")):
            self.take()
            if self.at("("):
                return Call(None, tok.text, self.args())
            return Ident(tok.text)
        raise FhirPathError(f"unexpected {tok.text!r} in {self.src!r}")


def parse(expression: str) -> Node:
    """Parse one FHIRPath expression into a syntax tree."""
    return _Parser(expression).parse()


# --- compiler ----------------------------------------------------------------------------------

_AGGREGATES = {"exists", "empty", "not", "first", "hasValue"}


class Compiler:
    """Compile syntax trees against a type model for one root resource type."""

    def __init__(self, types: TypeResolver, resource_type: str) -> None:
        self.types = types
        self.root = types.type_context(resource_type)
        #: paths that named no element of the type model (reported by the build tool)
        self.unresolved: list[str] = []

    def compile(self, expression: str) -> list[Branch]:
        """All branches of ``expression`` that apply to the root resource type."""
        return [(ops, ctx.fhir_type) for ops, ctx in self._node(parse(expression), self.root)]

    def compile_relative(self, expression: str, ctx: Context) -> list[Branch]:
        """Branches of a composite component expression, evaluated on items of ``ctx``."""
        return [(ops, c.fhir_type) for ops, c in self._node(parse(expression), ctx)]

    # Each _node call returns branches evaluated from a single input context ``ctx``.
    def _node(self, node: Node, ctx: Context) -> list[tuple[list[Any], Context]]:
        if isinstance(node, Ident):
            return self._ident(node.name, ctx)
        if isinstance(node, Member):
            return [
                ([*ops, ["k", child.json_key]], child.context)
                for ops, c in self._node(node.base, ctx)
                for child in self._children(c, node.name)
            ]
        if isinstance(node, BinOp) and node.op == "|":
            return self._node(node.left, ctx) + self._node(node.right, ctx)
        if isinstance(node, TypeOp):
            if node.op == "as":
                return self._of_type(self._node(node.base, ctx), node.type_name)
            return [([["bool", self._tree(node, ctx)]], self._boolean())]
        if isinstance(node, Call):
            return self._call(node, ctx)
        if isinstance(node, Index):
            if not isinstance(node.index, Literal) or not isinstance(node.index.value, int):
                raise FhirPathError("only literal integer indexes are supported")
            return self._pick(self._node(node.base, ctx), node.index.value)
        if isinstance(node, Var):
            if node.name in ("%resource", "%rootResource"):
                return [([["root"]], self.root)]
            if node.name in ("$this", "%context"):
                return [([], ctx)]
            raise FhirPathError(f"unsupported variable {node.name}")
        if isinstance(node, BinOp | Literal):
            return [([["bool", self._tree(node, ctx)]], self._boolean())]
        raise FhirPathError(f"unsupported node {node!r}")

    def _ident(self, name: str, ctx: Context) -> list[tuple[list[Any], Context]]:
        if name[:1].isupper() and self.types.is_type(name):
            if self.types.is_subtype(ctx.fhir_type, name):
                return [([], ctx)]
            if ctx.fhir_type in ("Resource", "DomainResource"):
                return [([["rt", name]], self.types.type_context(name))]
            return []  # a branch for another resource type
        return [([["k", child.json_key]], child.context) for child in self._children(ctx, name)]

    def _children(self, ctx: Context, name: str) -> list[Child]:
        children = self.types.children(ctx, name)
        if not children:
            self.unresolved.append(f"{ctx.path}.{name}")
        return children

    def _boolean(self) -> Context:
        return self.types.type_context("boolean")

    def _of_type(
        self, branches: list[tuple[list[Any], Context]], type_name: str
    ) -> list[tuple[list[Any], Context]]:
        out: list[tuple[list[Any], Context]] = []
        for ops, c in branches:
            if self.types.is_subtype(c.fhir_type, type_name):
                out.append((ops, c))
            elif c.fhir_type in ("Resource", "DomainResource") and self.types.is_type(type_name):
                out.append(([*ops, ["rt", type_name]], self.types.type_context(type_name)))
        return out

    def _pick(self, branches: list[tuple[list[Any], Context]], index: int) -> list[tuple[list[Any], Context]]:
        if not branches:
            return []
        if len(branches) == 1:
            ops, c = branches[0]
            return [([*ops, ["idx", index]], c)]
        kinds = {c.fhir_type for _, c in branches}
        if len(kinds) != 1:
            raise FhirPathError("first()/[n] over values of different types is not supported")
        serial = [[ops, c.fhir_type] for ops, c in branches]
        return [([["sub", index, serial]], branches[0][1])]

    def _call(self, node: Call, ctx: Context) -> list[tuple[list[Any], Context]]:
        name, args = node.name, node.args
        if name in _AGGREGATES and name != "first":
            return [([["bool", self._tree(node, ctx)]], self._boolean())]
        base = self._node(node.base, ctx) if node.base is not None else [([], ctx)]
        if name in ("ofType", "as"):
            return self._of_type(base, _type_arg(args, name))
        if name == "first" and not args:
            return self._pick(base, 0)
        if name == "where" and len(args) == 1:
            return [([*ops, self._where(args[0], c)], c) for ops, c in base]
        if name == "extension" and len(args) == 1 and isinstance(args[0], Literal):
            ext = self.types.type_context("Extension")
            return [([*ops, ["ext", str(args[0].value)]], ext) for ops, _ in base]
        raise FhirPathError(f"unsupported function {name}()")

    def _where(self, cond: Node, ctx: Context) -> list[Any]:
        if (
            isinstance(cond, TypeOp)
            and cond.op == "is"
            and isinstance(cond.base, Call)
            and cond.base.name == "resolve"
            and cond.base.base is None
        ):
            return ["wref", cond.type_name]
        if isinstance(cond, BinOp) and cond.op == "=" and isinstance(cond.right, Literal):
            left = self._node(cond.left, ctx)
            if len(left) == 1 and len(left[0][0]) == 1 and left[0][0][0][0] == "k":
                return ["weq", left[0][0][0][1], cond.right.value]
        return ["where", self._tree(cond, ctx)]

    def _tree(self, node: Node, ctx: Context) -> list[Any]:
        """A boolean/value tree evaluated on a whole collection (see program._tree)."""
        if isinstance(node, Literal):
            return ["lit", node.value]
        if isinstance(node, BinOp) and node.op in ("and", "or", "xor", "=", "!=", "~", "!~"):
            op = {"~": "=", "!~": "!="}.get(node.op, node.op)
            return [op, self._tree(node.left, ctx), self._tree(node.right, ctx)]
        if isinstance(node, Call) and node.name in _AGGREGATES and node.name != "first":
            if node.name == "exists" and node.args:
                inner = Call(node.base, "where", node.args)
                return ["exists", self._tree(inner, ctx)]
            if node.args:
                raise FhirPathError(f"{node.name}() takes no arguments here")
            base: Node = node.base if node.base is not None else Var("$this")
            return [node.name, self._tree(base, ctx)]
        if isinstance(node, TypeOp) and node.op == "is":
            if isinstance(node.base, Call) and node.base.name == "resolve" and node.base.base is None:
                return ["resolve_is", node.type_name]
            branches = self._of_type(self._node(node.base, ctx), node.type_name)
            return ["exists", ["coll", [[ops, c.fhir_type] for ops, c in branches]]]
        return ["coll", [[ops, c.fhir_type] for ops, c in self._node(node, ctx)]]


def _type_arg(args: tuple[Node, ...], fn: str) -> str:
    if len(args) != 1:
        raise FhirPathError(f"{fn}() takes one type name")
    arg = args[0]
    if isinstance(arg, Ident):
        return arg.name
    if isinstance(arg, Member):
        return arg.name  # FHIR.Quantity
    raise FhirPathError(f"{fn}() takes a type name")
