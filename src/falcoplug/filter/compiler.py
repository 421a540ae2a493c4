"""Compile a condition into one fast Python function.

Type checks happen here, once, with libsinsp's error texts. The condition then becomes the source of
a single Python function (compiled with :func:`compile`), because a generated function with inlined
comparisons runs several times faster than a tree of closures: each check is one expression such as
``((t3 := V(f1)) is not None and t3 == c2)``, ``and``/``or`` short-circuit natively, constants
(frozensets, precompiled regexes, parsed addresses) are closure cells, and nothing is allocated per
event. ``V`` is the event's :meth:`ValueSource.value`, so fields are extracted lazily, only when a
check needs them, and the ValueSource caches them for the event.

Missing values: every check on a field without a value is false (``!=`` included); a list field with
no element has no value. Only ``exists`` looks at presence itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import ast, transformers
from .errors import FilterError, Pos
from .fields import (
    FT_ABSTIME,
    FT_BOOL,
    FT_IPADDR,
    FT_IPNET,
    FT_RELTIME,
    FT_STRING,
    FT_UINT64,
    BoundField,
    FieldResolver,
    ValueSource,
)
from .matching import PathMatcher, ascii_lower, glob_matcher, regex_matcher
from .operators import LIST_OPERATORS, canonical, check_comparable, parse_constant
from .parser import DEFAULT_MAX_DEPTH, parse
from .printer import as_string
from .transformers import Typed

_HOIST_EVERY = 24  # boolean nesting levels per generated helper: keeps Python's compiler happy
_GUARD_TYPES = frozenset({FT_STRING, FT_UINT64, FT_RELTIME, FT_ABSTIME, FT_BOOL, FT_IPADDR})


@dataclass(frozen=True, slots=True)
class FilterWarning:
    message: str
    pos: Pos


@dataclass(frozen=True, slots=True)
class Guard:
    """A necessary condition of a filter: it can only be true when ``field``'s value is in ``values``.

    Found on scalar ``=``/``in``/``intersects`` checks that every match must pass (top-level
    conjuncts, or the same field in every branch of an ``or``); a rules engine may use it as an index.
    """

    field: BoundField
    values: frozenset[Any]


@dataclass(eq=False)
class CompiledFilter:
    """A compiled condition.

    ``fields`` are the bound fields the condition may read (the framework can prefetch them per
    plugin); ``evaluate(value_source)`` runs it on one event; ``test(getter)`` is the same function
    taking the ValueSource's bound ``value`` method (what a rules engine calls in its hot loop).
    """

    ast: ast.Node
    fields: tuple[BoundField, ...]
    test: Callable[[Callable[[Any], Any]], bool]
    warnings: list[FilterWarning] = field(default_factory=list)
    guards: tuple[Guard, ...] = ()
    source_code: str = ""
    _text: str | None = field(default=None, repr=False)
    _columns_source: str = field(default="", repr=False)
    _consts: tuple[Any, ...] = field(default=(), repr=False)
    _column_test: Callable[[Sequence[Sequence[Any]], int], list[bool]] | None = field(default=None, repr=False)

    @property
    def text(self) -> str:
        """The condition as libsinsp prints it. Made on first use: with macros that share
        sub-trees (``(m or m)`` chains) the printed text is exponentially longer than the rules."""
        if self._text is None:
            self._text = as_string(self.ast)
        return self._text

    def evaluate(self, values: ValueSource) -> bool:
        return self.test(values.value)

    def test_columns(self, columns: Sequence[Sequence[Any]], n: int) -> list[bool] | None:
        """The condition on each of ``n`` events given as columns (one per field of ``fields``, in
        that order, each value as ``V`` would give it): a list of booleans, several times faster
        than calling :attr:`test` per event. ``None`` when the condition has no column form (very
        deep nesting): then call :attr:`test`. Compiled on first use (a ruleset has thousands of
        conditions that never run on columns)."""
        if self._column_test is None:
            if not self._columns_source:
                return None
            self._column_test = _instantiate(self._columns_source, self.text, self._consts)
            self._consts = ()
        return self._column_test(columns, n)


def compile_filter(
    condition: str | ast.Node,
    resolver: FieldResolver,
    *,
    max_depth: int = DEFAULT_MAX_DEPTH,
    bound: dict[tuple[str, str | None], BoundField] | None = None,
) -> CompiledFilter:
    """Parse (when given text) and compile a condition for the fields of ``resolver``'s source.

    ``bound`` is an optional cache of resolved fields shared between compilations, so that every
    filter of a ruleset uses the same BoundField objects. Raises :class:`FilterError`.
    """
    node = parse(condition, max_depth) if isinstance(condition, str) else condition
    builder = _Builder(resolver, bound if bound is not None else {}, _shared_nodes(node))
    expr = builder.boolean(node, 0)
    text = condition if isinstance(condition, str) else None
    test, source = builder.finish(expr, text or type(node).__name__)
    guards = tuple(_top_guards(node, builder.guards, {}))
    return CompiledFilter(
        node, builder.field_list(), test, builder.warnings, guards, source, text and as_string(node),
        _columns_source=builder.columns_source(expr), _consts=tuple(builder.consts.values()),
    )  # fmt: skip


def _shared_nodes(root: ast.Node) -> frozenset[int]:
    """The boolean nodes reached by more than one path (macro expansion shares a macro's tree
    between its uses): each is compiled once, so compile time follows the rules text, not the
    expanded condition."""
    seen: set[int] = set()
    shared: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            shared.add(id(node))
            continue
        seen.add(id(node))
        if isinstance(node, (ast.And, ast.Or)):
            stack.extend(node.children)
        elif isinstance(node, ast.Not):
            stack.append(node.child)
    return frozenset(shared)


@dataclass(eq=False)
class CompiledOperand:
    """A compiled field or transformer (an output token): ``get(getter)`` gives its value or None."""

    node: ast.Operand
    text: str
    typed: Typed
    get: Callable[[Callable[[Any], Any]], Any]
    fields: tuple[BoundField, ...]
    raw_fields: tuple[tuple[str, BoundField], ...]  # the plain fields inside, by printed name


def compile_operand(
    node: ast.Operand,
    resolver: FieldResolver,
    bound: dict[tuple[str, str | None], BoundField] | None = None,
) -> CompiledOperand:
    """Compile a field or transformer expression (type rules included). Raises FilterError."""
    builder = _Builder(resolver, bound if bound is not None else {})
    operand = builder.operand(node)
    get, _ = builder.finish_value(operand.code, as_string(node))
    raw = tuple(
        (as_string(f), builder.field_objs[builder.field_vars[(f.name, f.arg)]]) for f in ast.fields_of(node)
    )
    return CompiledOperand(node, as_string(node), operand.typed, get, builder.field_list(), raw)


# --- operands -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Operand:
    """A compiled value producer: a Python expression giving the value or None, and its type."""

    code: str
    typed: Typed
    plain_field: BoundField | None = None  # set when the operand is a bare field (no transformer)


def resolve_field(resolver: FieldResolver, node: ast.Field) -> BoundField:
    """Resolve with the framework; any resolver failure becomes a FilterError at the field."""
    try:
        return resolver.resolve(node.name, node.arg)
    except FilterError as exc:
        raise FilterError(exc.message, node.pos) from None
    except (LookupError, ValueError) as exc:
        raise FilterError(str(exc.args[0]) if exc.args else str(exc), node.pos) from None


class _Builder:
    """Accumulates the generated source, its closure constants and the fields it reads."""

    def __init__(self, resolver: FieldResolver, bound: dict[tuple[str, str | None], BoundField],
                 shared: frozenset[int] = frozenset()) -> None:  # fmt: skip
        self.resolver = resolver
        self.bound = bound
        self.shared = shared
        # a shared node's expression, and the warnings compiling it gave (repeated at each use)
        self.memo: dict[int, tuple[str, list[FilterWarning]]] = {}
        self.consts: dict[str, Any] = {}
        self.field_vars: dict[tuple[str, str | None], str] = {}
        self.field_objs: dict[str, BoundField] = {}
        self.helpers: list[str] = []
        self.counter = 0
        self.warnings: list[FilterWarning] = []
        self.guards: dict[int, Guard] = {}

    # naming -------------------------------------------------------------------------------------
    def _name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def const(self, value: Any, prefix: str = "c") -> str:
        name = self._name(prefix)
        self.consts[name] = value
        return name

    def temp(self) -> str:
        return self._name("t")

    def bind(self, node: ast.Field) -> tuple[BoundField, str]:
        key = (node.name, node.arg)
        var = self.field_vars.get(key)
        if var is not None:
            return self.field_objs[var], var
        bf = self.bound.get(key)
        if bf is None:
            bf = resolve_field(self.resolver, node)
            self.bound[key] = bf
        var = self._name("f")
        self.field_vars[key] = var
        self.field_objs[var] = bf
        self.consts[var] = bf
        return bf, var

    def field_list(self) -> tuple[BoundField, ...]:
        return tuple(self.field_objs.values())

    # boolean structure --------------------------------------------------------------------------
    def boolean(self, node: ast.Node, depth: int) -> str:
        if id(node) in self.shared:
            return self._shared(node, depth)
        if depth and depth % _HOIST_EVERY == 0 and isinstance(node, (ast.And, ast.Or, ast.Not)):
            return self._hoist(node, depth)
        return self._boolean(node, depth)

    def _shared(self, node: ast.Node, depth: int) -> str:
        """A node with several parents: compiled once (a composite one into a helper of its own)."""
        done = self.memo.get(id(node))
        if done is not None:
            self.warnings.extend(done[1])
            return done[0]
        mark = len(self.warnings)
        composite = isinstance(node, (ast.And, ast.Or, ast.Not))
        expr = self._hoist(node, depth) if composite else self._boolean(node, depth)
        self.memo[id(node)] = (expr, self.warnings[mark:])
        return expr

    def _boolean(self, node: ast.Node, depth: int) -> str:
        if isinstance(node, ast.And):
            return "(" + " and ".join(self.boolean(c, depth + 1) for c in node.children) + ")"
        if isinstance(node, ast.Or):
            return "(" + " or ".join(self.boolean(c, depth + 1) for c in node.children) + ")"
        if isinstance(node, ast.Not):
            return f"(not {self.boolean(node.child, depth + 1)})"
        if isinstance(node, ast.UnaryCheck):
            return self._at(node.pos, self.unary, node)
        if isinstance(node, ast.BinaryCheck):
            return self._at(node.pos, self.binary, node)
        if isinstance(node, ast.Identifier):
            raise FilterError(f"filter error: unexpected identifier '{node.name}'", node.pos)
        raise FilterError("filter error: unexpected value in boolean position", getattr(node, "pos", None))

    def _hoist(self, node: ast.Node, depth: int) -> str:
        name = self._name("h")
        body = self._boolean(node, depth + 1)
        self.helpers.append(f"    def {name}(V):\n        return {body}\n")
        return f"{name}(V)"

    @staticmethod
    def _at(pos: Pos, fn: Callable[[Any], str], node: Any) -> str:
        try:
            return fn(node)
        except FilterError as exc:
            if exc.pos is None:
                raise FilterError(exc.message, pos) from None
            raise

    def finish(self, expr: str, text: str) -> tuple[Callable[[Callable[[Any], Any]], bool], str]:
        return self._build(f"True if {expr} else False", text)

    def finish_value(self, expr: str, text: str) -> tuple[Callable[[Callable[[Any], Any]], Any], str]:
        return self._build(expr, text)

    def _build(self, expr: str, text: str) -> tuple[Callable[[Callable[[Any], Any]], Any], str]:
        expr, prologue = self._memoize_fields(expr)
        source = (
            self._factory_head()
            + "".join(self.helpers)
            + f"    def _test(V):\n{prologue}        return {expr}\n"
            + "    return _test\n"
        )
        return _instantiate(source, text, tuple(self.consts.values())), source

    def _factory_head(self) -> str:
        # The constants arrive as one tuple unpacked into the factory's locals (cells of the
        # closures): binding thousands of keyword arguments costs time quadratic in their number.
        targets = "".join(f"{name}, " for name in self.consts)
        return "def _factory(_K):\n" + (f"    ({targets}) = _K\n" if self.consts else "")

    def columns_source(self, expr: str) -> str:
        """The source of the condition over a batch's columns (see :meth:`CompiledFilter.test_columns`):
        one list comprehension, each field's value a loop variable instead of a call. Empty when
        the condition has hoisted helpers (very deep nesting), which take ``V``."""
        if self.helpers:
            return ""
        names = list(self.field_objs)
        for var in names:
            expr = expr.replace(f"V({var})", f"_r{var}")
        if not names:
            loop = "for _ in range(n)"
        elif len(names) == 1:
            loop = f"for _r{names[0]} in C[0]"
        else:
            loop = f"for ({', '.join('_r' + v for v in names)}) in zip(*C)"
        return self._factory_head() + f"    def _columns(C, n):\n        return [True if {expr} else False {loop}]\n    return _columns\n"

    def _memoize_fields(self, expr: str) -> tuple[str, str]:
        """Read a field used several times once per call: ``V(f1)`` becomes a lazily set local.

        The ValueSource caches per event anyway; this saves its method call on repeated reads (a
        field often appears in several macros of one rule). Not done with hoisted helpers, whose
        scopes differ.
        """
        if self.helpers:
            return expr, ""
        repeated = [var for var in self.field_objs if expr.count(f"V({var})") > 1]
        for var in repeated:
            local = "v" + var[1:]
            expr = expr.replace(f"V({var})", f"({local} if {local} is not None else ({local} := V({var})))")
        prologue = f"        {' = '.join('v' + var[1:] for var in repeated)} = None\n" if repeated else ""
        return expr, prologue

    # operands -----------------------------------------------------------------------------------
    def operand(self, node: ast.Node) -> Operand:
        if isinstance(node, ast.Field):
            bf, var = self.bind(node)
            return Operand(f"V({var})", Typed(bf.info.ftype, bf.info.is_list), bf)
        if isinstance(node, ast.Transformer):
            return self._at(node.pos, self.transformer, node)
        if isinstance(node, ast.Value):
            return Operand(self.const(node.value), Typed(FT_STRING, False))
        if isinstance(node, ast.TransformerList):
            items = [self.operand(i) for i in node.items]
            return Operand(f"_list({', '.join(i.code for i in items)})", Typed(FT_STRING, True))
        raise FilterError("filter error: expected a field or a transformer", getattr(node, "pos", None))

    def transformer(self, node: ast.Transformer) -> Operand:
        name = node.name
        if name == "getopt":
            return self._getopt(node)
        if node.arg is not None:
            raise FilterError(f"transformer '{name}' does not support field arguments")
        if name == "val":
            return self.operand(node.args[0])
        if name in transformers.SINGLE:
            if len(node.args) != 1 or not isinstance(node.args[0], (ast.Field, ast.Transformer)):
                raise FilterError(
                    f"filter error: transformer '{name}' expects exactly one field or transformer"
                )
            inner = self.operand(node.args[0])
            _check_flag(inner.plain_field, "EPF_NO_TRANSFORMER", "does not support transformers")
            typed = transformers.single_result(name, inner.typed)
            return Operand(f"_t_{name}({inner.code})", typed)
        args = [self.operand(a) for a in node.args]
        if name == "join":
            typed = transformers.join_result([a.typed for a in args])
            return Operand(f"_t_join({args[0].code}, {args[1].code})", typed)
        typed = transformers.concat_result([a.typed for a in args])
        return Operand(f"_t_concat({', '.join(a.code for a in args)})", typed)

    def _getopt(self, node: ast.Transformer) -> Operand:
        args = [self.operand(a) for a in node.args]
        typed = transformers.getopt_result([a.typed for a in args], node.arg)
        optstring = node.args[1]
        constant = optstring.value if isinstance(optstring, ast.Value) else None
        fn = self.const(transformers.make_getopt(constant, node.arg), "g")
        if constant is not None:
            return Operand(f"{fn}({args[0].code})", typed)
        return Operand(f"{fn}({args[0].code}, {args[1].code})", typed)

    # checks -------------------------------------------------------------------------------------
    def unary(self, node: ast.UnaryCheck) -> str:
        left = self.operand(node.left)
        check_comparable(node.op, left.typed)
        if left.typed.is_list:
            return f"(not not {left.code})"
        return f"({left.code} is not None)"

    def binary(self, node: ast.BinaryCheck) -> str:
        left = self.operand(node.left)
        op = canonical(node.op)
        check_comparable(op, left.typed)
        if isinstance(node.right, ast.Transformer):
            return self._field_to_field(op, left, node.left, node.right)
        values = list(node.right.values) if isinstance(node.right, ast.ListValue) else [node.right.value]
        for value in values:
            self._value_warnings(op, value, node.right.pos)
        validate = getattr(self._checked_field(node.left, left), "validate_value", None)
        if validate is not None:
            for value in values:
                validate(value)
        if node.modifier is not None:
            return self._with_modifier(op, node.modifier, left, values)
        self._record_guard(node, op, left, values)
        t = self.temp()
        cmp = self._compare_const(op, left.typed, t, values)
        if left.typed.is_list:
            return f"(({t} := {left.code}) and {cmp})"
        return f"(({t} := {left.code}) is not None and {cmp})"

    def _checked_field(self, node: ast.Node, operand: Operand) -> BoundField | None:
        """The field whose libsinsp check parses the right-hand side: the left field, also under
        transformers (``toupper(evt.type) = x`` still checks ``x`` as an event type)."""
        if operand.plain_field is not None:
            return operand.plain_field
        inner = ast.fields_of(node)
        return self.bind(inner[0])[0] if len(inner) == 1 else None

    def _parse_values(self, op: str, typed: Typed, values: list[str]) -> list[Any]:
        return [parse_constant(v, typed.ftype, op) for v in values]

    def _compare_const(self, op: str, typed: Typed, t: str, values: list[str]) -> str:
        """The comparison of a present value held in ``t`` with constants."""
        ftype = typed.ftype
        if op in LIST_OPERATORS:
            if op == "pmatch":
                return f"{self.const(PathMatcher(values), 'p')}({t})"
            parsed = self._parse_values(op, typed, values)
            if ftype == FT_IPNET:
                nets = self.const(tuple(parsed), "n")
                if typed.is_list:
                    fn = "_nets_all" if op == "in" else "_nets_any_of"
                    return f"{fn}({t}, {nets})"
                return f"_in_any_net({t}, {nets})"
            members = self.const(frozenset(parsed), "s")
            if typed.is_list:
                return f"{members}.issuperset({t})" if op == "in" else f"(not {members}.isdisjoint({t}))"
            return f"({t} in {members})"
        (value,) = values
        return self._compare_one(op, typed, t, value)

    def _compare_one(self, op: str, typed: Typed, t: str, value: str) -> str:
        ftype = typed.ftype
        if op == "glob" or op == "iglob":
            return f"({self.const(glob_matcher(value, op == 'iglob'), 'm')}({t}) is not None)"
        if op == "regex":
            return f"({self.const(regex_matcher(value), 'r')}({t}) is not None)"
        parsed = parse_constant(value, ftype, op)
        if ftype == FT_IPNET:
            net = self.const(parsed, "n")
            return f"_in_net({t}, {net})" if op == "=" else f"(not _in_net({t}, {net}))"
        if op == "icontains":
            return f"({self.const(ascii_lower(parsed))} in _lower({t}))"
        c = self.const(parsed)
        if op in ("contains", "bcontains"):
            return f"({c} in {t})"
        if op in ("startswith", "bstartswith"):
            return f"{t}.startswith({c})"
        if op == "endswith":
            return f"{t}.endswith({c})"
        return f"({t} {'==' if op == '=' else op} {c})"

    def _with_modifier(self, op: str, modifier: str, left: Operand, values: list[str]) -> str:
        """``op anyof|allof|oneof (v...)``: the check applied to each item, any/all/exactly one."""
        if left.typed.ftype in (FT_IPADDR, FT_IPNET) and op != "=":
            op = "="  # libsinsp coerces network comparisons under a modifier to equality
        t = self.temp()
        parts = [self._compare_one(op, left.typed, t, v) for v in values]
        if modifier == "anyof":
            body = "(" + " or ".join(parts) + ")" if parts else "False"
        elif modifier == "allof":
            body = "(" + " and ".join(parts) + ")" if parts else "True"
        else:
            body = "((" + ") + (".join(parts) + ") == 1)" if parts else "False"
        return f"(({t} := {left.code}) is not None and {body})"

    def _field_to_field(self, op: str, left: Operand, left_node: ast.Node, node: ast.Transformer) -> str:
        right = self.operand(node)
        for inner in ast.fields_of(node):
            bf, _ = self.bind(inner)
            _check_flag(bf, "EPF_NO_RHS", "can't be used as a right-hand side field")
        if op in ("pmatch", "regex"):
            raise FilterError(
                f"filter error: '{op}' operator does not support field values on its right-hand side"
            )
        if FT_IPNET in (left.typed.ftype, right.typed.ftype):
            raise FilterError("filter error: fields of type 'IPNET' can't be compared with other fields")
        if left.typed != right.typed:
            raise FilterError(
                f"filter error: left-hand side field '{as_string(left_node)}' has type '{left.typed.describe()}' "
                f"while the right-hand side field '{as_string(node)}' has incompatible type "
                f"'{right.typed.describe()}'"
            )
        t, u = self.temp(), self.temp()
        cmp = self._compare_dynamic(op, left.typed, t, u)
        present = "" if left.typed.is_list else " is not None"
        return f"(({t} := {left.code}){present} and ({u} := {right.code}){present} and {cmp})"

    @staticmethod
    def _compare_dynamic(op: str, typed: Typed, t: str, u: str) -> str:
        if typed.is_list:
            return f"set({u}).issuperset({t})" if op == "in" else f"(not set({u}).isdisjoint({t}))"
        dynamic = {
            "=": f"({t} == {u})",
            "in": f"({t} == {u})",
            "intersects": f"({t} == {u})",
            "!=": f"({t} != {u})",
            "contains": f"({u} in {t})",
            "bcontains": f"({u} in {t})",
            "icontains": f"(_lower({u}) in _lower({t}))",
            "startswith": f"{t}.startswith({u})",
            "bstartswith": f"{t}.startswith({u})",
            "endswith": f"{t}.endswith({u})",
            "glob": f"(_glob({u}, False)({t}) is not None)",
            "iglob": f"(_glob({u}, True)({t}) is not None)",
        }
        return dynamic.get(op, f"({t} {op} {u})")

    # warnings and guards ------------------------------------------------------------------------
    def _value_warnings(self, op: str, value: str, pos: Pos) -> None:
        if op == "regex" and _regex_is_simple(value):
            self.warnings.append(
                FilterWarning(
                    f"regex check with '{value}' may be optimized with simpler operators such as "
                    "'=', 'contains', 'startswith', 'endswith'",
                    pos,
                )
            )
        stripped = re.sub(r"\s", "", value)
        name = stripped.partition("[")[0]
        if name and "." in name and self._is_field(name):
            self.warnings.append(
                FilterWarning(f"'{value}' may be a valid field misused as a const string value", pos)
            )
        for transformer in ("val",) + transformers.SINGLE + transformers.MULTI:
            if (
                stripped.startswith(transformer + "(")
                and stripped.endswith(")")
                and len(stripped) >= len(transformer) + 2
            ):
                self.warnings.append(
                    FilterWarning(
                        f"'{value}' may be a valid field transformer misused as a const string value", pos
                    )
                )

    def _is_field(self, name: str) -> bool:
        try:
            return bool(self.resolver.has_field(name))
        except (FilterError, LookupError, ValueError, TypeError):  # odd text is just "not a field"
            return False

    def _record_guard(self, node: ast.BinaryCheck, op: str, left: Operand, values: list[str]) -> None:
        bf = left.plain_field
        if bf is None or left.typed.is_list or left.typed.ftype not in _GUARD_TYPES:
            return
        if op not in ("=", "in", "intersects"):
            return
        parsed = self._parse_values(op, left.typed, values)
        self.guards[id(node)] = Guard(bf, frozenset(parsed))


def _check_flag(bf: BoundField | None, flag: str, problem: str) -> None:
    """libsinsp's refusals for built-in fields flagged EPF_NO_TRANSFORMER / EPF_NO_RHS."""
    if bf is not None and flag in bf.info.flags:
        raise FilterError(f"field '{bf.info.name}' {problem}")


