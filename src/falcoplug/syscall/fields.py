"""Field references of the ``syscall`` source resolved with libsinsp's rules.

libsinsp tries its filtercheck classes in order; a class takes the longest of its field names that
the reference starts with, and the field parses what follows (``[arg]``, ``.name``...); the whole
reference must be consumed. The messages are libsinsp's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..errors import FieldError
from ..filter.fields import FT_STRING, FieldInfo
from . import extract
from .catalogue import PPM_EVENT_MAX, event_table, field_classes, longest_param_name, param_info_by_name
from .extract import Getter

_INDEX_FIELDS = frozenset(
    {"proc.aname", "proc.aexe", "proc.aexepath", "proc.acmdline", "proc.apid", "proc.aargs", "fd.types"}
)
_S32 = re.compile(r"[ \t\n\v\f\r]*[+-]?[0-9]+")


class SyscallFieldError(FieldError, LookupError):
    """A reference libsinsp refuses (unknown field, bad argument)."""


@dataclass(frozen=True, slots=True)
class SyscallRef:
    """A resolved syscall field: its definition (typed for this use), as written, and its getter."""

    info: FieldInfo
    text: str
    arg: str | None
    get: Getter


def _nonexistent(text: str) -> SyscallFieldError:
    return SyscallFieldError(f"filter_check called with nonexistent field {text}")


def _syntax(text: str) -> SyscallFieldError:
    return SyscallFieldError(f"filter syntax error: {text}")


def _longest(text: str) -> FieldInfo | None:
    """The first class (in libsinsp's order) with a field name ``text`` starts with; its longest."""
    for cls in field_classes():
        if "FL_GENERIC" in cls.flags:
            continue  # the generic evt fields are every source's (the framework's own)
        best = None
        for info in cls.fields:
            if text.startswith(info.name) and (best is None or len(info.name) > len(best.name)):
                best = info
        if best is not None:
            return best
    return None


def _parse_s32(text: str) -> int:
    if _S32.fullmatch(text) is None:
        raise SyscallFieldError(f"{text} is not a valid number")
    return int(text)


def resolve(name: str, arg: str | None) -> SyscallRef:
    """Resolve ``name`` (and the ``[arg]`` written after it) or raise :class:`SyscallFieldError`."""
    text = name if arg is None else f"{name}[{arg}]"
    info = _longest(text)
    if info is None:
        raise _nonexistent(text)
    rest = text[len(info.name) :]
    special = _SPECIAL.get(info.name)
    if special is not None:
        return special(info, text, rest)
    if info.arg_required or info.arg_key:
        return _with_arg(info, text, rest)
    if rest:
        raise _nonexistent(text)
    return SyscallRef(info, text, None, extract.GETTERS.get(info.name, extract.no_value))


def _with_arg(info: FieldInfo, text: str, rest: str) -> SyscallRef:
    """libsinsp's generic argument: ``[...]`` (an index for the ancestor fields), or ``.name``."""
    value: str | None = None
    if info.name == "thread.cgroup":  # the subsystem comes after a dot only
        if not rest.startswith(".") or len(rest) < 2:
            raise _syntax(text)
        value = rest[1:]
    elif rest.startswith("[") and rest.endswith("]"):
        value = rest[1:-1]
        if info.name in _INDEX_FIELDS and not (value.isascii() and value.isdigit()):
            raise _nonexistent(text)
    elif rest:
        raise _nonexistent(text)
    if value is None and info.arg_required:
        raise _syntax(text)
    return SyscallRef(info, text, value, extract.no_value)


def _evt_arg(info: FieldInfo, text: str, rest: str) -> SyscallRef:
    if text.startswith("evt.args"):
        if text != "evt.args":
            raise _nonexistent(text)
        return SyscallRef(info, text, None, extract.GETTERS["evt.args"])
    raw = info.name == "evt.rawarg"
    if rest.startswith("["):
        if raw:
            raise SyscallFieldError("evt.arg fields must be expressed explicitly")
        end = rest.find("]")
        index = _parse_s32(rest[1:end] if end >= 0 else rest[1:])
        if end < 0 or end != len(rest) - 1:
            raise _nonexistent(text)
        return SyscallRef(info, text, rest[1:end], extract.arg_by_index(index))
    if rest.startswith("."):
        pname = longest_param_name(rest[1:])
        if pname is None:
            raise SyscallFieldError(f"unknown event argument {rest[1:]}")
        if len(pname) != len(rest) - 1:
            raise _nonexistent(text)
        typed = info
        if raw:
            param = param_info_by_name(pname)
            typed = replace(info, ftype=param.ptype if param is not None else FT_STRING)
        return SyscallRef(typed, text, pname, extract.arg_by_name(pname, raw))
    raise _syntax(text)


def _type_is(info: FieldInfo, text: str, rest: str) -> SyscallRef:
    if not rest.startswith("."):
        raise _syntax(text)
    name = rest[1:]
    if name.isascii() and name.isdigit():
        code = int(name)
        return SyscallRef(info, text, name, extract.type_is(frozenset({code})))
    for event in event_table().events[:PPM_EVENT_MAX]:
        if event.name == name:
            return SyscallRef(info, text, name, extract.type_is(frozenset({event.code, event.code + 1})))
    raise _nonexistent(text)


def _around(info: FieldInfo, text: str, rest: str) -> SyscallRef:
    if rest.startswith("["):
        end = rest.find("]")
        if end != len(rest) - 1:
            raise _nonexistent(text)
        return SyscallRef(info, text, rest[1:end], extract.no_value)
    if rest.startswith("."):
        raise SyscallFieldError("wrong syntax for evt.around")
    raise _syntax(text)


def _abspath(info: FieldInfo, text: str, rest: str) -> SyscallRef:
    if rest not in ("", ".src", ".dst"):
        raise _nonexistent(text)
    return SyscallRef(info, text, rest[1:] or None, extract.no_value)


_SPECIAL = {
    "evt.arg": _evt_arg,
    "evt.args": _evt_arg,
    "evt.rawarg": _evt_arg,
    "evt.type.is": _type_is,
    "evt.around": _around,
    "evt.abspath": _abspath,
}
