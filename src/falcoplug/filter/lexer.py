"""Tokens of the condition language: libsinsp's POSIX regexes and its position bookkeeping.

The lexer is a cursor over the input. Every ``lex_*`` method either consumes a token (stored in
``last``) and returns True, or leaves the cursor where it was and returns False, exactly like the
``lex_*`` helpers of libsinsp's ``filter/parser.cpp``; the parser's behaviour on odd inputs
(``x containsy``, ``a=1 oregon``) follows from keeping the same order of attempts.
"""

from __future__ import annotations

import re

from .errors import FilterError, Pos
from .escaping import unescape

# [[:space:]] in the POSIX classes; NUL is excluded everywhere because libsinsp reads C strings.
_SPACE = " \t\n\v\f\r"
BLANKS = frozenset(" \t\b\r\n")

RGX_NOT_BLANK = re.compile(r"not[ \t\n\v\f\r]+")
RGX_IDENTIFIER = re.compile(r"[a-zA-Z]+[a-zA-Z0-9_]*")
RGX_FIELD_NAME = re.compile(r"[a-zA-Z]+[a-zA-Z0-9_]*(?:\.[a-zA-Z]+[a-zA-Z0-9_]*)+")
RGX_FIELD_ARG_BARE = re.compile(r"[^\]\[\"'" + _SPACE + r"\x00]+")
RGX_HEX_NUM = re.compile(r"0[xX][0-9a-fA-F]+")
RGX_NUMBER = re.compile(r"[+\-]?[0-9]+\.?[0-9]*(?:[eE][+\-][0-9]+)?")
RGX_BARE_STR = re.compile(r"[^()\"'" + _SPACE + r"=,\x00]+")

UNARY_OPS = ("exists",)
NUM_OPS = ("<=", "<", ">=", ">")
# A trailing space means "a blank must follow" (the word operators).
STR_OPS = (
    "==",
    "=",
    "!=",
    "glob ",
    "iglob ",
    "contains ",
    "icontains ",
    "bcontains ",
    "startswith ",
    "bstartswith ",
    "endswith ",
    "regex ",
)
LIST_OPS = ("intersects", "in", "pmatch")
MODIFIERS = ("oneof", "anyof", "allof")
TRANSFORMERS = ("tolower(", "toupper(", "b64(", "basename(", "len(", "join(", "concat(", "getopt(")
VAL = "val("

SUPPORTED_OPERATORS = tuple(op.strip() for op in UNARY_OPS + NUM_OPS + STR_OPS + LIST_OPS)
SUPPORTED_TRANSFORMERS = ("val",) + tuple(t[:-1] for t in TRANSFORMERS)


def quoted_list(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Lexer:
    """A cursor with libsinsp's token helpers; ``idx``/``line``/``col`` follow ``update_pos``."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.size = len(text)
        self.idx = 0
        self.line = 1
        self.col = 1
        self.last = ""

    # --- position -------------------------------------------------------------------------
    def pos(self) -> Pos:
        return Pos(self.idx, self.line, self.col)

    def restore(self, pos: Pos) -> None:
        self.idx, self.line, self.col = pos.idx, pos.line, pos.col

    def _advance(self, count: int) -> None:
        # libsinsp's update_pos: each CR or LF starts a new line at column 1; counted per token with
        # str methods, since a character at a time made long conditions slow to lex.
        start, end = self.idx, self.idx + count
        text = self.text
        breaks = text.count("\n", start, end) + text.count("\r", start, end)
        if breaks:
            last = max(text.rfind("\n", start, end), text.rfind("\r", start, end))
            self.line += breaks
            self.col = end - last
        else:
            self.col += count
        self.idx = end

    def peek(self) -> str:
        return self.text[self.idx] if self.idx < self.size else ""

    def at_end(self) -> bool:
        return self.idx >= self.size

    def error(self, message: str) -> FilterError:
        return FilterError(message, self.pos())

    # --- token helpers --------------------------------------------------------------------
    def blank(self) -> bool:
        """Skip blanks (space, tab, backspace, CR, LF); the only helper that leaves ``last`` alone."""
        start = self.idx
        while self.idx < self.size and self.text[self.idx] in BLANKS:
            self._advance(1)
        return self.idx > start

    def string(self, token: str) -> bool:
        if self.text.startswith(token, self.idx):
            self.last = token
            self._advance(len(token))
            return True
        return False

    def any_string(self, tokens: tuple[str, ...]) -> bool:
        return any(self.string(t) for t in tokens)

    def regex(self, pattern: re.Pattern[str]) -> bool:
        match = pattern.match(self.text, self.idx)
        if match is None:
            return False
        self.last = match.group(0)
        self._advance(len(self.last))
        return True

    def operator(self, ops: tuple[str, ...]) -> bool:
        """libsinsp's ``lex_helper_operator_list``: a word operator must be followed by a blank.

        Quirk kept on purpose: when the word matches but no blank follows, the word is consumed
        and the helper still fails, so no later operator list is tried on it.
        """
        for op in ops:
            if not op.endswith(" "):
                if self.string(op):
                    return True
                continue
            if self.string(op.strip()):
                return self.blank()
        return False

    def quoted(self) -> bool:
        """A ``"…"`` or ``'…'`` string, ended by the first delimiter not preceded by a backslash."""
        start = self.idx
        if start >= self.size or self.text[start] not in "\"'":
            return False
        delimiter = self.text[start]
        prev = "\\"
        i = start
        while i < self.size and self.text[i] != "\x00":
            ch = self.text[i]
            if ch == delimiter and prev != "\\":
                token = self.text[start : i + 1]
                self._advance(i + 1 - start)
                self.last = unescape_at(token, self)
                return True
            prev = ch
            i += 1
        return False

    def identifier(self) -> bool:
        return self.regex(RGX_IDENTIFIER)

    def field_name(self) -> bool:
        return self.regex(RGX_FIELD_NAME)

    def number(self) -> bool:
        return self.regex(RGX_HEX_NUM) or self.regex(RGX_NUMBER)

    def bare_string(self) -> bool:
        return self.regex(RGX_BARE_STR)

    def field_arg_bare(self) -> bool:
        return self.regex(RGX_FIELD_ARG_BARE)


def unescape_at(token: str, lexer: Lexer) -> str:
    try:
        return unescape(token)
    except FilterError as exc:
        raise lexer.error(exc.message) from None
