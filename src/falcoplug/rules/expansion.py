"""List substitution, macro substitution and exception conditions, as Falco's rule compiler does them.

* Lists are replaced **as text, before parsing**, wherever their name stands between delimiters
  (even inside quotes: a Falco quirk kept on purpose).
* Macros are replaced **in the AST**: an identifier becomes the macro's tree, shared by every
  reference (the AST is immutable), so expansion is linear in the rules text.
* Exceptions are appended to the condition text: ``(<cond>) and not (<exception checks>)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from ..filter import ast
from ..filter.errors import Pos
from ..filter.parser import RULES_MAX_DEPTH
from ..filter.operators import LIST_OPERATORS
from .collector import fail
from .items import Entry, ExceptionInfo

_BLANKS = " \t\n\r"
# The and/or/not depth a condition may reach once its macros are in: as deep as a condition may
# be written (Falco's parser limit for rules), which keeps compiling it within Python's limits.
MAX_EXPANDED_DEPTH = RULES_MAX_DEPTH
_DELIMS = _BLANKS + "(),="


def quote_item(item: str) -> str:
    """Wrap an item with a space in double quotes, unless it already starts with a quote."""
    if " " in item and not item.startswith(('"', "'")):
        return f'"{item}"'
    return item


def paren_item(item: str) -> str:
    return item if item.startswith("(") else f"({item})"


def resolve_list(condition: str, name: str, items: list[str]) -> tuple[str, bool]:
    """Falco's ``resolve_list``: substitute every delimited occurrence of ``name``; (text, used)."""
    used = False
    start = condition.find(name)
    while start != -1:
        end = start + len(name)
        if (start == 0 or condition[start - 1] in _DELIMS) and (
            end >= len(condition) or condition[end] in _DELIMS
        ):
            while start > 0 and condition[start - 1] in _BLANKS:
                start -= 1
            while end < len(condition) and condition[end] in _BLANKS:
                end += 1
            sub = ", ".join(quote_item(v) for v in items)
            if not sub:
                # an empty list takes one adjacent comma with it: "(a, emptylist)" -> "(a )"
                if start > 0 and condition[start - 1] == ",":
                    start -= 1
                elif end < len(condition) and condition[end] == ",":
                    end += 1
            prefix = condition[:start] + " " if start > 0 else ""
            condition = prefix + sub + " " + condition[end:]
            start += len(sub) + 1
            used = True
        start = condition.find(name, start + 1)
    return condition, used


@dataclass
class MacroResolution:
    node: ast.Node
    errors: list[tuple[str, Pos]] = field(default_factory=list)
    unknown: list[tuple[str, Pos]] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)

    def first_problem(self) -> tuple[str, Pos] | None:
        """Falco only reports the first loop, else the first undefined macro."""
        if self.errors:
            return self.errors[0]
        if self.unknown:
            name, pos = self.unknown[0]
            return f"Undefined macro '{name}' used in filter.", pos
        return None


class _ResolvedTrees:
    """Trees this module produced with every macro in, and their depth, by identity.

    The compiler resolves each macro once and keeps the result; a later macro or rule that uses it
    gets that tree back as is, instead of walking it again (a chain of macros would otherwise cost
    the square of its length). Identity is checked (``is``), and the memory is bounded: the table
    is emptied when full, which only costs a walk.
    """

    LIMIT: Final = 100_000

    def __init__(self) -> None:
        self._trees: dict[int, tuple[ast.Node, int]] = {}

    def depth(self, node: ast.Node) -> int | None:
        known = self._trees.get(id(node))
        return known[1] if known is not None and known[0] is node else None

    def add(self, node: ast.Node, depth: int) -> None:
        if len(self._trees) >= self.LIMIT:
            self._trees.clear()
        self._trees[id(node)] = (node, depth)


_RESOLVED = _ResolvedTrees()


