"""``as_string``: a condition printed as libsinsp prints it (compiled-condition text, JSON keys).

``and``/``or`` are always parenthesised, ``not`` is a prefix, values are re-quoted only when they
need it. Every printed condition parses back to an equal AST.
"""

from __future__ import annotations

import re

from . import ast
from .escaping import escape

_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+|[+\-]?[0-9]+\.?[0-9]*(?:[eE][+\-][0-9]+)?")


def as_string(node: ast.Node) -> str:
    parts: list[str] = []
    _emit(node, parts)
    return "".join(parts)


def _emit(node: ast.Node, out: list[str]) -> None:
    if isinstance(node, (ast.And, ast.Or)):
        joiner = " and " if isinstance(node, ast.And) else " or "
        out.append("(")
        for i, child in enumerate(node.children):
            if i:
                out.append(joiner)
            _emit(child, out)
        out.append(")")
    elif isinstance(node, ast.Not):
        out.append("not ")
        _emit(node.child, out)
    elif isinstance(node, ast.Identifier):
        out.append(node.name)
    elif isinstance(node, ast.Value):
        out.append(escape(node.value))
    elif isinstance(node, ast.ListValue):
        out.append("(" + ", ".join(escape(v) for v in node.values) + ")")
    elif isinstance(node, ast.UnaryCheck):
        _emit(node.left, out)
        out.append(" " + node.op)
    elif isinstance(node, ast.BinaryCheck):
        _emit(node.left, out)
        out.append(f" {node.op_text} ")
        _emit(node.right, out)
    elif isinstance(node, ast.Field):
        out.append(node.name + _arg_text(node.arg))
    elif isinstance(node, ast.Transformer):
        out.append(node.name + "(")
        out.append(",".join(_arg_item(a) for a in node.args))
        out.append(")" + _arg_text(node.arg))
    elif isinstance(node, ast.TransformerList):
        out.append("(" + ",".join(_arg_item(a) for a in node.items) + ")")
    else:  # pragma: no cover - exhaustive over ast.Node
        raise TypeError(f"not an AST node: {node!r}")


def _arg_text(arg: str | None) -> str:
    if arg is None:
        return ""
    # a bare argument ends at a bracket: quote those (and whatever escape() quotes)
    return f"[{_quote(arg)}]" if "[" in arg or "]" in arg else f"[{escape(arg)}]"


def _arg_item(node: ast.Node) -> str:
    # Inside a transformer a constant must be a number or a quoted string to parse back.
    if isinstance(node, ast.Value) and not _NUMBER.fullmatch(node.value):
        return _quote(node.value)
    return as_string(node)


def _quote(value: str) -> str:
    printed = escape(value)
    return printed if printed.startswith('"') else f'"{printed}"'
