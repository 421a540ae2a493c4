"""Host -> plugin: the table callbacks of the reader, writer, fields and registry vtables.

Every callback has one shape (:func:`table_callback`, :func:`owner_callback`): the body works on
the Python objects and raises :class:`TableError` with libsinsp's text; the wrapper turns that into
the owner's last error and the API's failure value. Compiled (``c/tables.c``), these are the slow
path: C serves the hot operations and calls them for everything else."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...backend import TableError
from ..constants import Rc
from ..ffi import ffi
from .access import TableAccess, owner_tables, value_to_c
from .compiled import COMPILED, address, entry_of, entry_ptr, field_of, field_ptr, tlib, tptr
from .foreign import ForeignTable
from .values import _TYPE_NAMES, NULL, ST, U64_ERROR, _decode, _key, _text, value_from_c

# -- one shape for every callback ------------------------------------------------------------------


def table_callback(signature: str, failure: Any) -> Callable[[Callable[..., Any]], Any]:
    """A callback on a table handle: a NULL table fails; else ``body`` runs with the
    :class:`TableAccess` behind the handle, and any exception becomes the accessing owner's last
    error (libsinsp's text) and the API's failure value. Nothing leaves a callback."""

    def wrap(body: Callable[..., Any]) -> Any:
        def callback(t: Any, *args: Any) -> Any:
            if t == NULL:
                return failure
            access = ffi.from_handle(t)
            try:
                return body(access, *args)
            except Exception as exc:
                access.owner.set_error(_text(exc))
                return failure

        return ffi.callback(signature, callback, onerror=lambda *exc: failure)

    return wrap


def owner_callback(signature: str, failure: Any) -> Callable[[Callable[..., Any]], Any]:
    """A callback on an owner handle (the init input's registry): as :func:`table_callback`, with
    the :class:`~falcoplug.abi.host.OwnerHandle` behind the handle."""

    def wrap(body: Callable[..., Any]) -> Any:
        def callback(o: Any, *args: Any) -> Any:
            if o == NULL:
                return failure
            owner = ffi.from_handle(o)
            try:
                return body(owner, *args)
            except Exception as exc:
                owner.set_error(_text(exc))
                return failure

        return ffi.callback(signature, callback, onerror=lambda *exc: failure)

    return wrap


ENTRY = "ss_plugin_table_entry_t*"
FIELD = "ss_plugin_table_field_t*"
STATE = "ss_plugin_state_data*"
TABLE = "ss_plugin_table_t*"
FAILURE = Rc.FAILURE

# -- fields ----------------------------------------------------------------------------------------


@table_callback(f"const ss_plugin_table_fieldinfo*({TABLE}, uint32_t*)", NULL)
def _list_fields(access: TableAccess, nfields: Any) -> Any:
    if access.foreign:
        return access.table.fwd_list_fields(access.owner, nfields)
    descrs = access.table.fields()
    infos = ffi.new("ss_plugin_table_fieldinfo[]", max(1, len(descrs)))
    names = []
    for info, descr in zip(infos, descrs):
        name = ffi.new("char[]", descr.name.encode())
        names.append(name)
        info.name = name
        info.field_type = descr.type
        info.read_only = 1 if descr.read_only else 0
    access.fieldinfos = (infos, names)  # valid until the next call, as libsinsp's list
    nfields[0] = len(descrs)
    return infos


@table_callback(f"{FIELD}({TABLE}, const char*, ss_plugin_state_type)", NULL)
def _get_field(access: TableAccess, name: Any, state_type: int) -> Any:
    if access.foreign:
        return access.table.fwd_get_field(access.owner, name, state_type)
    if name == NULL:
        raise TableError("null field name")
    return field_ptr(access.table.get_field(_decode(name), state_type))


@table_callback(f"{FIELD}({TABLE}, const char*, ss_plugin_state_type)", NULL)
def _add_field(access: TableAccess, name: Any, state_type: int) -> Any:
    if name == NULL:
        raise TableError("null field name")
    if state_type == ST.TABLE:  # refused for every table, by libsinsp's accessor
        raise TableError(f"can't add dynamic field of type table: {_decode(name)}")
    if access.foreign:
        return access.table.fwd_add_field(access.owner, name, state_type)
    return field_ptr(access.table.add_field(_decode(name), state_type))


# -- reader ----------------------------------------------------------------------------------------


@table_callback(f"const char*({TABLE})", NULL)
def _table_name(access: TableAccess) -> Any:
    return access.cname


@table_callback(f"uint64_t({TABLE})", U64_ERROR)
def _table_size(access: TableAccess) -> int:
    if access.foreign:
        return access.table.fwd_size(access.owner)
    return len(access.table)


@table_callback(f"{ENTRY}({TABLE}, const {STATE})", NULL)
def _get_entry(access: TableAccess, key: Any) -> Any:
    table = access.table
    if access.foreign:
        return table.fwd_get_entry(access.owner, key)
    return access.state.hold(table.get_entry(_key(table, key)))


@table_callback(f"ss_plugin_rc({TABLE}, {ENTRY}, const {FIELD}, {STATE})", FAILURE)
def _read_field(access: TableAccess, e: Any, f: Any, out: Any) -> int:
    if out == NULL:
        raise TableError("null output pointer")
    out.u64 = 0  # libsinsp zeroes the output first
    if access.foreign:
        return access.table.fwd_read(access.owner, e, f, out)
    if e == NULL or f == NULL:
        raise TableError("null entry or field")
    field = field_of(f)
    value = access.table.read(entry_of(e), field)
    if field.type == ST.TABLE and value is None:
        access.owner.set_error("")
        return Rc.FAILURE
    value_to_c(out, field.type, value, access.state)
    return Rc.SUCCESS


@table_callback(f"void({TABLE}, {ENTRY})", None)
def _release_entry(access: TableAccess, e: Any) -> None:
    if e == NULL:
        return
    if access.foreign:
        access.table.fwd_release(e)
        return
    access.table.release(entry_of(e))  # alive: the plugin still holds it
    access.state.release(address(e))


@table_callback(f"ss_plugin_bool({TABLE}, ss_plugin_table_iterator_func_t, ss_plugin_table_iterator_state_t*)", 0)
def _iterate(access: TableAccess, it: Any, state: Any) -> int:
    if access.foreign:
        return access.table.fwd_iterate(it, state)
    if it == NULL:
        raise TableError("null iterator function")
    for entry in access.table.entries():
        if not it(state, entry_ptr(entry)):
            return 0
    return 1


# -- writer ----------------------------------------------------------------------------------------


@table_callback(f"ss_plugin_rc({TABLE})", FAILURE)
def _clear(access: TableAccess) -> int:
    if access.foreign:
        return access.table.fwd_clear(access.owner)
    access.table.clear()
    return Rc.SUCCESS


@table_callback(f"ss_plugin_rc({TABLE}, const {STATE})", FAILURE)
def _erase(access: TableAccess, key: Any) -> int:
    table = access.table
    if access.foreign:
        return table.fwd_erase(access.owner, key)
    table.erase(_key(table, key))
    return Rc.SUCCESS


@table_callback(f"{ENTRY}({TABLE})", NULL)
def _create_entry(access: TableAccess) -> Any:
    if access.foreign:
        return access.table.fwd_create(access.owner)
    entry = access.table.new_entry()
    state = owner_tables(access.owner)
    with state.lock:
        state.created[id(entry)] = entry
    return entry_ptr(entry)


def _take_created(access: Any, e: Any, what: str) -> Any:
    """The entry behind ``e`` if this owner created it and has not added or destroyed it yet."""
    state = owner_tables(access.owner)
    with state.lock:
        found = state.created.pop(address(e), None) if e != NULL else None
    if found is None:
        raise TableError(f"{what} called on entry not created by create_table_entry")
    return found


@table_callback(f"void({TABLE}, {ENTRY})", None)
def _destroy_entry(access: TableAccess, e: Any) -> None:
    if access.foreign:
        access.table.fwd_destroy(e)
        return
    access.table.destroy_entry(_take_created(access, e, "destroy_table_entry"))


@table_callback(f"{ENTRY}({TABLE}, const {STATE}, {ENTRY})", NULL)
def _add_entry(access: TableAccess, key: Any, e: Any) -> Any:
    table = access.table
    if access.foreign:
        return table.fwd_add(access.owner, key, e)
    k = _key(table, key)
    entry = _take_created(access, e, "add_entry")
    return access.state.hold(table.add_entry(k, entry))


@table_callback(f"ss_plugin_rc({TABLE}, {ENTRY}, const {FIELD}, const {STATE})", FAILURE)
def _write_field(access: TableAccess, e: Any, f: Any, value: Any) -> int:
    if access.foreign:
        return access.table.fwd_write(access.owner, e, f, value)
    if e == NULL or f == NULL or value == NULL:
        raise TableError("null entry, field or value")
    field = field_of(f)
    if field.type == ST.TABLE:
        raise TableError("writing to table fields is currently not supported")
    access.checked_write(entry_of(e), field, value_from_c(value, field.type))
    return Rc.SUCCESS


# -- registry (init input) -------------------------------------------------------------------------


@owner_callback("ss_plugin_table_info*(ss_plugin_owner_t*, uint32_t*)", NULL)
def _list_tables(owner: Any, ntables: Any) -> Any:
    if ntables == NULL:
        return NULL
    ntables[0] = 0
    registry = owner.owner.tables
    tables = registry.list() if registry is not None else []
    infos = ffi.new("ss_plugin_table_info[]", max(1, len(tables)))
    names = []
    for info, (name, key_type) in zip(infos, tables):
        cname = ffi.new("char[]", name.encode())
        names.append(cname)
        info.name = cname
        info.key_type = key_type
    owner_tables(owner).infos = (infos, names)
    ntables[0] = len(tables)
    return infos


@owner_callback(f"{TABLE}(ss_plugin_owner_t*, const char*, ss_plugin_state_type)", NULL)
def _get_table(owner: Any, name: Any, key_type: int) -> Any:
    if name == NULL:
        return NULL
    text = _decode(name)
    state = owner_tables(owner)
    access = state.accessed.get(text)
    if access is not None:  # later calls give the same handle, as libsinsp's accessor cache
        return access.handle
    if key_type not in _TYPE_NAMES:
        raise TableError(f"can't convert plugin state type to typeinfo: {int(key_type)}")
    registry = owner.owner.tables
    table = registry.get(text, key_type) if registry is not None else None
    if table is None:
        return NULL
    access = state.accessed[text] = TableAccess(owner, table)
    registry.note_user(owner.name)
    return access.handle


@owner_callback("ss_plugin_rc(ss_plugin_owner_t*, const ss_plugin_table_input*)", FAILURE)
def _add_table(owner: Any, table_input: Any) -> int:
    table = ForeignTable.from_input(owner, table_input)
    registry = owner.owner.tables
    if registry is None:
        raise TableError(f"no table registry to add table '{table.name}' to")
    registry.add(table)
    registry.note_user(owner.name)
    return Rc.SUCCESS


@ffi.callback("void(ss_plugin_table_t*)", onerror=lambda *e: None)
def _propagate(t: Any) -> None:
    """A plugin-owned table's operation failed in the compiled forwarding: the owner's error."""
    if t != NULL:
        access = ffi.from_handle(t)
        access.table._propagate(access.owner)


# -- the vtables ------------------------------------------------------------------------------------


def fill_fields(v: Any) -> None:
    v.list_table_fields = _list_fields
    v.get_table_field = _get_field
    v.add_table_field = _add_field


def fill_reader(v: Any, ext: bool) -> None:
    v.get_table_name = _table_name
    v.get_table_size = _table_size
    v.get_table_entry = _get_entry
    v.read_entry_field = _read_field
    if ext:
        v.release_table_entry = _release_entry
        v.iterate_entries = _iterate


def fill_writer(v: Any) -> None:
    v.clear_table = _clear
    v.erase_table_entry = _erase
    v.create_table_entry = _create_entry
    v.destroy_table_entry = _destroy_entry
    v.add_table_entry = _add_entry
    v.write_entry_field = _write_field


_READER = ("get_table_name", "get_table_size", "get_table_entry", "read_entry_field")
_WRITER = (
    "clear_table", "erase_table_entry", "create_table_entry", "destroy_table_entry", "add_table_entry",
    "write_entry_field",
)  # fmt: skip
_FIELDS = ("list_table_fields", "get_table_field", "add_table_field")


def _copy(dst: Any, src: Any, names: tuple[str, ...]) -> None:
    for name in names:
        setattr(dst, name, getattr(src, name))


class TableVtables:
    """The vtables every init, extract, parse and capture-listen input points to (one per process).

    Compiled (``c/tables.c``), plugins call C functions that serve host tables' hot operations and
    forward plugin-owned tables, and call the Python callbacks above (``slow_*``) for the rest;
    else they call the Python callbacks directly."""

    def __init__(self) -> None:
        self.fields_ext = ffi.new("ss_plugin_table_fields_vtable_ext*")
        self.reader_ext = ffi.new("ss_plugin_table_reader_vtable_ext*")
        self.writer_ext = ffi.new("ss_plugin_table_writer_vtable_ext*")
        self.slow_fields = ffi.new("ss_plugin_table_fields_vtable_ext*")
        self.slow_reader = ffi.new("ss_plugin_table_reader_vtable_ext*")
        self.slow_writer = ffi.new("ss_plugin_table_writer_vtable_ext*")
        fill_fields(self.slow_fields)
        fill_reader(self.slow_reader, ext=True)
        fill_writer(self.slow_writer)
        if COMPILED:
            tlib.fpt_set_slow(tptr(self.slow_reader), tptr(self.slow_writer), tptr(self.slow_fields), tptr(_propagate))
            tlib.fpt_fill_fields(tptr(self.fields_ext))
            tlib.fpt_fill_reader(tptr(self.reader_ext))
            tlib.fpt_fill_writer(tptr(self.writer_ext))
        else:
            ffi.memmove(self.fields_ext, self.slow_fields, ffi.sizeof("ss_plugin_table_fields_vtable_ext"))
            ffi.memmove(self.reader_ext, self.slow_reader, ffi.sizeof("ss_plugin_table_reader_vtable_ext"))
            ffi.memmove(self.writer_ext, self.slow_writer, ffi.sizeof("ss_plugin_table_writer_vtable_ext"))

    def init_tables_input(self) -> Any:
        tables = ffi.new("ss_plugin_init_tables_input*")
        tables.list_tables = _list_tables
        tables.get_table = _get_table
        tables.add_table = _add_table
        _copy(tables.fields, self.fields_ext, _FIELDS)
        tables.fields_ext = self.fields_ext
        tables.reader_ext = self.reader_ext
        tables.writer_ext = self.writer_ext
        return tables

    def fill_extract_input(self, extract_input: Any) -> None:
        _copy(extract_input.table_reader, self.reader_ext, _READER)
        extract_input.table_reader_ext = self.reader_ext

    def fill_parse_input(self, parse_input: Any) -> None:
        _copy(parse_input.table_reader, self.reader_ext, _READER)
        _copy(parse_input.table_writer, self.writer_ext, _WRITER)
        parse_input.table_reader_ext = self.reader_ext
        parse_input.table_writer_ext = self.writer_ext

    def fill_listen_input(self, listen_input: Any) -> None:
        listen_input.table_reader_ext = self.reader_ext
        listen_input.table_writer_ext = self.writer_ext


_vtables: TableVtables | None = None


def table_vtables() -> TableVtables:
    global _vtables
    if _vtables is None:
        _vtables = TableVtables()
    return _vtables
