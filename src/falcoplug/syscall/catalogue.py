"""libsinsp's syscall field catalogue and libscap's event table, read from the package data.

Both are facts of libsinsp 0.25 (plugin API 3.12), dumped from libsinsp's own tables and stored in
``data/`` (see :mod:`falcoplug.syscall.refresh`). They are read once, on first use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ..filter.fields import FieldInfo

# libscap's ppm_param_type codes by the name param_type_to_string gives them.
PARAM_TYPES: dict[str, int] = {
    "INT8": 1, "INT16": 2, "INT32": 3, "INT64": 4, "UINT8": 5, "UINT16": 6, "UINT32": 7,
    "UINT64": 8, "CHARBUF": 9, "BYTEBUF": 10, "ERRNO": 11, "SOCKADDR": 12, "SOCKTUPLE": 13,
    "FD": 14, "PID": 15, "FDLIST": 16, "FSPATH": 17, "SYSCALLID": 18, "SIGTYPE": 19,
    "RELTIME": 20, "ABSTIME": 21, "PORT": 22, "L4PROTO": 23, "SOCKFAMILY": 24, "BOOL": 25,
    "IPV4ADDR": 26, "DYNAMIC": 27, "FLAGS8": 28, "FLAGS16": 29, "FLAGS32": 30, "UID": 31,
    "GID": 32, "DOUBLE": 33, "SIGSET": 34, "CHARBUFARRAY": 35, "CHARBUF_PAIR_ARRAY": 36,
    "IPV4NET": 37, "IPV6ADDR": 38, "IPV6NET": 39, "IPADDR": 40, "IPNET": 41, "MODE": 42,
    "FSRELPATH": 43, "ENUMFLAGS8": 44, "ENUMFLAGS16": 45, "ENUMFLAGS32": 46, "FD32": 47, "PID32": 48,
}  # fmt: skip
PARAM_TYPE_NAMES: dict[int, str] = {code: name for name, code in PARAM_TYPES.items()}

SYSCALL_SOURCE = "syscall"
PPM_EVENT_MAX = 454


def _load(name: str) -> Any:
    return json.loads(resources.files(__package__).joinpath("data", name).read_text(encoding="utf-8"))


# --- fields -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FieldClass:
    """A filtercheck class (``evt``, ``process``, ``fd``...) as libsinsp declares it."""

    name: str
    shortdesc: str
    desc: str
    flags: frozenset[str]
    fields: tuple[FieldInfo, ...]

    @property
    def hidden(self) -> bool:
        return "FL_HIDDEN" in self.flags


def _field_info(entry: list[Any], owner: str) -> FieldInfo:
    name, type_name, flags, print_format, display, desc = entry
    flagset = frozenset(flags)
    return FieldInfo(
        name=name,
        ftype=PARAM_TYPES[type_name],
        is_list="EPF_IS_LIST" in flagset,
        desc=desc,
        display=display,
        arg_required="EPF_ARG_REQUIRED" in flagset,
        arg_key="EPF_ARG_REQUIRED" in flagset or "EPF_ARG_ALLOWED" in flagset,
        owner=owner,
        flags=flagset,
        print_format=print_format,
    )


@cache
def field_classes() -> tuple[FieldClass, ...]:
    """Every syscall filtercheck class, in libsinsp's registration order (``evt`` generic first)."""
    doc = _load("fields.json")
    out = []
    for cls in doc["classes"]:
        fields = tuple(_field_info(f, cls["name"]) for f in cls["fields"])
        out.append(FieldClass(cls["name"], cls["shortdesc"], cls["desc"], frozenset(cls["flags"]), fields))
    return tuple(out)


@cache
def syscall_fields() -> dict[str, FieldInfo]:
    """The syscall-only fields by name (the generic ``evt`` class excluded: it is every source's)."""
    out: dict[str, FieldInfo] = {}
    for cls in field_classes():
        if "FL_GENERIC" in cls.flags:
            continue
        for info in cls.fields:
            out.setdefault(info.name, info)
    return out


# --- events -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ParamInfo:
    name: str
    ptype: int
    fmt: str  # PF_DEC, PF_HEX, PF_OCT, PF_NA
    values_table: str | None


@dataclass(frozen=True, slots=True)
class EventInfo:
    code: int
    name: str
    direction: str  # "E" (enter) or "X" (exit)
    category: frozenset[str]
    flags: frozenset[str]
    params: tuple[ParamInfo, ...]

    def param_index(self, name: str) -> int | None:
        for i, p in enumerate(self.params):
            if p.name == name:
                return i
        return None


@dataclass(frozen=True, slots=True)
class EventTable:
    events: tuple[EventInfo, ...]
    value_tables: dict[str, list[tuple[str, int]]]
    evttypes: dict[str, frozenset[int]]  # every name evt.type accepts, and the codes it selects
    syscalls: dict[int, str]  # ppm_sc code -> name
    param_names: frozenset[str]  # every parameter name of the table (for evt.arg.NAME)

    def event(self, code: int) -> EventInfo | None:
        return self.events[code] if 0 <= code < len(self.events) else None

    @property
    def all_codes(self) -> frozenset[int]:
        return frozenset(range(len(self.events)))


@cache
def event_table() -> EventTable:
    doc = _load("events.json")
    events = tuple(
        EventInfo(
            code,
            name,
            direction,
            frozenset(category),
            frozenset(flags),
            tuple(ParamInfo(p[0], PARAM_TYPES.get(p[1], 0), p[2], p[3]) for p in params),
        )
        for code, name, direction, category, flags, params in doc["events"]
    )
    tables = {k: [(v["name"], v["value"]) for v in vals] for k, vals in doc["value_tables"].items()}
    evttypes = {name: frozenset(codes) for name, codes in doc["evttypes"].items()}
    syscalls = {int(k): v for k, v in doc["syscalls"].items()}
    names = frozenset(p.name for e in events for p in e.params)
    return EventTable(events, tables, evttypes, syscalls, names)


def is_event_type_name(name: str) -> bool:
    """What ``evt.type`` accepts: an event-table name or a ppm_sc (syscall) name."""
    return name in event_table().evttypes


def longest_param_name(text: str) -> str | None:
    """libsinsp's ``find_longest_matching_evt_param``: the longest parameter name ``text`` starts with."""
    best = None
    for name in event_table().param_names:
        if text.startswith(name) and (best is None or len(name) > len(best)):
            best = name
    return best


def param_info_by_name(name: str) -> ParamInfo | None:
    """The first parameter of the table with this name (what libsinsp types ``evt.rawarg.NAME`` by)."""
    for e in event_table().events:
        for p in e.params:
            if p.name == name:
                return p
    return None