def resolve_macros(node: ast.Node, macros: Mapping[str, ast.Node]) -> MacroResolution:
    """Replace macro identifiers by their trees, recursively, detecting loops.

    A macro is expanded once per resolution and every reference to it shares that one tree (the
    AST is immutable): a chain of macros each using the previous one twice costs its length, not
    2**length. A macro tree already resolved here is used as is, without a walk. Only the macros
    named in ``node`` itself, or met while expanding, are listed in ``resolved``: a resolved
    macro's own references were listed when it was resolved.
    """
    result = MacroResolution(node)
    path: list[str] = []
    expanded: dict[str, ast.Node] = {}

    def visit(current: ast.Node) -> ast.Node | None:
        if _RESOLVED.depth(current) is not None:
            return current  # a resolved tree inside the tree: nothing to replace in it
        if not isinstance(current, ast.Identifier):
            return None
        macro = macros.get(current.name)
        if macro is None:
            result.unknown.append((current.name, current.pos))
            return current
        if current.name in path:
            result.errors.append((f"reference loop in macro '{current.name}'", current.pos))
            result.unknown.append((current.name, current.pos))
            return current
        tree = expanded.get(current.name)
        if tree is None:
            path.append(current.name)
            tree = expanded[current.name] = ast.substitute(macro, visit)
            path.pop()
        result.resolved.append(current.name)
        return tree

    result.node = ast.substitute(node, visit)
    depth = boolean_depth(result.node)
    if depth > MAX_EXPANDED_DEPTH and not result.errors:
        result.errors.append((
            f"macros nested too deeply: the expanded condition is {depth} and/or/not levels deep "
            f"(the maximum is {MAX_EXPANDED_DEPTH})",
            node.pos,
        ))
    if not result.errors and not result.unknown:
        _RESOLVED.add(result.node, depth)
    return result


def boolean_depth(node: ast.Node) -> int:
    """How many ``and``/``or``/``not`` levels the tree has (iterative; shared sub-trees once)."""
    depths: dict[int, int] = {}
    stack: list[tuple[ast.Node, bool]] = [(node, False)]
    while stack:
        current, after = stack.pop()
        kids = ast.boolean_children(current)
        if after:
            depths[id(current)] = 1 + max(depths[id(c)] for c in kids)
        elif id(current) not in depths:
            known = _RESOLVED.depth(current)
            if known is not None or not kids:
                depths[id(current)] = known or 0
                continue
            stack.append((current, True))
            stack.extend((c, False) for c in kids if id(c) not in depths)
    return depths[id(node)]


def unsafe_na_check(node: ast.Node) -> bool:
    """A ``ka.*``/``jevt.*`` field compared for equality with the literal ``<NA>``."""
    for check in ast.walk(node):
        if not isinstance(check, ast.BinaryCheck) or not isinstance(check.left, ast.Field):
            continue
        if not check.left.name.startswith(("ka.", "jevt.")):
            continue
        if check.op not in ("=", "==", "!=", "in", "intersects", "pmatch"):
            continue
        right = check.right
        if isinstance(right, ast.Value) and right.value == "<NA>":
            return True
        if isinstance(right, ast.ListValue) and "<NA>" in right.values:
            return True
    return False


def _is_list_operator(comp: str) -> bool:
    return comp in LIST_OPERATORS


def exception_condition(condition: str, exceptions: list[ExceptionInfo]) -> tuple[str, set[str]]:
    """Falco's ``build_rule_exception_infos``: the condition with its exceptions, and their fields."""
    fields: set[str] = set()
    condition = f"({condition})"
    for ex in exceptions:
        if not ex.fields.is_list:
            text = _single_field_exception(ex, fields)
        else:
            text = _multi_field_exception(ex, fields)
        if text:
            condition += " and not " + text
    return condition, fields


def _single_field_exception(ex: ExceptionInfo, fields: set[str]) -> str:
    text = ""
    for val in ex.values:
        if val.is_list:
            raise fail("Expected values array to contain a list of strings", ex.ctx)
        text += f"({ex.fields.item} {ex.comps.item} (" if not text else ", "
        fields.add(ex.fields.item)
        text += quote_item(val.item)
    return text + "))" if text else ""


def _multi_field_exception(ex: ExceptionInfo, fields: set[str]) -> str:
    text = "("
    for values in ex.values:
        if len(ex.fields.items) != len(values.items):
            raise fail("Fields and values lists must have equal length", ex.ctx)
        text += "" if text == "(" else " or "
        text += "("
        for k, f in enumerate(ex.fields.items):
            text += "" if k == 0 else " and "
            comp = ex.comps.items[k].item
            text += f" {f.item} {comp} {_value_text(values.items[k], comp)}"
            fields.add(f.item)
        text += ")"
    text += ")"
    return "" if text == "()" else text


def _value_text(value: Entry, comp: str) -> str:
    if value.is_list:
        return "(" + ", ".join(quote_item(v.item) for v in value.items) + ")"
    if _is_list_operator(comp):
        return paren_item(value.item)
    return quote_item(value.item)
