"""Which operators each field type accepts (libsinsp's ``flt_is_comparable``) and their spellings."""

from __future__ import annotations

import socket
from typing import Any

from .errors import FilterError
from .fields import FT_ABSTIME, FT_BOOL, FT_BYTEBUF, FT_IPADDR, FT_IPNET, FT_RELTIME, FT_STRING, FT_UINT64
from .transformers import Typed, type_code
from .values import parse_value

LIST_OPERATORS = frozenset({"in", "intersects", "pmatch"})
MODIFIABLE = frozenset(
    {
        "=",
        "!=",
        "contains",
        "icontains",
        "bcontains",
        "startswith",
        "bstartswith",
        "endswith",
        "glob",
        "iglob",
        "regex",
    }
)

_NUMERIC_OPS = frozenset({"=", "!=", "<", "<=", ">", ">=", "in", "intersects", "exists"})
_BOOL_OPS = frozenset({"=", "!=", "in", "intersects", "exists"})
_STRING_OPS = frozenset(
    {
        "=",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "contains",
        "in",
        "exists",
        "icontains",
        "startswith",
        "glob",
        "pmatch",
        "endswith",
        "intersects",
        "iglob",
        "regex",
    }
)
_BUFFER_OPS = frozenset(
    {
        "=",
        "!=",
        "contains",
        "in",
        "exists",
        "startswith",
        "endswith",
        "intersects",
        "bcontains",
        "bstartswith",
    }
)
_IP_OPS = frozenset({"=", "!=", "in", "exists", "intersects"})
_LIST_OPS = frozenset({"in", "exists", "intersects"})

# libscap's other numeric parameter types (INT8..UINT32, ERRNO, FD, PID, SYSCALLID, SIGTYPE, PORT,
# FLAGS*, DOUBLE, MODE, ENUMFLAGS*): the syscall fields use some of them.
SIGNED_TYPES = frozenset({1, 2, 3, 4, 11, 14, 15})
UNSIGNED_WIDTH = {5: 8, 6: 16, 7: 32, 18: 16, 19: 8, 22: 16, 28: 8, 29: 16, 30: 32, 42: 32, 44: 8, 45: 16, 46: 32}
FT_DOUBLE = 33
PATH_TYPES = frozenset({17, 43})  # FSPATH, FSRELPATH: compared as strings
_LIST_TYPES = frozenset({FT_STRING, FT_UINT64, FT_RELTIME, FT_ABSTIME, FT_BOOL, FT_IPADDR, FT_IPNET})

_BY_TYPE = {
    **{t: (_NUMERIC_OPS, "numeric") for t in (*SIGNED_TYPES, *UNSIGNED_WIDTH, FT_DOUBLE)},
    **{t: (_STRING_OPS, "string") for t in PATH_TYPES},
    **{t: (_IP_OPS, "ip address and network") for t in (26, 37, 38, 39)},
    FT_UINT64: (_NUMERIC_OPS, "numeric"),
    FT_RELTIME: (_NUMERIC_OPS, "numeric"),
    FT_ABSTIME: (_NUMERIC_OPS, "numeric"),
    FT_BOOL: (_BOOL_OPS, "numeric"),  # sic: libsinsp reuses the numeric wording for bool
    FT_STRING: (_STRING_OPS, "string"),
    FT_BYTEBUF: (_BUFFER_OPS, "buffer"),
    FT_IPADDR: (_IP_OPS, "ip address and network"),
    FT_IPNET: (_IP_OPS, "ip address and network"),
}


def canonical(op: str) -> str:
    return "=" if op == "==" else op


def check_comparable(op: str, typed: Typed) -> None:
    """Raise libsinsp's compile error when ``op`` cannot apply to a value of this type."""
    op = canonical(op)
    if op == "exists":
        return
    if typed.is_list:
        if typed.ftype not in _LIST_TYPES:
            raise FilterError(f"filter error: list filters are not supported for type '{type_code(typed.ftype)}'")
        if op not in _LIST_OPS:
            raise FilterError(f"filter error: '{op}' operator not supported list filters")
        return
    allowed, kind = _BY_TYPE.get(typed.ftype, (frozenset(), ""))
    if not kind:
        raise FilterError(f"filter error: '{op}' operator not supported for type '{type_code(typed.ftype)}'")
    if op not in allowed:
        raise FilterError(f"filter error: '{op}' operator not supported for {kind} filters")


def is_operator(text: str) -> bool:
    """An operator Falco accepts in exception ``comps``: a plain one, or a string op with a modifier."""
    from .lexer import MODIFIERS, SUPPORTED_OPERATORS

    if text in SUPPORTED_OPERATORS:
        return True
    base, _, modifier = text.partition(" ")
    return modifier in MODIFIERS and canonical(base) in MODIFIABLE


def _sscanf_int(text: str) -> int:
    """``sscanf("%d%c")``-style: optional white space and sign, decimal digits, nothing after."""
    stripped = text.lstrip(" \t\n\v\f\r")
    body = stripped[1:] if stripped[:1] in ("+", "-") else stripped
    if not body or not (body.isascii() and body.isdigit()):
        raise FilterError(f"{text} is not a valid number")
    return int(stripped)


def _port(text: str) -> int:
    """A port number, or a service name resolved as libsinsp does (``getservbyname``)."""
    if text[:1].isdigit():
        return _sscanf_int(text) & 0xFFFF
    try:
        return socket.getservbyname(text)
    except OSError:
        raise FilterError(f"unrecognized protocol {text}") from None


def parse_constant(text: str, ftype: int, op: str) -> Any:
    """A right-hand side constant parsed by the left-hand side's type (libsinsp's
    ``string_to_rawval``): the plugin types, and the syscall fields' other libscap types."""
    if ftype in SIGNED_TYPES:
        return _sscanf_int(text)
    if ftype == 22:
        return _port(text)
    width = UNSIGNED_WIDTH.get(ftype)
    if width is not None:
        return _sscanf_int(text) & ((1 << width) - 1)
    if ftype == FT_DOUBLE:
        return _sscanf_int(text)
    if ftype in PATH_TYPES:
        return text
    return parse_value(text, ftype, op)
