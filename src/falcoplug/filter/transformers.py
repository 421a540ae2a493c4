"""Field transformers: their type rules (checked at compile time) and their runtime functions.

Every runtime function takes extracted values (``None`` = no value) and returns ``None`` when the
transformation fails, which makes the whole check false, as a failed extraction does in libsinsp.
Single-value transformers apply element-wise to list fields; ``len`` of a list is its size.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import FilterError
from .fields import FT_BYTEBUF, FT_STRING, FT_UINT64
from .matching import ascii_lower, ascii_upper

TYPE_CODES = {
    8: "UINT64",
    9: "CHARBUF",
    10: "BYTEBUF",
    20: "RELTIME",
    21: "ABSTIME",
    25: "BOOL",
    40: "IPADDR",
    41: "IPNET",
}

SINGLE = ("tolower", "toupper", "b64", "basename", "len")
MULTI = ("join", "concat", "getopt")


def type_code(ftype: int) -> str:
    """libsinsp's ``param_type_to_string`` spelling of a field type."""
    return TYPE_CODES.get(ftype, str(ftype))


@dataclass(frozen=True, slots=True)
class Typed:
    """The type of a value at compile time."""

    ftype: int
    is_list: bool

    def describe(self) -> str:
        return f"LIST({type_code(self.ftype)})" if self.is_list else type_code(self.ftype)