def _regex_is_simple(value: str) -> bool:
    """libsinsp's heuristic: no regex syntax beyond anchors and leading/trailing ``.*``."""
    n = len(value)
    i = 0
    while i < n:
        ch = value[i]
        if (i == 0 and ch == "^") or (i == n - 1 and ch == "$"):
            i += 1
            continue
        if ((i == 0 and n > 1) or i == n - 2) and ch == "." and i + 1 < n and value[i + 1] in "+*?":
            i += 2
            continue
        if ch in ".+*?^$()[]{}|\\":
            return False
        i += 1
    return True


def _top_guards(node: ast.Node, guards: Mapping[int, Guard], seen: dict[int, list[Guard]]) -> list[Guard]:
    """Guards that hold for the whole condition (see :class:`Guard`); ``seen`` keeps the answer
    for each node already visited (shared sub-trees are visited once)."""
    known = seen.get(id(node))
    if known is None:
        known = seen[id(node)] = _node_guards(node, guards, seen)
    return known


def _node_guards(node: ast.Node, guards: Mapping[int, Guard], seen: dict[int, list[Guard]]) -> list[Guard]:
    if isinstance(node, ast.BinaryCheck):
        guard = guards.get(id(node))
        return [guard] if guard is not None else []
    if isinstance(node, ast.And):
        return list(dict.fromkeys(g for child in node.children for g in _top_guards(child, guards, seen)))
    if isinstance(node, ast.Or):
        branches = [_top_guards(child, guards, seen) for child in node.children]
        if not all(branches):
            return []
        merged: list[Guard] = []
        for first in branches[0]:
            same = [next((g for g in b if g.field is first.field), None) for b in branches]
            if all(s is not None for s in same):
                merged.append(Guard(first.field, frozenset().union(*(s.values for s in same if s))))
        return merged
    return []


