"""State tables across the C boundary, both ways.

Host -> plugin: the reader, writer and fields vtables every plugin receives (in its init, extract,
parse and capture-listen inputs) are the callbacks below. A ``ss_plugin_table_t*`` a plugin holds
is a handle to a :class:`TableAccess`: the table plus the accessing plugin's owner, so that every
failure sets *that* plugin's last error, with libsinsp's text, as libsinsp's table accessors do.
Host tables are Python objects (``framework/tables.py``); the callbacks translate keys and values
between ``ss_plugin_state_data`` and Python. An entry or field pointer is a handle to the Python
object, made once and cached in its ``_c`` slot.

Plugin -> host: a table a plugin registers with ``add_table`` is checked as libsinsp checks it and
wrapped in a :class:`ForeignTable`. Other C plugins reach it through the same callbacks, which
forward keys, entries and fields to the owner's vtables untouched (a failure copies the owning
plugin's last error into the accessing owner's); Python reaches it through the same methods as a
host table.

No exception leaves a callback: each returns the API's failure value and sets the owner's error.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from ..backend import FieldDescr, StateTable, TableError
from .constants import Rc, StateType
from .ffi import ffi

ST = StateType
NULL = ffi.NULL
U64_ERROR = 0xFFFFFFFFFFFFFFFF
_MEMBER = {
    ST.INT8: "s8", ST.INT16: "s16", ST.INT32: "s32", ST.INT64: "s64",
    ST.UINT8: "u8", ST.UINT16: "u16", ST.UINT32: "u32", ST.UINT64: "u64",
    ST.STRING: "str", ST.BOOL: "b", ST.TABLE: "table",
}  # fmt: skip
_TYPE_NAMES = {
    ST.INT8: "int8", ST.INT16: "int16", ST.INT32: "int32", ST.INT64: "int64",
    ST.UINT8: "uint8", ST.UINT16: "uint16", ST.UINT32: "uint32", ST.UINT64: "uint64",
    ST.STRING: "string", ST.BOOL: "bool", ST.TABLE: "table",
}  # fmt: skip


def _text(exc: BaseException) -> str:
    return str(exc) or "unknown error"


def _decode(p: Any) -> str:
    return ffi.string(p).decode("utf-8", "replace")


# -- per-owner state ------------------------------------------------------------------------------


class OwnerTables:
    """What one plugin (owner) holds across table calls: accessed tables, the entries it was given
    and has not released, the entries it created and has not added, and returned strings."""

    def __init__(self, owner: Any) -> None:
        self.owner = owner  # the OwnerHandle
        self.accessed: dict[str, TableAccess] = {}
        self.held: dict[int, list[Any]] = {}
        self.created: dict[int, Any] = {}
        self.strings: deque[Any] = deque(maxlen=256)  # valid "until the next table call", and then some
        self.infos: tuple[Any, list[Any]] | None = None
        self.lock = threading.Lock()

    def hold(self, entry: Any) -> Any:
        """Keep ``entry`` alive while the plugin holds its pointer (libsinsp keeps a shared_ptr)."""
        key = id(entry)
        with self.lock:
            record = self.held.get(key)
            if record is None:
                self.held[key] = [entry, 1]
            else:
                record[1] += 1
        return _entry_handle(entry)

    def release(self, entry: Any) -> None:
        key = id(entry)
        with self.lock:
            record = self.held.get(key)
            if record is not None:
                record[1] -= 1
                if record[1] <= 0:
                    del self.held[key]

    def keep_string(self, text: str) -> Any:
        buf = ffi.new("char[]", text.encode("utf-8", "replace"))
        self.strings.append(buf)
        return buf


def owner_tables(owner: Any) -> OwnerTables:
    state = owner.tables_state
    if state is None:
        state = owner.tables_state = OwnerTables(owner)
    return state


class TableAccess:
    """A table as one owner sees it: what a ``ss_plugin_table_t*`` given to a plugin points to."""

    __slots__ = ("owner", "state", "table", "foreign", "handle", "cname", "fieldinfos", "checked_write")

    def __init__(self, owner: Any, table: Any) -> None:
        self.owner = owner
        self.state = owner_tables(owner)
        self.table = table
        self.foreign = isinstance(table, ForeignTable)
        # host tables take C values as they are (typed by the union); others check them
        self.checked_write = getattr(table, "write_checked", None) or table.write
        self.handle = ffi.new_handle(self)
        self.cname = ffi.new("char[]", table.name.encode())
        self.fieldinfos: tuple[Any, list[Any]] | None = None


def access_handle(owner: Any, table: Any) -> Any:
    """The (cached) handle through which ``owner`` reaches ``table``."""
    cache = table._c
    access = cache.get(id(owner))
    if access is None:
        access = cache[id(owner)] = TableAccess(owner, table)
    return access.handle


def _entry_handle(entry: Any) -> Any:
    handle = entry._c
    if handle is None:
        handle = entry._c = ffi.new_handle(entry)
    return handle


def _field_handle(field: Any) -> Any:
    handle = field._c
    if handle is None:
        handle = field._c = ffi.new_handle(field)
    return handle


# -- values between ss_plugin_state_data and Python -----------------------------------------------


def value_from_c(data: Any, state_type: int) -> Any:
    if state_type == ST.UINT64:
        return data.u64
    if state_type == ST.INT64:
        return data.s64
    if state_type == ST.STRING:
        return "" if data.str == NULL else _decode(data.str)
    if state_type == ST.BOOL:
        return data.b != 0
    member = _MEMBER.get(state_type)
    if member is None or state_type == ST.TABLE:
        raise TableError(f"can't convert plugin state type to typeinfo: {int(state_type)}")
    return getattr(data, member)


def value_to_c(data: Any, state_type: int, value: Any, keep: OwnerTables) -> None:
    if state_type == ST.UINT64:
        data.u64 = value
    elif state_type == ST.STRING:
        data.str = keep.keep_string(value)
    elif state_type == ST.BOOL:
        data.b = 1 if value else 0
    elif state_type == ST.TABLE:
        data.table = NULL if value is None else access_handle(keep.owner, value)
    else:
        setattr(data, _MEMBER[state_type], value)


def _key(table: Any, key: Any) -> Any:
    if key == NULL:
        raise TableError("null key")
    if table.key_type == ST.INT64:
        return key.s64
    return value_from_c(key, table.key_type)


# -- the callbacks: fields ---------------------------------------------------------------------------


def _fail(access: Any, exc: BaseException) -> None:
    access.owner.set_error(_text(exc))


@ffi.callback("const ss_plugin_table_fieldinfo*(ss_plugin_table_t*, uint32_t*)", onerror=lambda *e: NULL)
def _list_fields(t: Any, nfields: Any) -> Any:
    if t == NULL:
        return NULL
    access = ffi.from_handle(t)
    try:
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
    except Exception as exc:
        _fail(access, exc)
        return NULL


@ffi.callback(
    "ss_plugin_table_field_t*(ss_plugin_table_t*, const char*, ss_plugin_state_type)", onerror=lambda *e: NULL
)
def _get_field(t: Any, name: Any, state_type: int) -> Any:
    if t == NULL:
        return NULL
    access = ffi.from_handle(t)
    try:
        if access.foreign:
            return access.table.fwd_get_field(access.owner, name, state_type)
        if name == NULL:
            raise TableError("null field name")
        return _field_handle(access.table.get_field(_decode(name), state_type))
    except Exception as exc:
        _fail(access, exc)
        return NULL


@ffi.callback(
    "ss_plugin_table_field_t*(ss_plugin_table_t*, const char*, ss_plugin_state_type)", onerror=lambda *e: NULL
)
def _add_field(t: Any, name: Any, state_type: int) -> Any:
    if t == NULL:
        return NULL
    access = ffi.from_handle(t)
    try:
        if name == NULL:
            raise TableError("null field name")
        if state_type == ST.TABLE:  # refused for every table, by libsinsp's accessor
            raise TableError(f"can't add dynamic field of type table: {_decode(name)}")
        if access.foreign:
            return access.table.fwd_add_field(access.owner, name, state_type)
        return _field_handle(access.table.add_field(_decode(name), state_type))
    except Exception as exc:
        _fail(access, exc)
        return NULL


# -- the callbacks: reader ---------------------------------------------------------------------------


@ffi.callback("const char*(ss_plugin_table_t*)", onerror=lambda *e: NULL)
def _table_name(t: Any) -> Any:
    return NULL if t == NULL else ffi.from_handle(t).cname


@ffi.callback("uint64_t(ss_plugin_table_t*)", onerror=lambda *e: U64_ERROR)
def _table_size(t: Any) -> int:
    if t == NULL:
        return U64_ERROR
    access = ffi.from_handle(t)
    try:
        if access.foreign:
            return access.table.fwd_size(access.owner)
        return len(access.table)
    except Exception as exc:
        _fail(access, exc)
        return U64_ERROR


@ffi.callback("ss_plugin_table_entry_t*(ss_plugin_table_t*, const ss_plugin_state_data*)", onerror=lambda *e: NULL)
def _get_entry(t: Any, key: Any) -> Any:
    if t == NULL:
        return NULL
    access = ffi.from_handle(t)
    try:
        table = access.table
        if access.foreign:
            return table.fwd_get_entry(access.owner, key)
        return access.state.hold(table.get_entry(_key(table, key)))
    except Exception as exc:
        _fail(access, exc)
        return NULL


@ffi.callback(
    "ss_plugin_rc(ss_plugin_table_t*, ss_plugin_table_entry_t*, const ss_plugin_table_field_t*, ss_plugin_state_data*)",
    onerror=lambda *e: Rc.FAILURE,
)
def _read_field(t: Any, e: Any, f: Any, out: Any) -> int:
    if t == NULL:
        return Rc.FAILURE
    access = ffi.from_handle(t)
    try:
        if out == NULL:
            raise TableError("null output pointer")
        out.u64 = 0  # libsinsp zeroes the output first
        if access.foreign:
            return access.table.fwd_read(access.owner, e, f, out)
        if e == NULL or f == NULL:
            raise TableError("null entry or field")
        field = ffi.from_handle(f)
        value = access.table.read(ffi.from_handle(e), field)
        if field.type == ST.TABLE and value is None:
            access.owner.set_error("")
            return Rc.FAILURE
        value_to_c(out, field.type, value, access.state)
        return Rc.SUCCESS
    except Exception as exc:
        _fail(access, exc)
        return Rc.FAILURE


@ffi.callback("void(ss_plugin_table_t*, ss_plugin_table_entry_t*)", onerror=lambda *e: None)
def _release_entry(t: Any, e: Any) -> None:
    if t == NULL or e == NULL:
        return
    access = ffi.from_handle(t)
    try:
        if access.foreign:
            access.table.fwd_release(e)
            return
        entry = ffi.from_handle(e)
        access.table.release(entry)
        access.state.release(entry)
    except Exception as exc:
        _fail(access, exc)


@ffi.callback(
    "ss_plugin_bool(ss_plugin_table_t*, ss_plugin_table_iterator_func_t, ss_plugin_table_iterator_state_t*)",
    onerror=lambda *e: 0,
)
def _iterate(t: Any, it: Any, state: Any) -> int:
    if t == NULL:
        return 0
    access = ffi.from_handle(t)
    try:
        if access.foreign:
            return access.table.fwd_iterate(it, state)
        if it == NULL:
            raise TableError("null iterator function")
        for entry in access.table.entries():
            if not it(state, _entry_handle(entry)):
                return 0
        return 1
    except Exception as exc:
        _fail(access, exc)
        return 0


# -- the callbacks: writer ---------------------------------------------------------------------------


@ffi.callback("ss_plugin_rc(ss_plugin_table_t*)", onerror=lambda *e: Rc.FAILURE)
def _clear(t: Any) -> int:
    if t == NULL:
        return Rc.FAILURE
    access = ffi.from_handle(t)
    try:
        if access.foreign:
            return access.table.fwd_clear(access.owner)
        access.table.clear()
        return Rc.SUCCESS
    except Exception as exc:
        _fail(access, exc)
        return Rc.FAILURE


@ffi.callback("ss_plugin_rc(ss_plugin_table_t*, const ss_plugin_state_data*)", onerror=lambda *e: Rc.FAILURE)
def _erase(t: Any, key: Any) -> int:
    if t == NULL:
        return Rc.FAILURE
    access = ffi.from_handle(t)
    try:
        table = access.table
        if access.foreign:
            return table.fwd_erase(access.owner, key)
        table.erase(_key(table, key))
        return Rc.SUCCESS
    except Exception as exc:
        _fail(access, exc)
        return Rc.FAILURE


@ffi.callback("ss_plugin_table_entry_t*(ss_plugin_table_t*)", onerror=lambda *e: NULL)
def _create_entry(t: Any) -> Any:
    if t == NULL:
        return NULL
    access = ffi.from_handle(t)
    try:
        if access.foreign:
            return access.table.fwd_create(access.owner)
        entry = access.table.new_entry()
        state = owner_tables(access.owner)
        with state.lock:
            state.created[id(entry)] = entry
        return _entry_handle(entry)
    except Exception as exc:
        _fail(access, exc)
        return NULL


def _take_created(access: Any, e: Any, what: str) -> Any:
    """The entry behind ``e`` if this owner created it and has not added or destroyed it yet."""
    state = owner_tables(access.owner)
    entry = ffi.from_handle(e) if e != NULL else None
    with state.lock:
        found = state.created.pop(id(entry), None) if entry is not None else None
    if found is None:
        raise TableError(f"{what} called on entry not created by create_table_entry")
    return found


@ffi.callback("void(ss_plugin_table_t*, ss_plugin_table_entry_t*)", onerror=lambda *e: None)
def _destroy_entry(t: Any, e: Any) -> None:
    if t == NULL:
        return
    access = ffi.from_handle(t)
    try:
        if access.foreign:
            access.table.fwd_destroy(e)
            return
        access.table.destroy_entry(_take_created(access, e, "destroy_table_entry"))
    except Exception as exc:
        _fail(access, exc)


@ffi.callback(
    "ss_plugin_table_entry_t*(ss_plugin_table_t*, const ss_plugin_state_data*, ss_plugin_table_entry_t*)",
    onerror=lambda *e: NULL,
)
def _add_entry(t: Any, key: Any, e: Any) -> Any:
    if t == NULL:
        return NULL
    access = ffi.from_handle(t)
    try:
        table = access.table
        if access.foreign:
            return table.fwd_add(access.owner, key, e)
        k = _key(table, key)
        entry = _take_created(access, e, "add_entry")
        return access.state.hold(table.add_entry(k, entry))
    except Exception as exc:
        _fail(access, exc)
        return NULL


@ffi.callback(
    "ss_plugin_rc(ss_plugin_table_t*, ss_plugin_table_entry_t*, const ss_plugin_table_field_t*, const ss_plugin_state_data*)",
    onerror=lambda *e: Rc.FAILURE,
)
def _write_field(t: Any, e: Any, f: Any, value: Any) -> int:
    if t == NULL:
        return Rc.FAILURE
    access = ffi.from_handle(t)
    try:
        if access.foreign:
            return access.table.fwd_write(access.owner, e, f, value)
        if e == NULL or f == NULL or value == NULL:
            raise TableError("null entry, field or value")
        field = ffi.from_handle(f)
        if field.type == ST.TABLE:
            raise TableError("writing to table fields is currently not supported")
        access.checked_write(ffi.from_handle(e), field, value_from_c(value, field.type))
        return Rc.SUCCESS
    except Exception as exc:
        _fail(access, exc)
        return Rc.FAILURE


# -- the callbacks: registry (init input) -----------------------------------------------------------


def _owner_of(o: Any) -> Any:
    return None if o == NULL else ffi.from_handle(o)


@ffi.callback("ss_plugin_table_info*(ss_plugin_owner_t*, uint32_t*)", onerror=lambda *e: NULL)
def _list_tables(o: Any, ntables: Any) -> Any:
    owner = _owner_of(o)
    if owner is None or ntables == NULL:
        return NULL
    try:
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
    except Exception as exc:
        owner.set_error(_text(exc))
        return NULL


@ffi.callback("ss_plugin_table_t*(ss_plugin_owner_t*, const char*, ss_plugin_state_type)", onerror=lambda *e: NULL)
def _get_table(o: Any, name: Any, key_type: int) -> Any:
    owner = _owner_of(o)
    if owner is None or name == NULL:
        return NULL
    try:
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
    except Exception as exc:
        owner.set_error(_text(exc))
        return NULL


@ffi.callback("ss_plugin_rc(ss_plugin_owner_t*, const ss_plugin_table_input*)", onerror=lambda *e: Rc.FAILURE)
def _add_table(o: Any, table_input: Any) -> int:
    owner = _owner_of(o)
    if owner is None:
        return Rc.FAILURE
    try:
        table = ForeignTable.from_input(owner, table_input)
        registry = owner.owner.tables
        if registry is None:
            raise TableError(f"no table registry to add table '{table.name}' to")
        registry.add(table)
        registry.note_user(owner.name)
        return Rc.SUCCESS
    except Exception as exc:
        owner.set_error(_text(exc))
        return Rc.FAILURE


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


class TableVtables:
    """The vtables every init, extract, parse and capture-listen input points to (one per process)."""

    def __init__(self) -> None:
        self.fields_ext = ffi.new("ss_plugin_table_fields_vtable_ext*")
        self.reader_ext = ffi.new("ss_plugin_table_reader_vtable_ext*")
        self.writer_ext = ffi.new("ss_plugin_table_writer_vtable_ext*")
        fill_fields(self.fields_ext)
        fill_reader(self.reader_ext, ext=True)
        fill_writer(self.writer_ext)

    def init_tables_input(self) -> Any:
        tables = ffi.new("ss_plugin_init_tables_input*")
        tables.list_tables = _list_tables
        tables.get_table = _get_table
        tables.add_table = _add_table
        fill_fields(tables.fields)
        tables.fields_ext = self.fields_ext
        tables.reader_ext = self.reader_ext
        tables.writer_ext = self.writer_ext
        return tables

    def fill_extract_input(self, extract_input: Any) -> None:
        fill_reader(extract_input.table_reader, ext=False)
        extract_input.table_reader_ext = self.reader_ext

    def fill_parse_input(self, parse_input: Any) -> None:
        fill_reader(parse_input.table_reader, ext=False)
        fill_writer(parse_input.table_writer)
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


# -- plugin-owned tables -------------------------------------------------------------------------


@ffi.callback("void(ss_plugin_table_t*, ss_plugin_table_entry_t*)", onerror=lambda *e: None)
def _noop_release(t: Any, e: Any) -> None:
    return None


@ffi.callback(
    "ss_plugin_bool(ss_plugin_table_t*, ss_plugin_table_iterator_func_t, ss_plugin_table_iterator_state_t*)",
    onerror=lambda *e: 0,
)
def _noop_iterate(t: Any, it: Any, state: Any) -> int:
    return 0


@ffi.callback("ss_plugin_bool(ss_plugin_table_iterator_state_t*, ss_plugin_table_entry_t*)", onerror=lambda *e: 0)
def _collect(state: Any, e: Any) -> int:
    ffi.from_handle(state).append(ForeignEntry(e))
    return 1


_READER = ("get_table_name", "get_table_size", "get_table_entry", "read_entry_field")
_WRITER = (
    "clear_table", "erase_table_entry", "create_table_entry", "destroy_table_entry",
    "add_table_entry", "write_entry_field",
)  # fmt: skip
_FIELDS = ("list_table_fields", "get_table_field", "add_table_field")


def _same(a: Any, b: Any) -> bool:
    return a != NULL and ffi.cast("void*", a) == ffi.cast("void*", b)


class ForeignEntry:
    """An entry of a plugin-owned table: the owner's pointer."""

    __slots__ = ("ptr",)

    def __init__(self, ptr: Any) -> None:
        self.ptr = ptr


