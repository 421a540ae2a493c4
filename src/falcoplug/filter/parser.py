"""The condition parser: a port of libsinsp's recursive descent (``filter/parser.cpp``, libs 0.25).

Grammar (precedence ``not`` > ``and`` > ``or``; ``and``/``or`` are n-ary)::

    Expr      := OrExpr
    OrExpr    := AndExpr ( 'or' (BLANK AndExpr | '(' Expr ')') )*
    AndExpr   := NotExpr ( 'and' (BLANK NotExpr | '(' Expr ')') )*
    NotExpr   := ('not' BLANK+)* ( 'not(' Expr ')' | Check )
    Check     := '(' Expr ')' | Operand Cond | Identifier
    Operand   := Field | Transformer
    Cond      := 'exists' | NumOp (Number | TransformerOrVal) | StrOp (Str | TransformerOrVal)
               | StrOp Modifier ListValue | ListOp (ListValue | TransformerOrVal)

Error messages and the order in which alternatives are tried are libsinsp's, so that rules files
fail (or not) as they do in Falco.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from . import ast
from .errors import FilterError, Pos
from .lexer import (
    LIST_OPS,
    MODIFIERS,
    NUM_OPS,
    RGX_NOT_BLANK,
    STR_OPS,
    SUPPORTED_OPERATORS,
    SUPPORTED_TRANSFORMERS,
    TRANSFORMERS,
    UNARY_OPS,
    VAL,
    Lexer,
    quoted_list,
)

DEFAULT_MAX_DEPTH = 100
RULES_MAX_DEPTH = 1000  # Falco raises the limit for rule conditions

_TRANSFORMER_CHOICES = quoted_list(SUPPORTED_TRANSFORMERS)
_NOT_MODIFIER_TARGETS = ("and", "or", "not")


def parse(text: str, max_depth: int = DEFAULT_MAX_DEPTH) -> ast.Node:
    """Parse a whole condition; raise :class:`FilterError` (with its position) when it is invalid."""
    if not text:
        raise FilterError("filter input string is empty", Pos())
    parser = Parser(text, max_depth)
    with recursion_room(max_depth):
        node = parser.parse_or()
    if not parser.lex.at_end():
        raise parser.lex.error(f"unexpected token after '{parser.lex.last}', expecting 'or', 'and'")
    return node


def parse_operand(text: str, start: int = 0) -> tuple[ast.Operand, int]:
    """Parse a field or transformer at ``start`` (what an output format token holds).

    Returns the operand and the index just after it; raises :class:`FilterError` when none parses.
    """
    parser = Parser(text, DEFAULT_MAX_DEPTH)
    parser.lex.idx = start
    with recursion_room(DEFAULT_MAX_DEPTH):
        node = parser.parse_field_or_transformer()
    return node, parser.lex.idx


@contextmanager
def recursion_room(max_depth: int) -> Iterator[None]:
    """Room for ``max_depth`` nested Python frames (a parser level, a compiler level) above the
    caller's stack, for the duration of the block."""
    # Each depth unit is one Python frame of the parser; leave headroom above the caller's stack.
    needed = max_depth + 500
    previous = sys.getrecursionlimit()
    if previous < needed:
        sys.setrecursionlimit(needed)
    try:
        yield
    finally:
        if previous < needed:
            sys.setrecursionlimit(previous)


