"""Output formats: ``%field``, ``%field[arg]``, ``%transformer(field)`` and ``%20field`` tokens.

As libsinsp's formatter: after ``%`` and an optional width, the token is the **longest prefix** of the
rest that parses as a field or transformer expression *and* compiles for the source, so
``%ka.user.name)`` is the field followed by the text ``)``. There is no ``%%`` escape and no
``%(field)`` syntax. A leading ``*`` means "print ``<NA>`` for missing values" (Falco's rule outputs
always behave so); without it, an event where a value is missing prints nothing, as libsinsp's
formatter returns false for it (:meth:`OutputFormat.line`, ``falcoplug run -o``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from . import ast
from .compiler import CompiledOperand, compile_operand
from .errors import FilterError
from .fields import FT_BOOL, FT_BYTEBUF, FT_IPADDR, FT_IPNET, BoundField, FieldInfo, FieldResolver, ValueSource
from .parser import parse_operand
from .render import NA, is_padded, render_json, render_text

_WIDTH = re.compile(r"[0-9]+")
# Time-string fields that libsinsp's JSON output writes as the event's timestamp in nanoseconds
JSON_TIMESTAMP_FIELDS = frozenset({"evt.time", "evt.time.s", "evt.time.iso8601", "evt.datetime", "evt.datetime.s"})
_TOKEN_END = re.compile(r"[A-Za-z0-9_\])]")


@dataclass(eq=False)
class Token:
    """A literal (``operand`` None) or a field/transformer with its width (0 = natural)."""

    literal: str = ""
    operand: CompiledOperand | None = None
    width: int = 0
    info: FieldInfo | None = None  # how to render the value (the transformed type for transformers)


class OutputFormat:
    """A compiled output format; ``text(values)`` renders it, ``json_fields(values)`` gives
    ``output_fields`` as Falco builds them (plain fields by name; a transformer's inner fields)."""

    def __init__(self, fmt: str, tokens: list[Token], require_all: bool) -> None:
        self.format = fmt
        self.tokens = tokens
        self.require_all = require_all
        operands = [t.operand for t in tokens if t.operand is not None]
        seen: dict[int, BoundField] = {}
        for op in operands:
            for f in op.fields:
                seen.setdefault(id(f), f)
        self.fields: tuple[BoundField, ...] = tuple(seen.values())
        self.keys: tuple[str, ...] = tuple(op.text for op in operands)
        self._render = _make_renderer(tokens)

    def text(self, values: ValueSource) -> str:
        return self._render(values.value)

    def plain_tokens(self) -> list[tuple[str, BoundField | None, int]] | None:
        """The format as ``(literal, None, 0)`` and ``("", field, width)`` tokens when it is made of
        plain fields only (no transformer; ``None`` otherwise)."""
        out: list[tuple[str, BoundField | None, int]] = []
        for token in self.tokens:
            op = token.operand
            if op is None:
                out.append((token.literal, None, 0))
            elif isinstance(op.node, ast.Field) and len(op.fields) == 1 and token.info is not None:
                out.append(("", op.fields[0], token.width))
            else:
                return None
        return out

    def column_renderer(self) -> Callable[[Sequence[Sequence[Any]]], list[str | None]] | None:
        """For a format of plain fields (no transformer): a renderer of a whole batch, given one
        column of values per field of :attr:`fields`, that gives the same lines as :meth:`line`
        (``None`` for other formats). Each token's texts are made for the whole column, then the
        lines are assembled by one ``str.format`` per line."""
        parts: list[str] = []
        columns: list[tuple[int, FieldInfo, int]] = []
        index = {id(f): i for i, f in enumerate(self.fields)}
        for token in self.tokens:
            op = token.operand
            if op is None:
                parts.append(token.literal.replace("{", "{{").replace("}", "}}"))
                continue
            if not isinstance(op.node, ast.Field) or len(op.fields) != 1 or token.info is None:
                return None
            parts.append("{}")
            columns.append((index[id(op.fields[0])], token.info, token.width))
        template = "".join(parts)
        require_all = self.require_all

        def render(values: Sequence[Sequence[Any]]) -> list[str | None]:
            texts = [_text_column(info, width, values[i]) for i, info, width in columns]
            if not texts:
                return [template.format()] * (len(values[0]) if values else 0)
            lines: list[str | None] = list(map(template.format, *texts))
            if require_all:
                for i, _, _ in columns:
                    for row, value in enumerate(values[i]):
                        if value is None:
                            lines[row] = None
            return lines

        return render

    def json_column_renderer(self) -> Callable[[Sequence[Sequence[Any]]], list[str | None]] | None:
        """As :meth:`column_renderer`, for ``--json``: the text of :meth:`json_line` for every row
        (``None`` for formats with transformers, and with the time-string fields that JSON writes
        as the event's timestamp)."""
        index = {id(f): i for i, f in enumerate(self.fields)}
        columns: dict[str, tuple[int, FieldInfo]] = {}  # a key printed twice keeps its last value, as a dict
        for token in self.tokens:
            op, info = token.operand, token.info
            if op is None:
                continue
            if not isinstance(op.node, ast.Field) or len(op.fields) != 1 or info is None:
                return None
            if info.owner == "evt" and info.name in JSON_TIMESTAMP_FIELDS:
                return None
            columns[op.text] = (index[id(op.fields[0])], info)
        keys = list(columns)
        printed = sorted({i for i, _ in columns.values()} | {index[id(t.operand.fields[0])] for t in self.tokens if t.operand})
        require_all = self.require_all

        def render(values: Sequence[Sequence[Any]]) -> list[str | None]:
            n = len(values[0]) if values else 0
            cells = [[render_json(info, v) for v in values[i]] for i, info in columns.values()]
            lines: list[str | None] = [json_object(dict(zip(keys, row))) for row in zip(*cells)] if cells else ["{}"] * n
            if require_all:
                for i in printed:
                    for row, value in enumerate(values[i]):
                        if value is None:
                            lines[row] = None
            return lines

        return render

    def render(self, getter: Callable[[Any], Any]) -> str:
        return self._render(getter)

    def complete(self, values: ValueSource) -> str | None:
        """libsinsp's behaviour without the leading ``*``: None when any value is missing."""
        getter = values.value
        if self.missing_value(getter):
            return None
        return self._render(getter)

    def line(self, values: ValueSource) -> str | None:
        """The text libsinsp's formatter prints for an event: ``None`` (nothing printed) when the
        format has no leading ``*`` and a value is missing, else :meth:`text` (``<NA>`` for it)."""
        return self.complete(values) if self.require_all else self.text(values)

    def json_line(self, values: ValueSource) -> dict[str, Any] | None:
        """:meth:`json_fields`, or ``None`` as :meth:`line` (libsinsp's ``-j`` drops the event too)."""
        if self.require_all and self.missing_value(values.value):
            return None
        return self.json_fields(values)

    def missing_value(self, getter: Callable[[Any], Any]) -> bool:
        return any(t.operand is not None and t.operand.get(getter) is None for t in self.tokens)

    def json_fields(self, values: ValueSource) -> dict[str, Any]:
        getter = values.value
        out: dict[str, Any] = {}
        for token in self.tokens:
            op = token.operand
            if op is None:
                continue
            if isinstance(op.node, ast.Field):
                info = token.info
                if info is not None and info.owner == "evt" and info.name in JSON_TIMESTAMP_FIELDS:
                    event = getattr(values, "event", None)  # libsinsp: the timestamp, in ns
                    if event is not None:
                        out[op.text] = event.ts
                        continue
                out[op.text] = render_json(info, op.get(getter))  # type: ignore[arg-type]
                continue
            for name, bf in op.raw_fields:
                out[name] = render_json(bf.info, getter(bf))
        return out


def json_object(fields: dict[str, Any]) -> str:
    """One compact JSON object, non-ASCII text as it is (orjson; the standard library for what
    orjson refuses: integers beyond 64 bits, lone surrogates)."""
    try:
        return orjson.dumps(fields).decode()
    except TypeError:
        return json.dumps(fields, separators=(",", ":"), ensure_ascii=False)


def compile_format(
    fmt: str,
    resolver: FieldResolver,
    bound: dict[tuple[str, str | None], BoundField] | None = None,
) -> OutputFormat:
    """Compile an output format for one source; raise FilterError (libsinsp's texts) when invalid."""
    if fmt == "":
        raise FilterError("empty formatting token")
    require_all = not fmt.startswith("*")
    body = fmt if require_all else fmt[1:]
    cache = bound if bound is not None else {}
    tokens: list[Token] = []
    literal_start = 0
    i = 0
    while i < len(body):
        if body[i] != "%":
            i += 1
            continue
        if i > literal_start:
            tokens.append(Token(literal=body[literal_start:i]))
        token, i = _field_token(body, i, resolver, cache)
        tokens.append(token)
        literal_start = i
    if literal_start < len(body):
        tokens.append(Token(literal=body[literal_start:]))
    return OutputFormat(fmt, tokens, require_all)


def _field_token(
    body: str, percent: int, resolver: FieldResolver, cache: dict[tuple[str, str | None], BoundField]
) -> tuple[Token, int]:
    if percent == len(body) - 1:
        raise FilterError("invalid formatting syntax: formatting cannot end with a %")
    start = percent + 1
    width = 0
    digits = _WIDTH.match(body, start)
    if digits is not None:
        if digits.end() == len(body):
            raise FilterError("invalid formatting syntax: formatting cannot end with a number")
        width = int(digits.group(0))
        start = digits.end()
    found = _longest_operand(body, start, resolver, cache)
    if found is None:
        token = re.match(r"[^\s%]*", body[start:])
        raise FilterError(f"unknown filter: {token.group(0) if token and token.group(0) else body[start:]}")
    operand, end = found
    info = (
        operand.raw_fields[0][1].info
        if isinstance(operand.node, ast.Field)
        else FieldInfo(name=operand.text, ftype=operand.typed.ftype, is_list=operand.typed.is_list)
    )
    return Token(operand=operand, width=width, info=info), end


def _longest_operand(
    body: str, start: int, resolver: FieldResolver, cache: dict[tuple[str, str | None], BoundField]
) -> tuple[CompiledOperand, int] | None:
    """The longest prefix of ``body[start:]`` that parses as an operand and compiles.

    The greedy parse is the longest syntactic candidate; only when it fails (syntax, unknown field,
    bad argument or type) are shorter prefixes tried, each one needing to parse completely.
    """
    limit = len(body)
    try:
        node, end = parse_operand(body, start)
    except FilterError as exc:
        limit = min(limit, exc.pos.idx + 1 if exc.pos is not None else limit)
    else:
        if isinstance(node, ast.Field) and node.arg is not None and resolver.has_field(node.name):
            # a known field with a bad argument: libsinsp reports the argument, not a shorter prefix
            return compile_operand(node, resolver, cache), end
        compiled = _try_compile(node, resolver, cache)
        if compiled is not None:
            return compiled, end
        if isinstance(node, ast.Field) and resolver.has_field(node.name):
            compile_operand(node, resolver, cache)  # raises the field's own error (a missing argument)
        limit = end - 1
    for end in range(limit, start, -1):
        if not _TOKEN_END.match(body, end - 1):
            continue
        try:
            node, parsed_end = parse_operand(body[:end], start)
        except FilterError:
            continue
        if parsed_end != end:
            continue
        compiled = _try_compile(node, resolver, cache)
        if compiled is not None:
            return compiled, end
    return None


def _try_compile(
    node: ast.Operand, resolver: FieldResolver, cache: dict[tuple[str, str | None], BoundField]
) -> CompiledOperand | None:
    try:
        return compile_operand(node, resolver, cache)
    except FilterError:
        return None


# Types whose text is not ``str(value)`` (see render._scalar_text); the others convert in one loop.
_SPECIAL_TEXT_TYPES = frozenset({FT_BOOL, FT_IPADDR, FT_IPNET, FT_BYTEBUF})


def _text_column(info: FieldInfo, width: int, column: Sequence[Any]) -> list[str]:
    if not info.is_list and info.ftype not in _SPECIAL_TEXT_TYPES and not is_padded(info):
        texts = [NA if v is None else str(v) for v in column]
    else:
        texts = [render_text(info, v) for v in column]
    if width:
        texts = [t.ljust(width)[:width] for t in texts]
    return texts


def _make_renderer(tokens: list[Token]) -> Callable[[Callable[[Any], Any]], str]:
    """One closure per token, joined: rendering an alert is a loop over precomputed parts."""
    parts: list[Callable[[Callable[[Any], Any]], str]] = []
    for token in tokens:
        if token.operand is None:
            parts.append(_literal(token.literal))
        else:
            parts.append(_value_part(token))

    def render(getter: Callable[[Any], Any]) -> str:
        return "".join([part(getter) for part in parts])

    return render


def _literal(text: str) -> Callable[[Callable[[Any], Any]], str]:
    return lambda getter: text


def _value_part(token: Token) -> Callable[[Callable[[Any], Any]], str]:
    get = token.operand.get  # type: ignore[union-attr]
    info = token.info
    width = token.width

    def part(getter: Callable[[Any], Any]) -> str:
        value = get(getter)
        text = NA if value is None else render_text(info, value)  # type: ignore[arg-type]
        return text.ljust(width)[:width] if width else text

    return part
