"""Quoted strings as libsinsp reads (``unescape_str``) and writes (``escape_str``) them."""

from __future__ import annotations

from .errors import FilterError

_UNESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "\\": "\\", "/": "/", " ": "\\"}

# escape_str: these characters make the printer quote the value; most are also escaped.
_ESCAPES = {"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\", '"': '\\"'}
_QUOTE_TRIGGERS = frozenset(_ESCAPES) | {" ", "'", "="}
# Characters that end a bare string: libsinsp's printer leaves them bare, so its output does not
# always parse back; quoting them too makes every printed condition re-parse to the same AST.
_BARE_BREAKERS = frozenset("(),\v\x00")


def unescape(token: str) -> str:
    """Decode a quoted token (delimiters included) into its value.

    Only ``\\b \\f \\n \\r \\t \\\\ \\/`` and the escaped delimiter itself are valid; ``\\ `` (a
    backslash before a space) gives one backslash and drops the space, a legacy quirk libsinsp keeps
    for old rules. ``\\xHH`` exists only on libs main, so it is rejected here like any other escape.
    """
    delimiter = token[0]
    out: list[str] = []
    escaped = False
    for ch in token[1:-1]:
        if not escaped:
            if ch == "\\":
                escaped = True
            else:
                out.append(ch)
            continue
        escaped = False
        if ch in _UNESCAPES:
            out.append(_UNESCAPES[ch])
        elif ch == '"':
            if delimiter != '"':
                raise FilterError("invalid \\\" escape in '-quoted string")
            out.append(ch)
        elif ch == "'":
            if delimiter != "'":
                raise FilterError("invalid \\' escape in \"-quoted string")
            out.append(ch)
        else:
            raise FilterError(f"unsupported string escape sequence: \\{ch}")
    return "".join(out)


def needs_quotes(value: str) -> bool:
    return not value or any(ch in _QUOTE_TRIGGERS or ch in _BARE_BREAKERS for ch in value)


def escape(value: str) -> str:
    """The printer's form of a value: as is, or double-quoted when it has a blank, quote or ``\\``
    (as ``escape_str`` does), and also when it is empty or has ``= ( ) ,`` (so that it re-parses).
    """
    if not needs_quotes(value):
        return value
    body = "".join(_ESCAPES.get(ch, ch) for ch in value)
    if body.endswith("\\"):
        # the lexer would take the closing quote as escaped after "\\": use the legacy "\ " form
        body = body[:-1] + " "
    return '"' + body + '"'
