"""Values of the syscall fields on syscall events: what the event itself and the event table tell
(``evt.type``, ``evt.dir``, ``evt.arg``...), and what the host's ``threads`` table holds.

libsinsp computes many fields from its thread and file-descriptor state machine (``proc.*`` from
the process tree and ``/proc``, ``fd.*`` from the fd table it builds by parsing every syscall).
falcoplug does not run that state machine: those fields have the values the ``threads`` table can
give (see :data:`THREAD_FIELDS`), and no value otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..events import PPME_ASYNCEVENT_E, Event
from .catalogue import EventInfo, event_table
from .params import (
    PT_ERRNO,
    PT_FD,
    arg_text,
    args_text,
    errno_name,
    event_info,
    param_bytes,
    params_of,
    raw_value,
)

Getter = Callable[[Any, Event], Any]
PPME_GENERIC_E, PPME_GENERIC_X = 0, 1
_RETURN_TYPES = frozenset({PT_ERRNO, PT_FD, 15, 4})  # ERRNO, FD, PID, INT64
_OPEN_EVENTS = frozenset({3, 307, 327, 337})  # open, openat (2), openat2, open_by_handle_at exits
_OPEN_FILE_EVENTS = _OPEN_EVENTS | {59}  # ... and creat
_NET_EVENTS = frozenset({289, 389, 23})  # accept (5), accept4 (6), connect exits
PPM_O_RDONLY, PPM_O_WRONLY, PPM_O_CREAT = 1, 2, 4
PPM_O_TMPFILE, PPM_O_F_CREATED = 1 << 13, 1 << 14
EXEC_BITS = 0o111

_CATEGORIES = {
    "EC_UNKNOWN": "unknown", "EC_OTHER": "other", "EC_FILE": "file", "EC_NET": "net", "EC_IPC": "IPC",
    "EC_MEMORY": "memory", "EC_PROCESS": "process", "EC_SLEEP": "sleep", "EC_SYSTEM": "system",
    "EC_SIGNAL": "signal", "EC_USER": "user", "EC_TIME": "time", "EC_PROCESSING": "processing",
    "EC_WAIT": "wait", "EC_SCHEDULER": "scheduler", "EC_INTERNAL": "internal",
}  # fmt: skip
_IO_CATEGORIES = frozenset({"EC_IO_READ", "EC_IO_WRITE", "EC_IO_OTHER"})


# --- event-level helpers ------------------------------------------------------------------------
def _info(e: Event) -> EventInfo | None:
    return event_info(e)


def event_type_name(e: Event) -> str | None:
    """``evt.type``: the event's name; a generic event's syscall name; an async event's own name."""
    t = e.type
    if t == PPME_ASYNCEVENT_E:
        return e.async_name
    info = _info(e)
    if info is None:
        return None
    if t == PPME_GENERIC_X:  # the enter event keeps the table's name, "syscall"
        data = param_bytes(e, 0)
        sc = raw_value(info.params[0], data) if data is not None else None
        return event_table().syscalls.get(sc or 0, "unknown")
    return info.name


def _syscall_type(c: Any, e: Event) -> str | None:
    info = _info(e)
    if info is None or "EC_SYSCALL" not in info.category:
        return None
    return event_type_name(e)


def _category(c: Any, e: Event) -> str | None:
    info = _info(e)
    if info is None:
        return None
    low = [name for name in info.category if name in _CATEGORIES or name in _IO_CATEGORIES]
    if not low:
        for high, text in (("EC_SYSCALL", "syscall"), ("EC_TRACEPOINT", "tracepoint"),
                           ("EC_PLUGIN", "plugin"), ("EC_METAEVENT", "meta")):  # fmt: skip
            if high in info.category:
                return text
        return "unknown"
    # I/O events take the type of their file descriptor, which needs libsinsp's fd table
    return "unknown" if low[0] in _IO_CATEGORIES else _CATEGORIES[low[0]]


