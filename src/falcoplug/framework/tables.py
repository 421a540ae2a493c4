"""State tables as libsinsp shares them between the host and plugins: the registry, and the host's
own tables as plain Python objects with typed fields.

A table maps keys (one scalar state type) to entries; every entry of a table has the same fields:
static fields, fixed when the table is made, and dynamic fields that plugins add at run time and
that then exist in every entry (present and future, default 0 / "" / false). A field of type
``table`` holds a sub-table per entry; the sub-tables of one field share their field definitions
(a :class:`Schema`), so a field obtained on one of them works on all of them.

Errors are :class:`TableError` with libsinsp's texts: the C adapter (``abi/tables/``) turns each
into the owner's last error and a failing return code. Nothing here touches cffi; the ``_c`` slots
are reserved for the C adapter, which caches its handles there.

Host tables are safe to use from several threads (the async handler and routines run on other
threads): structural changes take the schema's lock; reading and writing a value is one list
operation, atomic under the GIL.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..api import STATE_INT_RANGES, STATE_TYPE_NAMES, StateType, state_zero_value
from ..backend import FieldDescr, StateTable, TableError, check_dynamic_field, check_table_field

# The interface every table implements, the host's and the plugins' (see ``backend.StateTable``).
Table = StateTable

ST = StateType

TYPE_NAMES = STATE_TYPE_NAMES
SCALAR_TYPES = frozenset(TYPE_NAMES) - {ST.TABLE}
INT_RANGES = STATE_INT_RANGES


def type_name(state_type: int) -> str:
    """libsinsp's name of a state type; an unknown number is an error, as in libsinsp."""
    try:
        return TYPE_NAMES[state_type]
    except KeyError:
        raise TableError(f"can't convert plugin state type to typeinfo: {int(state_type)}") from None


def check_value(state_type: int, value: Any) -> Any:
    """A Python value checked (and normalized) for a field or key of ``state_type``."""
    if state_type == ST.STRING:
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if not isinstance(value, str):
            raise TableError(f"value of type {type(value).__name__} is not a string")
        return value
    if state_type == ST.BOOL:
        return bool(value)
    limits = INT_RANGES.get(state_type)
    if limits is None:
        raise TableError(f"can't convert plugin state type to typeinfo: {int(state_type)}")
    if isinstance(value, bool) or not isinstance(value, int):
        raise TableError(f"value {value!r} is not an integer for a field of type {TYPE_NAMES[state_type]}")
    if not limits[0] <= value <= limits[1]:
        raise TableError(f"value {value} out of range for type {TYPE_NAMES[state_type]}")
    return value


@dataclass(frozen=True)
class SubTable:
    """How the sub-tables of a ``table`` field are made: their name, key type and shared schema."""

    name: str
    key_type: StateType
    schema: Schema


@dataclass(frozen=True)
class FieldSpec:
    """A static field to define: its default and whether plugins may write it."""

    name: str
    type: StateType
    default: Any = None
    read_only: bool = False
    sub: SubTable | None = None


class Field:
    """A field of a schema; its position in every entry's value list is ``index``."""

    __slots__ = ("name", "type", "read_only", "dynamic", "index", "schema", "default", "sub", "_c")

    def __init__(
        self, name: str, type: StateType, index: int, schema: Schema, *,
        dynamic: bool, read_only: bool = False, default: Any = None, sub: SubTable | None = None,
    ) -> None:  # fmt: skip
        self.name = name
        self.type = StateType(type)
        self.index = index
        self.schema = schema
        self.dynamic = dynamic
        self.read_only = read_only
        self.default = state_zero_value(type) if default is None else default
        self.sub = sub
        self._c: Any = None  # reserved for the C adapter (the field's pointer)

    def descr(self) -> FieldDescr:
        return FieldDescr(self.name, self.type, self.read_only)

    def __repr__(self) -> str:
        kind = "dynamic" if self.dynamic else "static"
        return f"<Field {self.name} {TYPE_NAMES[self.type]} {kind}{' ro' if self.read_only else ''}>"


