"""The condition AST: immutable nodes that compare equal whatever their source position.

The shapes follow libsinsp's ``filter/ast.h``: ``and``/``or`` are n-ary, a check has a left operand
(a field or a transformer), an operator and, for binary checks, a right operand (a value, a list of
values, or a transformer/``val()`` for field-to-field comparisons). A bare identifier is a macro
reference, substituted by the rules engine before compilation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from .errors import START, Pos


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]
    pos: Pos = field(default=START, compare=False)


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]
    pos: Pos = field(default=START, compare=False)


@dataclass(frozen=True, slots=True)
class Not:
    child: Node
    pos: Pos = field(default=START, compare=False)


@dataclass(frozen=True, slots=True)
class Identifier:
    """A bare word in check position: a macro reference."""

    name: str
    pos: Pos = field(default=START, compare=False)


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    arg: str | None = None
    pos: Pos = field(default=START, compare=False)


@dataclass(frozen=True, slots=True)
class Transformer:
    """``name(args...)[arg]``; ``val(f)`` is the identity that marks a right-hand side field."""

    name: str
    args: tuple[Node, ...]
    arg: str | None = None
    pos: Pos = field(default=START, compare=False)


@dataclass(frozen=True, slots=True)
class TransformerList:
    """``( a, b, ... )`` as a transformer argument."""

    items: tuple[Node, ...]
    pos: Pos = field(default=START, compare=False)


@dataclass(frozen=True, slots=True)
class Value:
    """One constant (already unescaped when it was quoted)."""

    value: str
    pos: Pos = field(default=START, compare=False)


@dataclass(frozen=True, slots=True)
class ListValue:
    values: tuple[str, ...]
    pos: Pos = field(default=START, compare=False)


@dataclass(frozen=True, slots=True)
class UnaryCheck:
    left: Node
    op: str
    pos: Pos = field(default=START, compare=False)


@dataclass(frozen=True, slots=True)
class BinaryCheck:
    """``left op right``; ``modifier`` is ``oneof``/``anyof``/``allof`` (libs 0.25) or None."""

    left: Node
    op: str
    right: Node
    modifier: str | None = None
    pos: Pos = field(default=START, compare=False)

    @property
    def op_text(self) -> str:
        return self.op if self.modifier is None else f"{self.op} {self.modifier}"


Node = (
    And
    | Or
    | Not
    | Identifier
    | Field
    | Transformer
    | TransformerList
    | Value
    | ListValue
    | UnaryCheck
    | BinaryCheck
)
Operand = Field | Transformer


def children(node: Node) -> tuple[Node, ...]:
    """The direct children of a node, in source order."""
    if isinstance(node, (And, Or)):
        return node.children
    if isinstance(node, Not):
        return (node.child,)
    if isinstance(node, UnaryCheck):
        return (node.left,)
    if isinstance(node, BinaryCheck):
        return (node.left, node.right)
    if isinstance(node, Transformer):
        return node.args
    if isinstance(node, TransformerList):
        return node.items
    return ()


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, parents before children (iterative: deep trees are legal). A
    sub-tree shared by several parents (a macro used twice) is walked once."""
    stack = [node]
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend(reversed(children(current)))


def fields_of(node: Node) -> list[Field]:
    return [n for n in walk(node) if isinstance(n, Field)]


def identifiers_of(node: Node) -> list[Identifier]:
    return [n for n in walk(node) if isinstance(n, Identifier)]


def boolean_children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, (And, Or)):
        return node.children
    if isinstance(node, Not):
        return (node.child,)
    return ()


def substitute(node: Node, fn: Callable[[Node], Node | None]) -> Node:
    """Rebuild the boolean skeleton, replacing each node for which ``fn`` returns a node.

    Only ``and``/``or``/``not`` are descended: checks are leaves for macro substitution, as in Falco's
    macro resolver (identifiers inside checks are values, never macros). Iterative, so any depth
    works; a sub-tree reached twice (a macro used twice shares one tree) is visited once, ``fn``
    is called once per node object, and a sub-tree with nothing replaced is returned as is. The
    cost is linear in the number of distinct nodes, not in the size of the tree written out.
    """
    done: dict[int, Node] = {}
    stack: list[tuple[Node, bool]] = [(node, False)]
    while stack:
        current, rebuild = stack.pop()
        key = id(current)
        if rebuild:
            old = boolean_children(current)
            new = tuple(done[id(c)] for c in old)
            if all(a is b for a, b in zip(new, old)):
                done[key] = current
            elif isinstance(current, Not):
                done[key] = replace(current, child=new[0])
            else:
                done[key] = replace(current, children=new)  # type: ignore[call-arg]
            continue
        if key in done:
            continue
        replaced = fn(current)
        if replaced is not None:
            done[key] = replaced
            continue
        kids = boolean_children(current)
        if not kids:
            done[key] = current
            continue
        stack.append((current, True))
        stack.extend((c, False) for c in reversed(kids) if id(c) not in done)
    return done[id(node)]