def _direction(c: Any, e: Event) -> str | None:
    return ">" if e.type % 2 == 0 else "<"


def return_value(e: Event) -> int | None:
    """The syscall's return value: the first parameter of an exit event, when it is one."""
    info = _info(e)
    if info is None or info.direction != "X" or not info.params:
        return None
    first = info.params[0]
    if first.ptype not in _RETURN_TYPES:
        return None
    data = param_bytes(e, 0)
    return raw_value(first, data) if data is not None else None


def _res(c: Any, e: Event) -> str | None:
    res = return_value(e)
    if res is None:
        return None
    return "SUCCESS" if res >= 0 else (errno_name(res) or str(res))


def _error_count(e: Event) -> int | None:
    res = return_value(e)
    return None if res is None else int(res < 0)


def _failed(c: Any, e: Event) -> bool | None:
    count = _error_count(e)
    return None if count is None else bool(count)


def _flag(name: str) -> Getter:
    def get(c: Any, e: Event) -> bool | None:
        info = _info(e)
        return None if info is None else name in info.flags

    return get


def _is_io(c: Any, e: Event) -> bool | None:
    info = _info(e)
    return None if info is None else bool(info.flags & {"EF_READS_FROM_FD", "EF_WRITES_TO_FD"})


def _io_dir(c: Any, e: Event) -> str | None:
    info = _info(e)
    if info is None:
        return None
    if "EF_WRITES_TO_FD" in info.flags:
        return "write"
    return "read" if "EF_READS_FROM_FD" in info.flags else None


def _open_flag(kind: str) -> Getter:
    """``evt.is_open_read/write/exec/create`` from the open flags (and mode) parameters."""

    def get(c: Any, e: Event) -> bool | None:
        info = _info(e)
        if info is None:
            return None
        t = e.type
        params = params_of(e)
        if t in _OPEN_EVENTS:
            new = t in (307, 327)
            flags = _param_int(info, params, 3 if new else 2)
            if kind == "read":
                return bool(flags & PPM_O_RDONLY)
            if kind == "write":
                return bool(flags & PPM_O_WRONLY)
            if kind == "create":
                created = bool(flags & PPM_O_F_CREATED)
                res = return_value(e)
                return created or bool(flags & PPM_O_TMPFILE and res is not None and res >= 0)
            if flags & (PPM_O_TMPFILE | PPM_O_CREAT) and t != 337:
                return bool(_param_int(info, params, 4 if new else 3) & EXEC_BITS)
            return False
        if kind == "exec" and t == 59:
            return bool(_param_int(info, params, 2) & EXEC_BITS)
        return False

    return get


def _param_int(info: EventInfo, params: list[bytes], index: int) -> int:
    if index >= len(params) or index >= len(info.params):
        return 0
    value = raw_value(info.params[index], params[index])
    return value if isinstance(value, int) else 0


def _args(c: Any, e: Event) -> str | None:
    info = _info(e)
    if info is None:
        return None
    if e.type == PPME_GENERIC_X:
        return ""
    return args_text(info, params_of(e))


def _count_error_kind(kind: str) -> Getter:
    def get(c: Any, e: Event) -> int | None:
        info = _info(e)
        if info is None:
            return None
        if kind == "file":
            return _error_count(e) if e.type in _OPEN_FILE_EVENTS else None
        if kind == "net":
            return _error_count(e) if e.type in _NET_EVENTS else None
        if kind == "memory":
            return _error_count(e) if "EC_MEMORY" in info.category else None
        memory = "EC_MEMORY" in info.category
        return None if (e.type in _OPEN_FILE_EVENTS or e.type in _NET_EVENTS or memory) else _error_count(e)

    return get


def _buffer(c: Any, e: Event) -> bytes | None:
    info = _info(e)
    index = None if info is None else info.param_index("data")
    if index is None:
        return None
    params = params_of(e)
    return bytes(params[index]) if index < len(params) else None