class Schema:
    """The fields shared by every entry of a table (or by every sub-table of one field)."""

    def __init__(self, static: Sequence[FieldSpec] = ()) -> None:
        self.lock = threading.RLock()
        self.fields: dict[str, Field] = {}
        self.order: list[Field] = []
        for spec in static:
            if spec.name in self.fields:
                raise TableError(f"multiple definitions of static field in struct: {spec.name}")
            type_name(spec.type)
            if spec.type == ST.TABLE and spec.sub is None:
                raise TableError(f"static field of type table without a sub-table definition: {spec.name}")
            self._append(Field(
                spec.name, spec.type, len(self.order), self, dynamic=False,
                read_only=spec.read_only, default=spec.default, sub=spec.sub,
            ))  # fmt: skip
        self.n_static = len(self.order)

    def _append(self, field: Field) -> Field:
        self.fields[field.name] = field
        self.order.append(field)
        return field

    def new_values(self) -> list[Any]:
        """The values of a new entry: static defaults, a fresh sub-table per ``table`` field."""
        values = []
        for field in self.order[: self.n_static]:
            if field.sub is not None:
                values.append(HostTable(field.sub.name, field.sub.key_type, field.sub.schema))
            else:
                values.append(field.default)
        return values

    def get(self, name: str, state_type: int, table_name: str) -> Field:
        return check_table_field(self.fields.get(name), name, state_type, table_name)

    def add_dynamic(self, name: str, state_type: int) -> Field:
        with self.lock:
            field = self.fields.get(name)
            if check_dynamic_field(field, name, state_type):
                return field
            return self._append(Field(name, StateType(state_type), len(self.order), self, dynamic=True))

    def descrs(self) -> list[FieldDescr]:
        return [f.descr() for f in self.order]


class Entry:
    """One entry: its values in schema order (dynamic fields added later may be missing: defaults)."""

    __slots__ = ("values", "schema", "table", "key", "__weakref__")

    def __init__(self, schema: Schema) -> None:
        self.values = schema.new_values()
        self.schema = schema
        self.table: HostTable | None = None  # None while detached (created, not yet added)
        self.key: Any = None

    def __repr__(self) -> str:
        where = "detached" if self.table is None else f"{self.table.name}[{self.key!r}]"
        return f"<Entry {where}>"


