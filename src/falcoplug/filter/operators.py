"""Which operators each field type accepts (libsinsp's ``flt_is_comparable``) and their spellings."""

from __future__ import annotations

from .errors import FilterError
from .fields import FT_ABSTIME, FT_BOOL, FT_BYTEBUF, FT_IPADDR, FT_IPNET, FT_RELTIME, FT_STRING, FT_UINT64
from .transformers import Typed, type_code

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

_BY_TYPE = {
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