# --- the threads table --------------------------------------------------------------------------
# Fields the host's ``threads`` table answers (the entry of the event's thread id).
THREAD_FIELDS: dict[str, str] = {
    "thread.tid": "tid",
    "proc.pid": "pid",
    "proc.name": "comm",
    "proc.exe": "exe",
    "thread.vtid": "vtid",
    "proc.vpid": "vpid",
    "proc.sid": "sid",
    "user.uid": "uid",
    "user.loginuid": "loginuid",
    "group.gid": "gid",
}


_UNSET_IS_NONE = frozenset({"vtid", "vpid"})  # libsinsp gives no value while they are -1
_INVALID_UID = 0xFFFFFFFF  # user.loginuid gives -1 for it (the field's own description says so)


def _thread(column: str) -> Getter:
    def get(c: Any, e: Event) -> Any:
        table = getattr(c, "threads", None)
        if table is None:
            return None
        entry = table._entries.get(e.tid)
        if entry is None:
            return None
        field = table.schema.fields.get(column)
        if field is None:
            return None
        value = entry.values[field.index]
        if column in _UNSET_IS_NONE and value == -1:
            return None
        if column == "loginuid" and value == _INVALID_UID:
            return -1
        return value

    return get


def _constant(value: Any) -> Getter:
    return lambda c, e: value if _info(e) is not None else None


GETTERS: dict[str, Getter] = {
    "evt.type": lambda c, e: event_type_name(e),
    "syscall.type": _syscall_type,
    "evt.category": _category,
    "evt.dir": _direction,
    "evt.cpu": _constant(0),
    "evt.args": _args,
    "evt.info": _args,
    "evt.res": _res,
    "evt.rawres": lambda c, e: return_value(e),
    "evt.failed": _failed,
    "evt.count": _constant(1),
    "evt.count.error": lambda c, e: _error_count(e),
    "evt.count.error.file": _count_error_kind("file"),
    "evt.count.error.net": _count_error_kind("net"),
    "evt.count.error.memory": _count_error_kind("memory"),
    "evt.count.error.other": _count_error_kind("other"),
    "evt.count.exit": lambda c, e: 1 if e.type % 2 == 1 else None,
    "evt.is_io": _is_io,
    "evt.is_io_read": _flag("EF_READS_FROM_FD"),
    "evt.is_io_write": _flag("EF_WRITES_TO_FD"),
    "evt.io_dir": _io_dir,
    "evt.is_wait": _flag("EF_WAITS"),
    "evt.is_syslog": _constant(False),
    "evt.is_open_read": _open_flag("read"),
    "evt.is_open_write": _open_flag("write"),
    "evt.is_open_exec": _open_flag("exec"),
    "evt.is_open_create": _open_flag("create"),
    "evt.buffer": _buffer,
    "evt.latency": _constant(0),
    "evt.latency.s": _constant(0),
    "evt.latency.ns": _constant(0),
    "evt.latency.quantized": _constant(0),
    "evt.latency.human": _constant("0ns"),
    "evt.wait_latency": _constant(0),
    **{name: _thread(column) for name, column in THREAD_FIELDS.items()},
}


def no_value(c: Any, e: Event) -> None:
    """A field that needs libsinsp's state machine: no value here."""
    return None


def arg_by_index(index: int) -> Getter:
    def get(c: Any, e: Event) -> str | None:
        info = _info(e)
        if info is None or index < 0 or index >= len(info.params):
            return None
        data = param_bytes(e, index)
        return None if data is None else arg_text(info, index, data)

    return get


def arg_by_name(name: str, raw: bool) -> Getter:
    def get(c: Any, e: Event) -> Any:
        info = _info(e)
        index = None if info is None else info.param_index(name)
        if info is None or index is None:
            return None
        data = param_bytes(e, index)
        if data is None:
            return None
        return raw_value(info.params[index], data) if raw else arg_text(info, index, data)

    return get


def type_is(codes: frozenset[int]) -> Getter:
    return lambda c, e: int(e.type in codes)
