"""Glue of the state tables, both ways. Paired with ``c/tables.c``.

Tables the plugin accesses: :class:`NativeTableHost` and :class:`NativeTable` implement the SDK's
table host and table backend over the native functions of ``c/tables.c``, which call the host's
vtables. Entries, tables and fields are the host's pointers, as ints; a field is ``(pointer,
state type)``.

Tables the plugin owns: ``c/tables.c`` registers an ``fp_owned`` with the host's ``add_table``;
its vtable functions land in the ``extern "Python"`` functions below, which answer from the SDK's
:class:`~falcoplug.sdk.tables.Table` object, as ``abi/tables.py`` answers for the host's tables:
entries and fields are cffi handles of the Python objects, an entry the host got stays alive
until it releases it, strings stay valid for a while after the call that returned them.
"""

from __future__ import annotations

import threading
from collections import deque
from functools import partial
from typing import TYPE_CHECKING, Any, Final

from ..api import STATE_DATA_MEMBERS, StateType
from ..backend import FieldDescr, TableError
from ..sdk.describe import Description
from ..sdk.tables import Table

if TYPE_CHECKING:
    from .runtime import Link, Runtime

C_SOURCE: Final = "tables.c"
FAILURE: Final = 1
SUCCESS: Final = 0
U64_MAX: Final = 0xFFFFFFFFFFFFFFFF
ST = StateType
# Scalar types only: a string or table value is never read or written through the union member.
_MEMBER: Final = {t: m for t, m in STATE_DATA_MEMBERS.items() if t not in (ST.STRING, ST.TABLE)}
_STATE_TYPES: Final = frozenset(int(t) for t in StateType)


def declarations(desc: Description) -> str:
    return """
typedef struct fp_owned { fp_state* s; uint64_t id; ...; } fp_owned;
extern "Python" uint64_t fpy_o_size(fp_owned* o);
extern "Python" ss_plugin_table_entry_t* fpy_o_get_entry(fp_owned* o, const ss_plugin_state_data* key);
extern "Python" int fpy_o_read(fp_owned* o, ss_plugin_table_entry_t* e, const ss_plugin_table_field_t* f, ss_plugin_state_data* out);
extern "Python" void fpy_o_release(fp_owned* o, ss_plugin_table_entry_t* e);
extern "Python" int fpy_o_iterate(fp_owned* o, ss_plugin_table_iterator_func_t it, ss_plugin_table_iterator_state_t* st);
extern "Python" int fpy_o_clear(fp_owned* o);
extern "Python" int fpy_o_erase(fp_owned* o, const ss_plugin_state_data* key);
extern "Python" ss_plugin_table_entry_t* fpy_o_create(fp_owned* o);
extern "Python" void fpy_o_destroy(fp_owned* o, ss_plugin_table_entry_t* e);
extern "Python" ss_plugin_table_entry_t* fpy_o_add(fp_owned* o, const ss_plugin_state_data* key, ss_plugin_table_entry_t* e);
extern "Python" int fpy_o_write(fp_owned* o, ss_plugin_table_entry_t* e, const ss_plugin_table_field_t* f, const ss_plugin_state_data* in);
extern "Python" const ss_plugin_table_fieldinfo* fpy_o_list_fields(fp_owned* o, uint32_t* n);
extern "Python" ss_plugin_table_field_t* fpy_o_get_field(fp_owned* o, const char* name, ss_plugin_state_type type);
extern "Python" ss_plugin_table_field_t* fpy_o_add_field(fp_owned* o, const char* name, ss_plugin_state_type type);
"""


def defines(desc: Description) -> dict[str, str | int | None]:
    return {"FP_HAS_TABLES": None}


# -- tables the plugin accesses ------------------------------------------------------------------------


class NativeTableHost:
    """The init input's tables (list, get, add), for the SDK's :class:`~falcoplug.sdk.tables.Tables`."""

    def __init__(self, rt: Runtime, link: Link) -> None:
        self.rt = rt
        self.n = rt.natives
        self.link = link

    def list_tables(self) -> list[tuple[str, int]]:
        return self.n.t_list(self.link)

    def get_table(self, name: str, key_type: int) -> NativeTable | None:
        ptr = self.n.t_get(self.link, name, int(key_type))
        if not ptr:  # the SDK asks only for listed tables: the owner's error says why
            raise TableError(self.n.owner_error(self.link) or f"cannot access table '{name}'")
        return NativeTable(self.n, self.link, ptr, name, StateType(key_type))

    def add_table(self, table: Table[Any, Any]) -> None:
        self.rt.export_table(self.link, table)


def _no_release(entry: Any) -> None:
    return None


