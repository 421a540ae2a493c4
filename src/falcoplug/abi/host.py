"""Host-side callbacks handed to C plugins: the owner handle, logging, the owner's last error, and
the table vtables (an empty registry until state tables are wired in)."""

from __future__ import annotations

from typing import Any

from .constants import Rc
from .ffi import ffi


class OwnerHandle:
    """Keeps a Python owner reachable from C, and the C strings it hands out alive."""

    def __init__(self, owner: Any) -> None:
        self.owner = owner
        self.handle = ffi.new_handle(self)
        self._last_error_buf: Any = ffi.NULL

    def last_error_ptr(self) -> Any:
        text = getattr(self.owner, "last_error", None)
        if not text:
            return ffi.NULL
        self._last_error_buf = ffi.new("char[]", text.encode("utf-8", "replace"))
        return self._last_error_buf

    def set_error(self, text: str) -> None:
        try:
            self.owner.last_error = text
        except AttributeError:
            pass


def _owner(o: Any) -> OwnerHandle | None:
    if o == ffi.NULL:
        return None
    return ffi.from_handle(o)


def _decode(p: Any) -> str | None:
    return None if p == ffi.NULL else ffi.string(p).decode("utf-8", "replace")


@ffi.callback("const char*(ss_plugin_owner_t*)", onerror=lambda *exc: None)
def get_owner_last_error(o: Any) -> Any:
    handle = _owner(o)
    return ffi.NULL if handle is None else handle.last_error_ptr()


@ffi.callback("void(ss_plugin_owner_t*, const char*, const char*, ss_plugin_log_severity)", onerror=lambda *exc: None)
def log_fn(o: Any, component: Any, msg: Any, sev: int) -> None:
    handle = _owner(o)
    if handle is not None:
        handle.owner.log(_decode(component), _decode(msg) or "", int(sev))


# -- tables: an empty registry (no table is known, none can be added yet) -------------------------


@ffi.callback("ss_plugin_table_info*(ss_plugin_owner_t*, uint32_t*)", onerror=lambda *exc: ffi.NULL)
def _list_tables(o: Any, ntables: Any) -> Any:
    ntables[0] = 0
    return ffi.NULL


@ffi.callback("ss_plugin_table_t*(ss_plugin_owner_t*, const char*, ss_plugin_state_type)", onerror=lambda *exc: ffi.NULL)
def _get_table(o: Any, name: Any, key_type: int) -> Any:
    handle = _owner(o)
    if handle is not None:
        handle.set_error(f"table not found: {_decode(name)}")
    return ffi.NULL


@ffi.callback("ss_plugin_rc(ss_plugin_owner_t*, const ss_plugin_table_input*)", onerror=lambda *exc: Rc.FAILURE)
def _add_table(o: Any, table_input: Any) -> int:
    handle = _owner(o)
    if handle is not None:
        handle.set_error("this host does not accept plugin-owned tables")
    return Rc.FAILURE


@ffi.callback("const ss_plugin_table_fieldinfo*(ss_plugin_table_t*, uint32_t*)", onerror=lambda *exc: ffi.NULL)
def _list_fields(t: Any, n: Any) -> Any:
    n[0] = 0
    return ffi.NULL


@ffi.callback("ss_plugin_table_field_t*(ss_plugin_table_t*, const char*, ss_plugin_state_type)", onerror=lambda *exc: ffi.NULL)
def _get_field(t: Any, name: Any, data_type: int) -> Any:
    return ffi.NULL


@ffi.callback("const char*(ss_plugin_table_t*)", onerror=lambda *exc: ffi.NULL)
def _table_name(t: Any) -> Any:
    return ffi.NULL


@ffi.callback("uint64_t(ss_plugin_table_t*)", onerror=lambda *exc: 0xFFFFFFFFFFFFFFFF)
def _table_size(t: Any) -> int:
    return 0xFFFFFFFFFFFFFFFF


@ffi.callback("ss_plugin_table_entry_t*(ss_plugin_table_t*, const ss_plugin_state_data*)", onerror=lambda *exc: ffi.NULL)
def _get_entry(t: Any, key: Any) -> Any:
    return ffi.NULL


