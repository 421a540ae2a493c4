"""The Falco condition language: parse, check and compile conditions; compile output formats.

Public API::

    parse(text, max_depth=100) -> ast.Node                  # FilterError on syntax errors
    as_string(node) -> str                                   # libsinsp's printed form
    compile_filter(text_or_node, resolver) -> CompiledFilter # .fields, .evaluate(vs), .test(getter)
    compile_format(fmt, resolver) -> OutputFormat            # .text(vs), .json_fields(vs), .fields
    compile_operand(node, resolver) -> CompiledOperand       # one field/transformer: .get(getter), .typed

The package reaches the framework only through the protocols of :mod:`falcoplug.filter.fields`.
"""

from .ast import Node
from .compiler import CompiledFilter, CompiledOperand, FilterWarning, Guard, compile_filter, compile_operand
from .errors import FilterError, Pos
from .fields import BoundField, FieldInfo, FieldResolver, ValueSource
from .format import OutputFormat, compile_format
from .operators import is_operator
from .parser import DEFAULT_MAX_DEPTH, RULES_MAX_DEPTH, parse, parse_operand
from .printer import as_string

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "RULES_MAX_DEPTH",
    "BoundField",
    "CompiledFilter",
    "CompiledOperand",
    "FieldInfo",
    "FieldResolver",
    "FilterError",
    "FilterWarning",
    "Guard",
    "Node",
    "OutputFormat",
    "Pos",
    "ValueSource",
    "as_string",
    "compile_filter",
    "compile_format",
    "compile_operand",
    "is_operator",
    "parse",
    "parse_operand",
]
