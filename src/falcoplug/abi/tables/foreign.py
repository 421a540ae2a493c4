"""Plugin -> host: a table a plugin registers with ``add_table``, checked as libsinsp checks it."""

from __future__ import annotations

from typing import Any

from ...backend import FieldDescr, StateTable, TableError
from ..constants import Rc, StateType
from ..ffi import ffi
from .values import _MEMBER, _TYPE_NAMES, NULL, ST, U64_ERROR, _decode, value_from_c

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