@ffi.callback(
    "ss_plugin_rc(ss_plugin_table_t*, ss_plugin_table_entry_t*, const ss_plugin_table_field_t*, ss_plugin_state_data*)",
    onerror=lambda *exc: Rc.FAILURE,
)
def _read_field(t: Any, e: Any, f: Any, out: Any) -> int:
    return Rc.FAILURE


@ffi.callback("void(ss_plugin_table_t*, ss_plugin_table_entry_t*)", onerror=lambda *exc: None)
def _release_entry(t: Any, e: Any) -> None:
    return None


@ffi.callback(
    "ss_plugin_bool(ss_plugin_table_t*, ss_plugin_table_iterator_func_t, ss_plugin_table_iterator_state_t*)",
    onerror=lambda *exc: 0,
)
def _iterate(t: Any, it: Any, s: Any) -> int:
    return 0


@ffi.callback("ss_plugin_rc(ss_plugin_table_t*)", onerror=lambda *exc: Rc.FAILURE)
def _clear(t: Any) -> int:
    return Rc.FAILURE


@ffi.callback("ss_plugin_rc(ss_plugin_table_t*, const ss_plugin_state_data*)", onerror=lambda *exc: Rc.FAILURE)
def _erase(t: Any, key: Any) -> int:
    return Rc.FAILURE


@ffi.callback("ss_plugin_table_entry_t*(ss_plugin_table_t*)", onerror=lambda *exc: ffi.NULL)
def _create_entry(t: Any) -> Any:
    return ffi.NULL


@ffi.callback("void(ss_plugin_table_t*, ss_plugin_table_entry_t*)", onerror=lambda *exc: None)
def _destroy_entry(t: Any, e: Any) -> None:
    return None


@ffi.callback(
    "ss_plugin_table_entry_t*(ss_plugin_table_t*, const ss_plugin_state_data*, ss_plugin_table_entry_t*)",
    onerror=lambda *exc: ffi.NULL,
)
def _add_entry(t: Any, key: Any, e: Any) -> Any:
    return ffi.NULL


@ffi.callback(
    "ss_plugin_rc(ss_plugin_table_t*, ss_plugin_table_entry_t*, const ss_plugin_table_field_t*, const ss_plugin_state_data*)",
    onerror=lambda *exc: Rc.FAILURE,
)
def _write_field(t: Any, e: Any, f: Any, value: Any) -> int:
    return Rc.FAILURE


def _fill_fields(v: Any) -> None:
    v.list_table_fields = _list_fields
    v.get_table_field = _get_field
    v.add_table_field = _get_field


def _fill_reader(v: Any, ext: bool) -> None:
    v.get_table_name = _table_name
    v.get_table_size = _table_size
    v.get_table_entry = _get_entry
    v.read_entry_field = _read_field
    if ext:
        v.release_table_entry = _release_entry
        v.iterate_entries = _iterate


def _fill_writer(v: Any) -> None:
    v.clear_table = _clear
    v.erase_table_entry = _erase
    v.create_table_entry = _create_entry
    v.destroy_table_entry = _destroy_entry
    v.add_table_entry = _add_entry
    v.write_entry_field = _write_field


class TableVtables:
    """The vtables every init, extract and parse input points to; allocated once per process."""

    def __init__(self) -> None:
        self.fields_ext = ffi.new("ss_plugin_table_fields_vtable_ext*")
        self.reader_ext = ffi.new("ss_plugin_table_reader_vtable_ext*")
        self.writer_ext = ffi.new("ss_plugin_table_writer_vtable_ext*")
        _fill_fields(self.fields_ext)
        _fill_reader(self.reader_ext, ext=True)
        _fill_writer(self.writer_ext)

    def init_tables_input(self) -> Any:
        tables = ffi.new("ss_plugin_init_tables_input*")
        tables.list_tables = _list_tables
        tables.get_table = _get_table
        tables.add_table = _add_table
        _fill_fields(tables.fields)
        tables.fields_ext = self.fields_ext
        tables.reader_ext = self.reader_ext
        tables.writer_ext = self.writer_ext
        return tables

    def fill_extract_input(self, extract_input: Any) -> None:
        _fill_reader(extract_input.table_reader, ext=False)
        extract_input.table_reader_ext = self.reader_ext


_vtables: TableVtables | None = None


def table_vtables() -> TableVtables:
    global _vtables
    if _vtables is None:
        _vtables = TableVtables()
    return _vtables