class ForeignField:
    """A field of a plugin-owned table: the owner's pointer and the type it was asked with."""

    __slots__ = ("ptr", "name", "type")

    def __init__(self, ptr: Any, name: str, state_type: int) -> None:
        self.ptr = ptr
        self.name = name
        self.type = StateType(state_type)


class ForeignTable(StateTable):
    """A table a plugin owns and registered with ``add_table``, checked and copied as libsinsp does.

    ``fwd_*`` methods serve other C plugins (raw pointers through, errors into the accessing
    owner); the other methods are the framework's table interface (see ``framework.tables.Table``),
    raising :class:`TableError` with the owning plugin's last error.
    """

    def __init__(self, owner: Any, name: str, key_type: StateType, table: Any, reader: Any, writer: Any, fields: Any) -> None:
        super().__init__()
        self.owner = owner  # the owning plugin's OwnerHandle
        self.name = name
        self.key_type = key_type
        self.ptr = table
        self.reader, self.writer, self.fieldsv = reader, writer, fields
        self._cname = ffi.new("char[]", name.encode())

    @property
    def owner_name(self) -> str:
        """The name of the plugin that owns the table."""
        return self.owner.name

    # -- add_table's checks (copy_and_check_table_input) -----------------------------------------
    @classmethod
    def from_input(cls, owner: Any, table_input: Any) -> ForeignTable:
        prefix = f"failure in adding state table defined by plugin '{owner.owner.name}': "
        if table_input == NULL:
            raise TableError(prefix + "input is null")
        key_type = int(table_input.key_type)
        if key_type not in _TYPE_NAMES:
            raise TableError(f"can't convert plugin state type to typeinfo: {key_type}")
        if table_input.name == NULL:
            raise TableError(prefix + "name is null")
        name = _decode(table_input.name)
        if key_type == ST.TABLE:
            raise TableError(f"error in state table '{name}' defined by plugin '{owner.owner.name}': invalid key type: table")
        reader = ffi.new("ss_plugin_table_reader_vtable_ext*")
        writer = ffi.new("ss_plugin_table_writer_vtable_ext*")
        fields = ffi.new("ss_plugin_table_fields_vtable_ext*")
        if owner.owner.api_minor < 1:  # before 3.1 there were no _ext vtables: rebuild them
            for n in _READER:
                setattr(reader, n, getattr(table_input.reader, n))
            reader.release_table_entry = _noop_release
            reader.iterate_entries = _noop_iterate
            for n in _WRITER:
                setattr(writer, n, getattr(table_input.writer, n))
            for n in _FIELDS:
                setattr(fields, n, getattr(table_input.fields, n))
        else:
            if NULL in (table_input.reader_ext, table_input.writer_ext, table_input.fields_ext):
                raise TableError(prefix + "extended vtables must all be defined")
            for n in (*_READER, "release_table_entry", "iterate_entries"):
                setattr(reader, n, getattr(table_input.reader_ext, n))
            for n in _WRITER:
                setattr(writer, n, getattr(table_input.writer_ext, n))
            for n in _FIELDS:
                setattr(fields, n, getattr(table_input.fields_ext, n))
        cls._check(prefix, "reader", reader, table_input.reader, _READER, ("release_table_entry", "iterate_entries"))
        cls._check(prefix, "writer", writer, table_input.writer, _WRITER, ())
        cls._check(prefix, "fields", fields, table_input.fields, _FIELDS, ())
        return cls(owner, name, StateType(key_type), table_input.table, reader, writer, fields)

    @staticmethod
    def _check(prefix: str, what: str, ext: Any, legacy: Any, names: tuple[str, ...], ext_only: tuple[str, ...]) -> None:
        """Each _ext function must be set and be the very function of the deprecated by-value vtable."""
        consistent = all(_same(getattr(ext, n), getattr(legacy, n)) for n in names)
        if not consistent or any(getattr(ext, n) == NULL for n in ext_only):
            raise TableError(f"{prefix}broken or inconsistent {what} vtables")

    # -- forwarding for C plugins -------------------------------------------------------------
    def _propagate(self, accessor: Any) -> None:
        accessor.set_error(self.owner.plugin_last_error() or "")

    def fwd_list_fields(self, accessor: Any, nfields: Any) -> Any:
        r = self.fieldsv.list_table_fields(self.ptr, nfields)
        if r == NULL:
            self._propagate(accessor)
        return r

    def fwd_get_field(self, accessor: Any, name: Any, state_type: int) -> Any:
        r = self.fieldsv.get_table_field(self.ptr, name, state_type)
        if r == NULL:
            self._propagate(accessor)
        return r

    def fwd_add_field(self, accessor: Any, name: Any, state_type: int) -> Any:
        r = self.fieldsv.add_table_field(self.ptr, name, state_type)
        if r == NULL:
            self._propagate(accessor)
        return r

    def fwd_size(self, accessor: Any) -> int:
        r = int(self.reader.get_table_size(self.ptr))
        if r == U64_ERROR:
            self._propagate(accessor)
        return r

    def fwd_get_entry(self, accessor: Any, key: Any) -> Any:
        r = self.reader.get_table_entry(self.ptr, key)
        if r == NULL:
            self._propagate(accessor)
        return r

    def fwd_read(self, accessor: Any, e: Any, f: Any, out: Any) -> int:
        rc = int(self.reader.read_entry_field(self.ptr, e, f, out))
        if rc == Rc.FAILURE:
            self._propagate(accessor)
        return rc

    def fwd_release(self, e: Any) -> None:
        self.reader.release_table_entry(self.ptr, e)

    def fwd_iterate(self, it: Any, state: Any) -> int:
        return int(self.reader.iterate_entries(self.ptr, it, state))

    def fwd_clear(self, accessor: Any) -> int:
        rc = int(self.writer.clear_table(self.ptr))
        if rc == Rc.FAILURE:
            self._propagate(accessor)
        return rc

    def fwd_erase(self, accessor: Any, key: Any) -> int:
        rc = int(self.writer.erase_table_entry(self.ptr, key))
        if rc == Rc.FAILURE:
            self._propagate(accessor)
        return rc

    def fwd_create(self, accessor: Any) -> Any:
        r = self.writer.create_table_entry(self.ptr)
        if r == NULL:
            self._propagate(accessor)
        return r

    def fwd_destroy(self, e: Any) -> None:
        self.writer.destroy_table_entry(self.ptr, e)

    def fwd_add(self, accessor: Any, key: Any, e: Any) -> Any:
        r = self.writer.add_table_entry(self.ptr, key, e)
        if r == NULL:
            self._propagate(accessor)
        return r

    def fwd_write(self, accessor: Any, e: Any, f: Any, value: Any) -> int:
        rc = int(self.writer.write_entry_field(self.ptr, e, f, value))
        if rc == Rc.FAILURE:
            self._propagate(accessor)
        return rc

    # -- the table interface for Python ---------------------------------------------------------
    def _error(self) -> TableError:
        return TableError(self.owner.plugin_last_error() or f"operation on table '{self.name}' failed")

    def _key_data(self, key: Any, keep: list[Any]) -> Any:
        data = ffi.new("ss_plugin_state_data*")
        if self.key_type == ST.STRING:
            buf = ffi.new("char[]", str(key).encode())
            keep.append(buf)
            data.str = buf
        elif self.key_type == ST.BOOL:
            data.b = 1 if key else 0
        else:
            setattr(data, _MEMBER[self.key_type], key)
        return data

    def fields(self) -> list[FieldDescr]:
        n = ffi.new("uint32_t*", 0)
        infos = self.fieldsv.list_table_fields(self.ptr, n)
        if infos == NULL:
            raise self._error()
        return [
            FieldDescr(_decode(infos[i].name), int(infos[i].field_type), bool(infos[i].read_only))
            for i in range(int(n[0]))
        ]

    def _field(self, fn: Any, name: str, state_type: int) -> ForeignField:
        ptr = fn(self.ptr, ffi.new("char[]", name.encode()), state_type)
        if ptr == NULL:
            raise self._error()
        return ForeignField(ptr, name, state_type)

    def get_field(self, name: str, state_type: int) -> ForeignField:
        return self._field(self.fieldsv.get_table_field, name, state_type)

    def add_field(self, name: str, state_type: int) -> ForeignField:
        if state_type == ST.TABLE:
            raise TableError(f"can't add dynamic field of type table: {name}")
        return self._field(self.fieldsv.add_table_field, name, state_type)

    def __len__(self) -> int:
        n = int(self.reader.get_table_size(self.ptr))
        if n == U64_ERROR:
            raise self._error()
        return n

    def get_entry(self, key: Any) -> ForeignEntry:
        keep: list[Any] = []
        ptr = self.reader.get_table_entry(self.ptr, self._key_data(key, keep))
        if ptr == NULL:
            raise self._error()
        return ForeignEntry(ptr)

    def entries(self) -> list[ForeignEntry]:
        found: list[ForeignEntry] = []
        self.reader.iterate_entries(self.ptr, _collect, ffi.new_handle(found))
        return found

    def clear(self) -> None:
        if self.writer.clear_table(self.ptr) != Rc.SUCCESS:
            raise self._error()

    def erase(self, key: Any) -> None:
        keep: list[Any] = []
        if self.writer.erase_table_entry(self.ptr, self._key_data(key, keep)) != Rc.SUCCESS:
            raise self._error()

    def new_entry(self) -> ForeignEntry:
        ptr = self.writer.create_table_entry(self.ptr)
        if ptr == NULL:
            raise self._error()
        return ForeignEntry(ptr)

    def add_entry(self, key: Any, entry: ForeignEntry) -> ForeignEntry:
        keep: list[Any] = []
        ptr = self.writer.add_table_entry(self.ptr, self._key_data(key, keep), entry.ptr)
        if ptr == NULL:
            raise self._error()
        return ForeignEntry(ptr)

    def destroy_entry(self, entry: ForeignEntry) -> None:
        self.writer.destroy_table_entry(self.ptr, entry.ptr)

    def release(self, entry: ForeignEntry) -> None:
        self.reader.release_table_entry(self.ptr, entry.ptr)

    def read(self, entry: ForeignEntry, field: ForeignField) -> Any:
        if field.type == ST.TABLE:
            raise TableError("reading table fields of plugin-owned tables from the host is not supported")
        out = ffi.new("ss_plugin_state_data*")
        if self.reader.read_entry_field(self.ptr, entry.ptr, field.ptr, out) != Rc.SUCCESS:
            raise self._error()
        return value_from_c(out, field.type)

    def write(self, entry: ForeignEntry, field: ForeignField, value: Any) -> None:
        if field.type == ST.TABLE:
            raise TableError("writing to table fields is currently not supported")
        data = ffi.new("ss_plugin_state_data*")
        keep: list[Any] = []
        if field.type == ST.STRING:
            buf = ffi.new("char[]", str(value).encode())
            keep.append(buf)
            data.str = buf
        elif field.type == ST.BOOL:
            data.b = 1 if value else 0
        else:
            setattr(data, _MEMBER[field.type], value)
        if self.writer.write_entry_field(self.ptr, entry.ptr, field.ptr, data) != Rc.SUCCESS:
            raise self._error()

    def row(self, key: Any) -> dict[str, Any]:
        entry = self.get_entry(key)
        try:
            return {
                d.name: self.read(entry, self.get_field(d.name, d.type))
                for d in self.fields() if d.type != ST.TABLE
            }
        finally:
            self.release(entry)

    def __repr__(self) -> str:
        return f"<ForeignTable {self.name} key={_TYPE_NAMES[self.key_type]} owner={self.owner.owner.name}>"