class NativeTable:
    """One table reached through the host's vtables (the SDK's table backend).

    The hot operations are the native functions themselves, bound to the state's link and the
    table (``functools.partial``: no Python frame per call); the link reads 0 once the host
    destroyed the plugin, which the natives refuse instead of touching freed memory. An entry from
    ``get_entry`` or ``add_entry`` is a native object that releases it when dropped, so the SDK
    has nothing to release itself (``needs_release`` is false).
    """

    __slots__ = ("n", "link", "ptr", "name", "key_type", "needs_release", "get_entry", "read", "write",
                 "release", "entries", "new_entry", "destroy_entry", "add_entry", "erase", "clear")  # fmt: skip

    def __init__(self, natives: Any, link: Link, ptr: int, name: str, key_type: StateType) -> None:
        self.n = natives
        self.link = link
        self.ptr = ptr
        self.name = name
        self.key_type = key_type
        self.needs_release = False  # held entries release themselves
        self.get_entry = partial(natives.t_get_entry, link, ptr)
        self.read = partial(natives.t_read, link, ptr)
        self.write = partial(natives.t_write, link, ptr)
        self.release = _no_release
        self.entries = partial(natives.t_iter, link, ptr)
        self.new_entry = partial(natives.t_create, link, ptr)
        self.destroy_entry = partial(natives.t_destroy, link, ptr)
        self.add_entry = partial(natives.t_add, link, ptr)
        self.erase = partial(natives.t_erase, link, ptr)
        self.clear = partial(natives.t_clear, link, ptr)

    def fields(self) -> list[FieldDescr]:
        return [
            FieldDescr(name, StateType(kind) if kind in _STATE_TYPES else kind, ro)
            for name, kind, ro in self.n.t_fields(self.link, self.ptr)
        ]

    def get_field(self, name: str, state_type: int) -> tuple[int, int]:
        return self.n.t_get_field(self.link, self.ptr, name, int(state_type)), int(state_type)

    def add_field(self, name: str, state_type: int) -> tuple[int, int]:
        return self.n.t_add_field(self.link, self.ptr, name, int(state_type)), int(state_type)

    def size(self) -> int:
        return self.n.t_size(self.link, self.ptr)

    def read_table(self, entry: int, field: tuple[int, int]) -> NativeTable | None:
        sub = self.n.t_read(self.link, self.ptr, entry, field)
        if sub is None:
            return None
        return NativeTable(self.n, self.link, sub, self.n.t_name(self.link, sub), ST.INT64)


# -- tables the plugin owns ----------------------------------------------------------------------------


class OwnedExport:
    """An owned table as the host reaches it: the entries it holds and created, the memory it was
    handed."""

    def __init__(self, ffi: Any, table: Table[Any, Any], state_addr: int = 0) -> None:
        self.ffi = ffi
        self.table = table
        self.state_addr = state_addr
        self.held: dict[int, list[Any]] = {}
        self.created: dict[int, Any] = {}
        self.strings: deque[Any] = deque(maxlen=256)
        self.infos: Any = None
        self.lock = threading.Lock()

    def handle(self, obj: Any) -> Any:
        h = obj._cx
        if h is None:
            h = obj._cx = self.ffi.new_handle(obj)
        return h

    def hold(self, entry: Any) -> Any:
        with self.lock:
            record = self.held.get(id(entry))
            if record is None:
                self.held[id(entry)] = [entry, 1]
            else:
                record[1] += 1
        return self.handle(entry)

    def release(self, entry: Any) -> None:
        with self.lock:
            record = self.held.get(id(entry))
            if record is not None:
                record[1] -= 1
                if record[1] <= 0:
                    del self.held[id(entry)]

    def key(self, data: Any) -> Any:
        kt = self.table.key_type
        if kt == ST.STRING:
            return "" if data.str == self.ffi.NULL else self.ffi.string(data.str).decode("utf-8", "replace")
        if kt == ST.BOOL:
            return data.b != 0
        return getattr(data, _MEMBER[kt])

    def to_c(self, out: Any, state_type: int, value: Any) -> None:
        if state_type == ST.STRING:
            buf = self.ffi.new("char[]", value.encode("utf-8", "replace"))
            self.strings.append(buf)
            out.str = buf
        elif state_type == ST.BOOL:
            out.b = 1 if value else 0
        else:
            setattr(out, _MEMBER[state_type], value)

    def from_c(self, data: Any, state_type: int) -> Any:
        if state_type == ST.STRING:
            return "" if data.str == self.ffi.NULL else self.ffi.string(data.str).decode("utf-8", "replace")
        if state_type == ST.BOOL:
            return data.b != 0
        member = _MEMBER.get(state_type)
        if member is None:
            raise TableError("writing to table fields is currently not supported")
        return getattr(data, member)


