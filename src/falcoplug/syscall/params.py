"""Syscall event parameters decoded with the event table, and written as libsinsp writes them.

``raw_value`` is what ``evt.rawarg.NAME`` gives (typed numbers, strings); ``param_text`` is what
``evt.arg`` and ``evt.args`` print (``sinsp_evt::get_param_as_str``): the plain text, and the
"resolved" text libsinsp adds for errno values, flags and modes.
"""

from __future__ import annotations

import errno
import ipaddress
import struct
from typing import Any

from ..events import Event, decode_params
from .catalogue import EventInfo, ParamInfo, event_table

_INT = {1: "<b", 2: "<h", 3: "<i", 4: "<q", 11: "<q", 14: "<q", 15: "<q", 47: "<i", 48: "<i"}
_UINT = {5: "<B", 6: "<H", 7: "<I", 8: "<Q", 18: "<H", 19: "<B", 20: "<Q", 21: "<Q", 22: "<H",
         23: "<B", 24: "<B", 25: "<I", 28: "<B", 29: "<H", 30: "<I", 31: "<I", 32: "<I", 42: "<I",
         44: "<B", 45: "<H", 46: "<I", 34: "<I"}  # fmt: skip
_STRINGS = frozenset({9, 17, 43})  # CHARBUF, FSPATH, FSRELPATH
_FLAGS = frozenset({28, 29, 30})
_ENUMFLAGS = frozenset({44, 45, 46})
PT_ERRNO, PT_FD, PT_MODE, PT_DOUBLE, PT_BYTEBUF, PT_IPV4ADDR = 11, 14, 42, 33, 10, 26


def event_info(event: Event) -> EventInfo | None:
    return event_table().event(event.type)


def params_of(event: Event) -> list[bytes]:
    return decode_params(event.buf, event.offset)


def raw_value(info: ParamInfo, data: bytes) -> Any:
    """The typed value of one parameter (``None`` for an empty one)."""
    if not data:
        return None
    t = info.ptype
    fmt = _INT.get(t) or _UINT.get(t)
    if fmt is not None:
        size = struct.calcsize(fmt)
        if len(data) < size:
            return None
        return struct.unpack_from(fmt, data)[0]
    if t in _STRINGS:
        return data.split(b"\0", 1)[0].decode("utf-8", "replace")
    if t == PT_DOUBLE and len(data) >= 8:
        return struct.unpack_from("<d", data)[0]
    if t == PT_IPV4ADDR and len(data) >= 4:
        return ipaddress.IPv4Address(data[:4])
    return bytes(data)


def _number_text(info: ParamInfo, value: int) -> str:
    if info.fmt == "PF_HEX":
        return f"{value:X}"
    if info.fmt == "PF_OCT":
        return f"{value:o}"
    return str(value)


def errno_name(value: int) -> str:
    """``sinsp_utils::errno_to_str`` for a negative return value (``ENOENT``...), else ""."""
    return errno.errorcode.get(-value, "") if value < 0 else ""


def _flags_text(info: ParamInfo, value: int, exact: bool) -> str:
    """libsinsp's flag names of a FLAGS/ENUMFLAGS value, joined with ``|``."""
    table = event_table().value_tables.get(info.values_table or "", [])
    names: list[str] = []
    remaining = value
    for name, flag in table:
        if exact:
            if flag == value:
                return name
            continue
        if (flag == 0 and value == 0) or (flag != 0 and remaining & flag == flag and remaining != 0):
            names.append(name)
            remaining &= ~flag
    return "|".join(names)


def param_text(info: ParamInfo, data: bytes) -> tuple[str, str]:
    """``(text, resolved)`` for one parameter, as ``get_param_as_str`` gives them.

    File descriptors need libsinsp's fd table to be written (``3(<f>/tmp/x)``); without that
    state machine libsinsp writes nothing for them, and so does this.
    """
    if not data:
        return "", ""
    value = raw_value(info, data)
    t = info.ptype
    if t == PT_FD:
        return "", ""
    if t == PT_ERRNO:
        return str(value), errno_name(value)
    if t in _FLAGS or t in _ENUMFLAGS:
        return _number_text(info, value), _flags_text(info, value, t in _ENUMFLAGS)
    if t == PT_MODE:
        return _number_text(info, value), _flags_text(info, value, False)
    if isinstance(value, bool) or value is None:
        return "", ""
    if isinstance(value, int):
        return _number_text(info, value), ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace"), ""
    return str(value), ""


def arg_text(info: ParamInfo, data: bytes) -> str:
    """``evt.arg``: the resolved text when there is one, else the plain text."""
    text, resolved = param_text(info, data)
    return resolved or text


def args_text(einfo: EventInfo, params: list[bytes]) -> str:
    """``evt.args``: ``name=text`` (``name=text(resolved)``) for every parameter, space separated."""
    parts = []
    for info, data in zip(einfo.params, params):
        text, resolved = param_text(info, data)
        parts.append(f"{info.name}={text}({resolved})" if resolved else f"{info.name}={text}")
    return " ".join(parts)