class HostTable(Table):
    """A table owned by the host: a dict from key to :class:`Entry`."""

    def __init__(self, name: str, key_type: StateType, schema: Schema | None = None) -> None:
        super().__init__()
        if key_type not in SCALAR_TYPES:
            raise TableError(f"invalid key type for table '{name}': {type_name(key_type)}")
        self.name = name
        self.key_type = StateType(key_type)
        self.schema = schema if schema is not None else Schema()
        self._entries: dict[Any, Entry] = {}

    # -- fields ------------------------------------------------------------------------------
    def fields(self) -> list[FieldDescr]:
        return self.schema.descrs()

    def get_field(self, name: str, state_type: int) -> Field:
        return self.schema.get(name, state_type, self.name)

    def add_field(self, name: str, state_type: int) -> Field:
        return self.schema.add_dynamic(name, state_type)

    # -- entries -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Any) -> bool:
        return key in self._entries

    def keys(self) -> list[Any]:
        return list(self._entries)

    def get_entry(self, key: Any) -> Entry:
        entry = self._entries.get(key)
        if entry is None:
            raise TableError("get_entry found no element at given key")
        return entry

    def find(self, key: Any) -> Entry | None:
        return self._entries.get(key)

    def entries(self) -> list[Entry]:
        return list(self._entries.values())

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries())

    def clear(self) -> None:
        with self.schema.lock:
            for entry in self._entries.values():
                entry.table = None
            self._entries.clear()

    def erase(self, key: Any) -> None:
        with self.schema.lock:
            entry = self._entries.pop(self.check_key(key), None)
        if entry is None:
            raise TableError("table entry not found")
        entry.table = None

    def new_entry(self) -> Entry:
        return Entry(self.schema)

    def add_entry(self, key: Any, entry: Entry) -> Entry:
        """Insert a detached entry at ``key``, replacing any entry there (as libsinsp does)."""
        key = self.check_key(key)
        if not isinstance(entry, Entry) or entry.schema is not self.schema:
            raise TableError(f"entry added to table '{self.name}' was not created by it")
        if entry.table is not None:
            raise TableError(f"entry added to table '{self.name}' is already in a table")
        with self.schema.lock:
            old = self._entries.get(key)
            if old is not None:
                old.table = None
            entry.table, entry.key = self, key
            self._on_add(key, entry)
            self._entries[key] = entry
        return entry

    def _on_add(self, key: Any, entry: Entry) -> None:
        """Hook for tables whose entries repeat their key in a field (``threads``: ``tid``)."""

    def check_key(self, key: Any) -> Any:
        return check_value(self.key_type, key)

    def direct_entries(self) -> dict[Any, Entry] | None:
        """The key -> entry dict, for the compiled table vtables (``abi/c/tables.c``) to look up
        entries and read and write values in them directly, exactly as :meth:`get_entry`,
        :meth:`read` and :meth:`write_checked` do (anything else they leave to these methods);
        ``None`` for a subclass that changes one of them. The dict is never replaced."""
        cls = type(self)
        same = all(
            getattr(cls, name) is getattr(HostTable, name)
            for name in ("get_entry", "read", "write_checked", "store", "release", "__len__")
        )
        return self._entries if same else None

    # -- values ------------------------------------------------------------------------------
    def read(self, entry: Entry, field: Field) -> Any:
        if field.schema is not entry.schema:
            raise TableError(f"using dynamic field accessor on struct it was not created from: {field.name}")
        values = entry.values
        index = field.index
        return values[index] if index < len(values) else field.default

    def write(self, entry: Entry, field: Field, value: Any) -> None:
        self.write_checked(entry, field, check_value(field.type, value))

    def write_checked(self, entry: Entry, field: Field, value: Any) -> None:
        """:meth:`write` for a value already of the field's type (the C adapter's, typed by the
        C union): the table's rules, without checking the value again."""
        if field.type == ST.TABLE:
            raise TableError("writing to table fields is currently not supported")
        if field.schema is not entry.schema:
            raise TableError(f"using dynamic field accessor on struct it was not created from: {field.name}")
        if field.read_only:
            raise TableError(f"can't set a read-only static struct field: {field.name}")
        self.store(entry, field, value)

    def store(self, entry: Entry, field: Field, value: Any) -> None:
        """Write an already checked value (the C adapter's values are typed by the C union)."""
        values = entry.values
        index = field.index
        if index < len(values):
            values[index] = value
            return
        with self.schema.lock:  # growing the list for dynamic fields added since the entry was made
            order = self.schema.order
            while len(values) < index:
                values.append(order[len(values)].default)
            if len(values) == index:
                values.append(value)
            else:
                values[index] = value

    def __repr__(self) -> str:
        return f"<HostTable {self.name} key={TYPE_NAMES[self.key_type]} entries={len(self._entries)}>"


class TableRegistry:
    """Every table plugins can reach by name: the host's (``threads``) and the plugins' own."""

    def __init__(self) -> None:
        self._tables: dict[str, Table] = {}
        self._lock = threading.Lock()
        self.users: set[str] = set()  # plugins that took or added a table (their state is shared)

    def note_user(self, plugin_name: str) -> None:
        self.users.add(plugin_name)

    def add(self, table: Table) -> Table:
        with self._lock:
            if table.name in self._tables:
                raise TableError(f"table added to registry multiple times: {table.name}")
            self._tables[table.name] = table
        return table

    def discard_owned_by(self, plugin_name: str) -> None:
        """Forget the tables a plugin owns (when the plugin is destroyed, they are gone)."""
        with self._lock:
            for name, table in list(self._tables.items()):
                if getattr(table, "owner_name", None) == plugin_name:
                    del self._tables[name]

    def get(self, name: str, key_type: int | None = None) -> Table | None:
        """The table called ``name`` (``None`` when there is none); with ``key_type``, checked."""
        table = self._tables.get(name)
        if table is None or key_type is None:
            return table
        requested = type_name(key_type)
        if table.key_type != key_type:
            raise TableError(
                f"table in registry accessed with wrong key type: table='{name}', "
                f"requested='{requested}', actual='{TYPE_NAMES[table.key_type]}'"
            )
        return table

    def list(self) -> list[tuple[str, StateType]]:
        return [(t.name, t.key_type) for t in self._tables.values()]

    def __getitem__(self, name: str) -> Table:
        table = self._tables.get(name)
        if table is None:
            raise KeyError(name)
        return table

    def __contains__(self, name: object) -> bool:
        return name in self._tables

    def __iter__(self) -> Iterator[Table]:
        return iter(list(self._tables.values()))

    def __len__(self) -> int:
        return len(self._tables)

    def __repr__(self) -> str:
        return f"<TableRegistry {sorted(self._tables)}>"