def install(rt: Runtime) -> None:
    ffi = rt.ffi
    NULL = ffi.NULL

    def guard(context: str, failure: Any) -> Any:
        def wrap(func: Any) -> Any:
            def call(o: Any, *args: Any) -> Any:
                try:
                    return func(rt.owned[o.id], *args)
                except BaseException as exc:  # noqa: BLE001 - becomes this plugin's last error
                    text = str(exc) if isinstance(exc, TableError) else f"{context}: {type(exc).__name__}: {exc}"
                    rt.set_error(o.s, text)
                    return failure

            call.__name__ = func.__name__
            return call

        return wrap

    def decode(p: Any) -> str:
        return ffi.string(p).decode("utf-8", "replace")

    @ffi.def_extern(name="fpy_o_size", error=U64_MAX)
    @guard("get_table_size", U64_MAX)
    def fpy_o_size(ex: OwnedExport) -> int:
        return len(ex.table)

    @ffi.def_extern(name="fpy_o_get_entry", error=NULL)
    @guard("get_table_entry", NULL)
    def fpy_o_get_entry(ex: OwnedExport, key: Any) -> Any:
        return ex.hold(ex.table.get_entry(ex.key(key)))

    @ffi.def_extern(name="fpy_o_read", error=FAILURE)
    @guard("read_entry_field", FAILURE)
    def fpy_o_read(ex: OwnedExport, e: Any, f: Any, out: Any) -> int:
        field = ffi.from_handle(f)
        ex.to_c(out, field.type, ex.table.read(ffi.from_handle(e), field))
        return SUCCESS

    @ffi.def_extern(name="fpy_o_release")
    @guard("release_table_entry", None)
    def fpy_o_release(ex: OwnedExport, e: Any) -> None:
        ex.release(ffi.from_handle(e))

    @ffi.def_extern(name="fpy_o_iterate", error=0)
    @guard("iterate_entries", 0)
    def fpy_o_iterate(ex: OwnedExport, it: Any, st: Any) -> int:
        for entry in ex.table.entries():
            if not it(st, ex.handle(entry)):
                return 0
        return 1

    @ffi.def_extern(name="fpy_o_clear", error=FAILURE)
    @guard("clear_table", FAILURE)
    def fpy_o_clear(ex: OwnedExport) -> int:
        ex.table.clear()
        return SUCCESS

    @ffi.def_extern(name="fpy_o_erase", error=FAILURE)
    @guard("erase_table_entry", FAILURE)
    def fpy_o_erase(ex: OwnedExport, key: Any) -> int:
        ex.table.erase(ex.key(key))
        return SUCCESS

    @ffi.def_extern(name="fpy_o_create", error=NULL)
    @guard("create_table_entry", NULL)
    def fpy_o_create(ex: OwnedExport) -> Any:
        entry = ex.table.new_entry()
        with ex.lock:
            ex.created[id(entry)] = entry
        return ex.handle(entry)

    def take_created(ex: OwnedExport, e: Any, what: str) -> Any:
        entry = ffi.from_handle(e)
        with ex.lock:
            found = ex.created.pop(id(entry), None)
        if found is None:
            raise TableError(f"{what} called on entry not created by create_table_entry")
        return found

    @ffi.def_extern(name="fpy_o_destroy")
    @guard("destroy_table_entry", None)
    def fpy_o_destroy(ex: OwnedExport, e: Any) -> None:
        ex.table.destroy_entry(take_created(ex, e, "destroy_table_entry"))

    @ffi.def_extern(name="fpy_o_add", error=NULL)
    @guard("add_table_entry", NULL)
    def fpy_o_add(ex: OwnedExport, key: Any, e: Any) -> Any:
        entry = take_created(ex, e, "add_entry")
        return ex.hold(ex.table.add_entry(ex.key(key), entry))

    @ffi.def_extern(name="fpy_o_write", error=FAILURE)
    @guard("write_entry_field", FAILURE)
    def fpy_o_write(ex: OwnedExport, e: Any, f: Any, value: Any) -> int:
        field = ffi.from_handle(f)
        if field.type == ST.TABLE:
            raise TableError("writing to table fields is currently not supported")
        ex.table.write(ffi.from_handle(e), field, ex.from_c(value, field.type))
        return SUCCESS

    @ffi.def_extern(name="fpy_o_list_fields", error=NULL)
    @guard("list_table_fields", NULL)
    def fpy_o_list_fields(ex: OwnedExport, n: Any) -> Any:
        descrs = ex.table.fields()
        infos = ffi.new("ss_plugin_table_fieldinfo[]", max(1, len(descrs)))
        names = []
        for info, descr in zip(infos, descrs):
            name = ffi.new("char[]", descr.name.encode("utf-8", "replace"))
            names.append(name)
            info.name = name
            info.field_type = descr.type
            info.read_only = 1 if descr.read_only else 0
        ex.infos = (infos, names)  # valid until the next call
        n[0] = len(descrs)
        return infos

    @ffi.def_extern(name="fpy_o_get_field", error=NULL)
    @guard("get_table_field", NULL)
    def fpy_o_get_field(ex: OwnedExport, name: Any, state_type: int) -> Any:
        return ex.handle(ex.table.get_field(decode(name), state_type))

    @ffi.def_extern(name="fpy_o_add_field", error=NULL)
    @guard("add_table_field", NULL)
    def fpy_o_add_field(ex: OwnedExport, name: Any, state_type: int) -> Any:
        return ex.handle(ex.table.add_field(decode(name), state_type))