class Parser:
    """One parse of one input; every ``parse_*`` method is one of libsinsp's, depth-guarded."""

    def __init__(self, text: str, max_depth: int) -> None:
        self.lex = Lexer(text)
        self.max_depth = max_depth
        self.depth = 0

    @contextmanager
    def _guard(self) -> Iterator[None]:
        self.depth += 1
        if self.depth >= self.max_depth:
            raise FilterError(f"exceeded max depth limit of {self.max_depth}", self.lex.pos())
        try:
            yield
        finally:
            self.depth -= 1

    # --- boolean structure ------------------------------------------------------------------
    def parse_or(self) -> ast.Node:
        with self._guard():
            return self._parse_nary("or", ast.Or, self.parse_and)

    def parse_and(self) -> ast.Node:
        with self._guard():
            return self._parse_nary("and", ast.And, self.parse_not)

    def _parse_nary(self, keyword: str, cls: type, parse_child: object) -> ast.Node:
        lex = self.lex
        pos = lex.pos()
        lex.blank()
        items = [parse_child()]  # type: ignore[operator]
        lex.blank()
        while lex.string(keyword):
            if lex.blank():
                items.append(parse_child())  # type: ignore[operator]
            elif lex.string("("):
                items.append(self.parse_embedded_remainder())
            else:
                raise lex.error(f"expected blank or '(' after '{keyword}'")
            lex.blank()
        return items[0] if len(items) == 1 else cls(tuple(items), pos)

    def parse_not(self) -> ast.Node:
        with self._guard():
            lex = self.lex
            pos = lex.pos()
            negate = False
            lex.blank()
            while lex.regex(RGX_NOT_BLANK):
                negate = not negate
            if lex.string("not("):
                negate = not negate
                child = self.parse_embedded_remainder()
            else:
                child = self.parse_check()
            return ast.Not(child, pos) if negate else child

    def parse_embedded_remainder(self) -> ast.Node:
        """What follows a ``(``: an expression and its ``)``."""
        with self._guard():
            self.lex.blank()
            child = self.parse_or()
            self.lex.blank()
            if not self.lex.string(")"):
                raise self.lex.error("expected a ')' token")
            return child

    def parse_check(self) -> ast.Node:
        with self._guard():
            lex = self.lex
            pos = lex.pos()
            lex.blank()
            if lex.string("("):
                return self.parse_embedded_remainder()
            if lex.field_name():
                left: ast.Node = self.parse_field_remainder(lex.last, pos)
                return self.parse_condition(left, pos)
            if lex.any_string(TRANSFORMERS):
                lex.blank()
                left = self.parse_transformer_remainder(lex.last[:-1], pos)
                return self.parse_condition(left, pos)
            if lex.identifier():
                return ast.Identifier(lex.last, pos)
            raise lex.error("expected a '(' token, a field check, or an identifier")

    # --- operands ---------------------------------------------------------------------------
    def parse_field_or_transformer(self) -> ast.Operand:
        with self._guard():
            lex = self.lex
            pos = lex.pos()
            if lex.field_name():
                return self.parse_field_remainder(lex.last, pos)
            if lex.any_string(TRANSFORMERS):
                lex.blank()
                return self.parse_transformer_remainder(lex.last[:-1], pos)
            raise lex.error(f"unexpected token after '{lex.last}'")

    def parse_field_remainder(self, name: str, pos: Pos) -> ast.Field:
        with self._guard():
            return ast.Field(name, self.parse_optional_field_arg(), pos)

    def parse_optional_field_arg(self) -> str | None:
        lex = self.lex
        if not lex.string("["):
            return None
        if not lex.quoted() and not lex.field_arg_bare():
            raise lex.error("expected a valid field argument: a quoted string or a bare string")
        arg = lex.last
        if not lex.string("]"):
            raise lex.error("expected a ']' token")
        return arg

    def parse_transformer_remainder(self, name: str, pos: Pos) -> ast.Transformer:
        """``arg (, arg)* )`` after ``name(``, then an optional ``[arg]`` (getopt's selector)."""
        with self._guard():
            lex = self.lex
            lex.blank()
            args = [self.parse_transformer_arg(lex.pos())]
            lex.blank()
            while lex.string(","):
                args.append(self.parse_transformer_arg(lex.pos()))
                lex.blank()
            lex.blank()
            if not lex.string(")"):
                raise lex.error("expected a ')' token closing the transformer")
            return ast.Transformer(name, tuple(args), self.parse_optional_field_arg(), pos)

    def parse_transformer_arg(self, pos: Pos) -> ast.Node:
        with self._guard():
            lex = self.lex
            lex.blank()
            if lex.number() or lex.quoted():
                return ast.Value(lex.last, pos)
            if lex.string("("):
                return self.parse_transformer_list(pos)
            if lex.any_string(TRANSFORMERS):
                return self.parse_transformer_remainder(lex.last[:-1], pos)
            if lex.field_name():
                return self.parse_field_remainder(lex.last, pos)
            raise lex.error(
                "expected field transformer argument: "
                "field, transformer, quoted string, number, or transformer list"
            )

    def parse_transformer_list(self, pos: Pos) -> ast.TransformerList:
        lex = self.lex
        lex.blank()
        if lex.string(")"):
            return ast.TransformerList((), pos)
        items = [self.parse_transformer_list_arg(pos)]
        lex.blank()
        while lex.string(","):
            lex.blank()
            items.append(self.parse_transformer_list_arg(pos))
            lex.blank()
        if not lex.string(")"):
            raise lex.error("expected ')'")
        return ast.TransformerList(tuple(items), pos)

    def parse_transformer_list_arg(self, pos: Pos) -> ast.Node:
        lex = self.lex
        if lex.field_name():
            return self.parse_field_remainder(lex.last, pos)
        if lex.any_string(TRANSFORMERS):
            lex.blank()
            return self.parse_transformer_remainder(lex.last[:-1], pos)
        if lex.quoted() or lex.number():
            return ast.Value(lex.last, pos)
        raise lex.error("expected transformer list argument: field, transformer, quoted string, or number")

    # --- conditions -------------------------------------------------------------------------
    def parse_condition(self, left: ast.Node, pos: Pos) -> ast.Node:
        with self._guard():
            lex = self.lex
            lex.blank()
            if lex.operator(UNARY_OPS):
                return ast.UnaryCheck(left, lex.last.strip(), pos)
            lex.blank()
            if lex.operator(NUM_OPS):
                op = lex.last.strip()
                return ast.BinaryCheck(left, op, self.parse_num_value_or_transformer(), None, pos)
            if lex.operator(STR_OPS):
                op = lex.last.strip()
                modifier = self.lex_modifier()
                if modifier is not None:
                    return ast.BinaryCheck(left, op, self.parse_list_value(), modifier, pos)
                return ast.BinaryCheck(left, op, self.parse_str_value_or_transformer(False), None, pos)
            if lex.operator(LIST_OPS):
                op = lex.last.strip()
                return ast.BinaryCheck(left, op, self.parse_list_value_or_transformer(), None, pos)
            raise lex.error(f"expected a valid check operator: one of {quoted_list(SUPPORTED_OPERATORS)}")

    def lex_modifier(self) -> str | None:
        """``oneof``/``anyof``/``allof`` after a string operator and a blank, when a list or an
        identifier (other than and/or/not) follows; otherwise the word is an ordinary value."""
        lex = self.lex
        start = lex.pos()
        had_blank = lex.blank() or (start.idx > 0 and lex.text[start.idx - 1] in " \t\b\r\n")
        if had_blank and lex.any_string(MODIFIERS):
            modifier = lex.last
            after = lex.pos()
            lex.blank()
            if lex.peek() == "(":
                lex.restore(after)
                return modifier
            if lex.identifier() and lex.last not in _NOT_MODIFIER_TARGETS:
                lex.restore(after)
                return modifier
        lex.restore(start)
        return None

    def parse_num_value_or_transformer(self) -> ast.Node:
        with self._guard():
            lex = self.lex
            lex.blank()
            pos = lex.pos()
            found = self.try_parse_transformer_or_val()
            if found is not None:
                return found
            if lex.number():
                return ast.Value(lex.last, pos)
            raise lex.error(
                f"expected a number value or a field with a valid transformer: {_TRANSFORMER_CHOICES}"
            )

    def parse_str_value_or_transformer(self, no_transformer: bool) -> ast.Node:
        with self._guard():
            lex = self.lex
            lex.blank()
            pos = lex.pos()
            if not no_transformer:
                found = self.try_parse_transformer_or_val()
                if found is not None:
                    return found
            if lex.quoted() or lex.bare_string():
                return ast.Value(lex.last, pos)
            if no_transformer:
                raise lex.error("expected a string value")
            raise lex.error(
                f"expected a string value or a field with a valid transformer: {_TRANSFORMER_CHOICES}"
            )

    def parse_list_value(self) -> ast.Node:
        """A ``( v, ... )`` list or a bare identifier (taken as a single value)."""
        lex = self.lex
        lex.blank()
        pos = lex.pos()
        if lex.string("("):
            return self._parse_list_remainder(pos)
        if lex.identifier():
            return ast.Value(lex.last, pos)
        raise lex.error("expected a list or an identifier")

    def parse_list_value_or_transformer(self) -> ast.Node:
        with self._guard():
            lex = self.lex
            lex.blank()
            pos = lex.pos()
            if lex.string("("):
                return self._parse_list_remainder(pos)
            found = self.try_parse_transformer_or_val()
            if found is not None:
                return found
            if lex.identifier():
                return ast.Value(lex.last, pos)
            raise lex.error(
                f"expected a list, an identifier, or a field with a valid transformer: {_TRANSFORMER_CHOICES}"
            )

    def _parse_list_remainder(self, pos: Pos) -> ast.ListValue:
        lex = self.lex
        values: list[str] = []
        lex.blank()
        first_pos = lex.pos()
        try:
            first = self.parse_str_value_or_transformer(True)
        except FilterError:
            # libsinsp: a list whose first item does not lex is taken as empty, then needs ')'.
            lex.restore(first_pos)
            first = None
        if isinstance(first, ast.Value):
            values.append(first.value)
            lex.blank()
            while lex.string(","):
                item = self.parse_str_value_or_transformer(True)
                assert isinstance(item, ast.Value)
                values.append(item.value)
                lex.blank()
        if not lex.string(")"):
            raise lex.error("expected a ')' token")
        return ast.ListValue(tuple(values), pos)

    def try_parse_transformer_or_val(self) -> ast.Node | None:
        with self._guard():
            lex = self.lex
            lex.blank()
            pos = lex.pos()
            if lex.string(VAL):
                lex.blank()
                field_pos = lex.pos()
                if not lex.field_name():
                    raise lex.error("expected a field within 'val' transformer")
                child = self.parse_field_remainder(lex.last, field_pos)
                lex.blank()
                if not lex.string(")"):
                    raise lex.error("expected a ')' token closing the transformer")
                return ast.Transformer("val", (child,), None, pos)
            if lex.any_string(TRANSFORMERS):
                lex.blank()
                return self.parse_transformer_remainder(lex.last[:-1], pos)
            return None
