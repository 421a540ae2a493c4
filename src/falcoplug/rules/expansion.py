"""List substitution, macro substitution and exception conditions, as Falco's rule compiler does them.

* Lists are replaced **as text, before parsing**, wherever their name stands between delimiters
  (even inside quotes: a Falco quirk kept on purpose).
* Macros are replaced **in the AST**: an identifier becomes a copy of the macro's tree.
* Exceptions are appended to the condition text: ``(<cond>) and not (<exception checks>)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..filter import ast
from ..filter.errors import Pos
from ..filter.operators import LIST_OPERATORS
from .collector import fail
from .items import Entry, ExceptionInfo

_BLANKS = " \t\n\r"
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


def resolve_macros(node: ast.Node, macros: Mapping[str, ast.Node]) -> MacroResolution:
    """Replace macro identifiers by (copies of) their trees, recursively, detecting loops."""
    result = MacroResolution(node)
    path: list[str] = []

    def visit(current: ast.Node) -> ast.Node | None:
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
        path.append(current.name)
        expanded = ast.substitute(macro, visit)
        path.pop()
        result.resolved.append(current.name)
        return expanded

    result.node = ast.substitute(node, visit)
    return result


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
