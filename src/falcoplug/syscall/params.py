"""Syscall event parameters decoded with the event table, and written as libsinsp writes them.

``raw_value`` is what ``evt.rawarg.NAME`` gives (typed numbers, strings); ``param_text`` is what
``evt.arg`` and ``evt.args`` print (``sinsp_evt::get_param_as_str``): the plain text, and the
"resolved" text libsinsp adds for errno values, flags and modes.
"""

from __future__ import annotations

import errno
import ipaddress
import signal
import struct
from typing import Any

from ..events import HEADER_LEN, LARGE_PAYLOAD_TYPES, Event, decode_params
from .catalogue import EventInfo, ParamInfo, event_table

_INT = {1: "<b", 2: "<h", 3: "<i", 4: "<q", 11: "<q", 14: "<q", 15: "<q", 47: "<i", 48: "<i"}
_UINT = {5: "<B", 6: "<H", 7: "<I", 8: "<Q", 18: "<H", 19: "<B", 20: "<Q", 21: "<Q", 22: "<H",
         23: "<B", 24: "<B", 25: "<I", 28: "<B", 29: "<H", 30: "<I", 31: "<I", 32: "<I", 42: "<I",
         44: "<B", 45: "<H", 46: "<I", 34: "<I"}  # fmt: skip
_STRINGS = frozenset({9, 17, 43})  # CHARBUF, FSPATH, FSRELPATH
_FLAGS = frozenset({28, 29, 30})
_ENUMFLAGS = frozenset({44, 45, 46})
PT_ERRNO, PT_FD, PT_MODE, PT_DOUBLE, PT_BYTEBUF, PT_IPV4ADDR = 11, 14, 42, 33, 10, 26
PT_SYSCALLID, PT_SIGTYPE, PT_RELTIME, PT_UID, PT_GID = 18, 19, 20, 31, 32
PPM_AT_FDCWD = -100


_HEAD = struct.Struct("<IHI")  # len, type, nparams (at offset 16 of the header)


def event_info(event: Event) -> EventInfo | None:
    events = event_table().events
    t = event.type
    return events[t] if t < len(events) else None


def params_of(event: Event) -> list[bytes]:
    return decode_params(event.buf, event.offset)


def param_bytes(event: Event, index: int) -> bytes | None:
    """One parameter's bytes, without decoding the others (``None`` when the event has fewer)."""
    buf, off = event.buf, event.offset
    length, etype, nparams = _HEAD.unpack_from(buf, off + 16)
    if index >= nparams:
        return None
    code = "I" if etype in LARGE_PAYLOAD_TYPES else "H"
    lens = struct.unpack_from(f"<{index + 1}{code}", buf, off + HEADER_LEN)
    start = off + HEADER_LEN + struct.calcsize(code) * nparams + sum(lens[:index])
    end = start + lens[index]
    if end > off + length:
        return None
    return bytes(buf[start:end])


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
    """printf's ``%X`` for PF_HEX, ``%#o`` for PF_OCT, decimal otherwise."""
    if info.fmt == "PF_HEX":
        return f"{value:X}"
    if info.fmt == "PF_OCT":
        return f"0{value:o}" if value else "0"
    return str(value)


def errno_name(value: int) -> str:
    """``sinsp_utils::errno_to_str`` for a negative return value (``ENOENT``...), else ""."""
    return errno.errorcode.get(-value, "") if value < 0 else ""


def _flags_text(info: ParamInfo, value: int, exact: bool) -> str:
    """libsinsp's flag names of a FLAGS/ENUMFLAGS/MODE value, joined with ``|``: the table is
    walked in order, each contained flag taken out of the value, until a flag equal to the whole
    value, which is named last."""
    table = event_table().value_tables.get(info.values_table or "", [])
    names: list[str] = []
    remaining = value
    for name, flag in table:
        if flag == value:
            names.append(name)
            break
        if exact:
            continue
        if (flag == 0 and value == 0) or (flag != 0 and remaining & flag == flag and remaining != 0):
            names.append(name)
            remaining &= ~flag
    return "|".join(names)


def _fd_text(value: int, creates: bool) -> tuple[str, str]:
    """A file descriptor: a negative one is an errno (or AT_FDCWD); the descriptor an event
    creates is written from libsinsp's fd table, which falcoplug does not keep (nothing)."""
    if value < 0:
        return str(value), "AT_FDCWD" if value == PPM_AT_FDCWD else errno_name(value)
    return ("", "") if creates else (str(value), "")


def param_text(info: ParamInfo, data: bytes, creates_fd: bool = False) -> tuple[str, str]:
    """``(text, resolved)`` for one parameter, as ``get_param_as_str`` gives them.

    ``creates_fd``: the parameter is the descriptor the event creates (see :func:`_fd_text`).
    """
    if not data:
        return "", ""
    value = raw_value(info, data)
    t = info.ptype
    if t == PT_FD:
        return _fd_text(value, creates_fd)
    if t == PT_ERRNO:
        return str(value), errno_name(value)
    if t in _FLAGS or t in _ENUMFLAGS:  # flags are written in decimal, whatever the print format
        return str(value), _flags_text(info, value, t in _ENUMFLAGS)
    if t == PT_MODE:
        return _number_text(info, value), _flags_text(info, value, False)
    if t == PT_SYSCALLID:
        return str(value), event_table().syscalls.get(value, "<unknown syscall>")
    if t == PT_SIGTYPE:
        return str(value), _signal_name(value)
    if t == PT_RELTIME:
        return str(value), f"{value / 1e9:g}s"
    if t in (PT_UID, PT_GID):
        return str(value), "<NA>"
    if isinstance(value, bool) or value is None:
        return "", ""
    if isinstance(value, int):
        return _number_text(info, value), ""
    if isinstance(value, bytes):  # libsinsp's normal buffer format: unprintable bytes as dots
        return "".join(chr(b) if 32 <= b < 127 else "." for b in value), ""
    return str(value), ""


def _signal_name(value: int) -> str:
    try:
        return signal.Signals(value).name
    except ValueError:
        return ""


def creates_fd(einfo: EventInfo, index: int) -> bool:
    """Whether parameter ``index`` is the descriptor the event returns (open, socket, ...)."""
    return index == 0 and "EF_CREATES_FD" in einfo.flags and einfo.direction == "X"


def arg_text(einfo: EventInfo, index: int, data: bytes) -> str:
    """``evt.arg``: the resolved text when there is one, else the plain text."""
    text, resolved = param_text(einfo.params[index], data, creates_fd(einfo, index))
    return resolved or text


def args_text(einfo: EventInfo, params: list[bytes]) -> str:
    """``evt.args``: ``name=text`` (``name=text(resolved)``) for every parameter, space separated.

    libsinsp writes no argument list at all for an event that created a descriptor it cannot
    describe (without its fd table), and neither does this.
    """
    parts = []
    for index, (info, data) in enumerate(zip(einfo.params, params)):
        if creates_fd(einfo, index) and info.ptype == PT_FD and raw_value(info, data) is not None:
            if raw_value(info, data) >= 0:
                return ""
        text, resolved = param_text(info, data, creates_fd(einfo, index))
        parts.append(f"{info.name}={text}({resolved})" if resolved else f"{info.name}={text}")
    return " ".join(parts)