# --- runtime helpers the generated code calls ---------------------------------------------------
def _address(value: Any) -> Any:
    return getattr(value, "network_address", value)


def _in_net(value: Any, net: Any) -> bool:
    addr = _address(value)
    return addr.version == net.version and addr in net


def _in_any_net(value: Any, nets: tuple[Any, ...]) -> bool:
    return any(_in_net(value, n) for n in nets)


def _nets_all(values: list[Any], nets: tuple[Any, ...]) -> bool:
    return all(_in_any_net(v, nets) for v in values)


def _nets_any_of(values: list[Any], nets: tuple[Any, ...]) -> bool:
    return any(_in_any_net(v, nets) for v in values)


def _instantiate(source: str, text: str, consts: tuple[Any, ...]) -> Any:
    namespace: dict[str, Any] = dict(_RUNTIME)
    code = compile(source, f"<condition {text[:60]!r}>", "exec")
    exec(code, namespace)  # noqa: S102 - our own generated source; constants are passed as cells
    return namespace["_factory"](consts)


_RUNTIME: dict[str, Any] = {
    "_lower": ascii_lower,
    "_glob": glob_matcher,
    "_list": transformers.t_list,
    "_in_net": _in_net,
    "_in_any_net": _in_any_net,
    "_nets_all": _nets_all,
    "_nets_any_of": _nets_any_of,
    **{f"_t_{name}": fn for name, fn in transformers.RUNTIME.items()},
}