# --- runtime ------------------------------------------------------------------------------------
def _elementwise(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def apply(value: Any) -> Any:
        if value is None:
            return None
        if type(value) is list:
            out = [fn(v) for v in value]
            return None if any(v is None for v in out) else out
        return fn(value)

    apply.__name__ = fn.__name__
    return apply


def _b64(value: Any) -> Any:
    raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")
    try:
        decoded = binascii.a2b_base64(raw, strict_mode=True)
    except (binascii.Error, ValueError):
        return None
    return decoded if isinstance(value, bytes) else decoded.decode("utf-8", "surrogateescape")


def _basename(value: str) -> str:
    return value[value.rfind("/") + 1 :]


def _strlen(value: Any) -> int:
    if isinstance(value, str) and not value.isascii():
        return len(value.encode("utf-8", "surrogateescape"))  # strlen counts bytes
    return len(value)


def t_len(value: Any) -> int | None:
    if value is None:
        return None
    if type(value) is list:
        return len(value) or None  # an empty list is a failed extraction: no value
    return _strlen(value)


t_tolower = _elementwise(ascii_lower)
t_toupper = _elementwise(ascii_upper)
t_b64 = _elementwise(_b64)
t_basename = _elementwise(_basename)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def t_join(sep: Any, values: Any) -> str | None:
    if sep is None or not values:
        return None
    return _text(sep).join(_text(v) for v in values)


def t_concat(*parts: Any) -> str | None:
    if any(p is None for p in parts):
        return None
    return "".join(_text(p) for p in parts)


def t_list(*items: Any) -> list[Any] | None:
    """A transformer list ``(a, b, ...)``: the values present, flattened."""
    out: list[Any] = []
    for item in items:
        if item is None:
            continue
        if type(item) is list:
            out.extend(item)
        else:
            out.append(item)
    return out or None


def parse_optstring(optstring: str) -> tuple[frozenset[str], frozenset[str]]:
    """getopt(3)'s option string: the valid options and those taking an argument."""
    valid: set[str] = set()
    with_args: set[str] = set()
    i = 1 if optstring.startswith(":") else 0
    while i < len(optstring):
        opt = optstring[i]
        if opt != ":":
            valid.add(opt)
            if i + 1 < len(optstring) and optstring[i + 1] == ":":
                with_args.add(opt)
                i += 1
        i += 1
    return frozenset(valid), frozenset(with_args)


def getopt_scan(
    args: Sequence[str], valid: frozenset[str], with_args: frozenset[str], selector: str | None
) -> Any:
    """Scan argv like getopt(3): options (and their arguments) in list mode, or the last value of
    the selected option (``getopt(...)[t]``); ``?`` for unknown options, ``""`` for a missing argument."""
    results: list[str] = []
    selected: str | None = None
    idx = 0
    while idx < len(args):
        arg = args[idx]
        if arg == "--":
            break
        if len(arg) > 2 and arg.startswith("--"):
            idx += 1
            continue
        if len(arg) < 2 or arg[0] != "-":
            break
        for i in range(1, len(arg)):
            opt = arg[i]
            if opt == ":" or opt not in valid:
                if selector is None:
                    results.append("?")
                continue
            match = selector is None or opt == selector
            if opt not in with_args:
                if match:
                    if selector is None:
                        results.append(opt)
                    else:
                        selected = opt
                continue
            if i + 1 < len(arg):
                value: str | None = arg[i + 1 :]
            elif idx + 1 < len(args):
                idx += 1
                value = args[idx]
            else:
                value = None
            if match:
                if selector is not None:
                    selected = "" if value is None else value
                elif value is None:
                    results.append("")
                else:
                    results.extend((opt, value))
            break
        idx += 1
    if selector is not None:
        return selected
    return results


def make_getopt(optstring: str | None, selector: str | None) -> Callable[..., Any]:
    """The runtime of ``getopt(args, optstring)[selector]``; a constant optstring is parsed once."""
    constant = parse_optstring(optstring) if optstring is not None else None

    def t_getopt(args: Any, dynamic_optstring: Any = None) -> Any:
        if not args:
            return None
        if constant is not None:
            valid, with_args = constant
        elif dynamic_optstring is None:
            return None
        else:
            valid, with_args = parse_optstring(_text(dynamic_optstring))
        return getopt_scan([_text(a) for a in args], valid, with_args, selector)

    return t_getopt


RUNTIME: dict[str, Callable[..., Any]] = {
    "tolower": t_tolower,
    "toupper": t_toupper,
    "b64": t_b64,
    "basename": t_basename,
    "len": t_len,
    "join": t_join,
    "concat": t_concat,
}


# --- compile-time type rules --------------------------------------------------------------------
def _unsupported(t: Typed, name: str) -> FilterError:
    return FilterError(
        f"can't add field transformer: type '{type_code(t.ftype)}' is not supported by '{name}'"
    )


def single_result(name: str, arg: Typed) -> Typed:
    """The type ``name(arg)`` produces, or the libsinsp error when ``arg``'s type is not supported."""
    if name in ("tolower", "toupper", "basename"):
        if arg.ftype != FT_STRING:
            raise _unsupported(arg, name)
        return arg
    if name == "b64":
        if arg.ftype not in (FT_STRING, FT_BYTEBUF):
            raise _unsupported(arg, name)
        return arg
    if name == "len":
        if not arg.is_list and arg.ftype not in (FT_STRING, FT_BYTEBUF):
            raise _unsupported(arg, name)
        return Typed(FT_UINT64, False)
    raise FilterError(f"filter error: unknown field transformer '{name}'")


def join_result(args: Sequence[Typed]) -> Typed:
    if len(args) != 2:
        raise FilterError("join() requires exactly 2 arguments: separator and list")
    if args[0].is_list:
        raise FilterError("join() first argument (separator) must be a single value, not a list")
    if not args[1].is_list:
        raise FilterError("join() second argument must be a list")
    return Typed(FT_STRING, False)


def concat_result(args: Sequence[Typed]) -> Typed:
    if len(args) < 2:
        raise FilterError("concat() requires at least 2 arguments")
    if any(a.ftype != FT_STRING or a.is_list for a in args):
        raise FilterError("concat() arguments must be strings")
    return Typed(FT_STRING, False)


def getopt_result(args: Sequence[Typed], selector: str | None) -> Typed:
    if len(args) != 2:
        raise FilterError("getopt() requires exactly 2 arguments: args list and optstring")
    if not args[0].is_list:
        raise FilterError("getopt() first argument must be a list")
    if args[1].is_list:
        raise FilterError("getopt() second argument (optstring) must be a single value")
    if args[0].ftype != FT_STRING or args[1].ftype != FT_STRING:
        raise FilterError("getopt() arguments must be strings")
    if selector is not None and len(selector) != 1:
        raise FilterError("getopt() field argument must be a single option character")
    return Typed(FT_STRING, selector is None)
