"""State tables: the host's tables (and other plugins'), read and written with type hints, and
tables a plugin owns and shares.

**Tables you access** are declared by the fields you use, as a class whose annotations are the
field types, and a :class:`TableAccess` on the plugin class::

    class Thread(TableFields):
        comm: str                       # a field the table has (its type is checked at init)
        pid: int                        # any integer type the table declares
        samples: Dynamic[int]           # a dynamic field this plugin adds (int64 unless it exists)
        file_descriptors: AccessedTable[int, Fd]   # a sub-table, with its own fields class

    class MyPlugin(ParsePlugin):
        threads = TableAccess("threads", key=int, fields=Thread)

        def parse(self, event: Event) -> None:
            thread = self.threads.get(event.tid)      # a Thread view, or None
            if thread is not None:
                thread.samples += 1                    # read and write through the host's vtables

The host resolves the declaration when it initializes the plugin (before :meth:`init` runs), so a
missing table or a field of the wrong type fails ``init`` with the host's message. At run time
``self.threads`` is an :class:`AccessedTable`: ``table[key]``, ``table.get(key)``, ``key in
table``, ``len(table)``, iteration, ``table.add(key, **values)``, ``table.erase(key)`` and
``table.clear()``; fields not declared are reached by name (``entry["exe"]``) or with
``table.field(name)`` / ``table.add_field(name, type)``.

**Tables you own** are declared by their entry class, a :class:`TableEntry` whose annotated
attributes are the fields other plugins see (``Readonly[...]``: they may not write it,
``Private[...]``: they do not see it), and an :class:`OwnedTable` on the plugin class (or
``self.tables.add(Table(...))`` in ``init``)::

    class Sample(TableEntry):
        count: int = 0                  # public: others read and write it
        label: Readonly[str] = ""       # others read it only
        history: Private[list] = []     # only this plugin sees it (mutable defaults are copied)

    class MyPlugin(ParsePlugin):
        samples = OwnedTable("samples", key=str, entry=Sample)

``self.samples`` is then a :class:`Table`, a dict-like object of plain ``Sample`` objects: the
plugin uses it with no table call at all; other plugins and the host reach the same objects
through the plugin API's vtables.

Integer widths: ``int`` is the table's own integer type for a field that exists, else ``Int64``;
``Int8`` … ``UInt64`` name a width explicitly (values are checked against it). Strings may not
hold a NUL character (the host stores C strings).
"""

from __future__ import annotations

import copy
import threading
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, Any, ClassVar, Generic, Protocol, TypeVar, overload

from ..api import STATE_INT_RANGES, STATE_TYPE_NAMES, StateType
from ..backend import FieldDescr, StateTable, TableError, check_dynamic_field, check_table_field
from .info import PluginDefinitionError

__all__ = [
    "AccessedTable", "Dynamic", "Field", "Int16", "Int32", "Int64", "Int8", "OwnedTable", "Private", "Readonly",
    "StateType", "Table", "TableAccess", "TableEntry", "TableError", "TableFields", "Tables", "UInt16", "UInt32",
    "UInt64", "UInt8", "field_named",
]  # fmt: skip

ST = StateType
T = TypeVar("T")
K = TypeVar("K")
F = TypeVar("F", bound="TableFields")
E = TypeVar("E", bound="TableEntry")


# -- type markers ---------------------------------------------------------------------------------


class _Flag:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


_DYNAMIC = _Flag("Dynamic")
_READONLY = _Flag("Readonly")
_PRIVATE = _Flag("Private")

Dynamic = Annotated[T, _DYNAMIC]
"""A field of an accessed table that this plugin adds (``add_table_field``) if it is not there."""
Readonly = Annotated[T, _READONLY]
"""A field of an owned table that other plugins and the host may read but not write."""
Private = Annotated[T, _PRIVATE]
"""An attribute of an owned table's entries that other plugins and the host do not see."""

Int8 = Annotated[int, ST.INT8]
Int16 = Annotated[int, ST.INT16]
Int32 = Annotated[int, ST.INT32]
Int64 = Annotated[int, ST.INT64]
UInt8 = Annotated[int, ST.UINT8]
UInt16 = Annotated[int, ST.UINT16]
UInt32 = Annotated[int, ST.UINT32]
UInt64 = Annotated[int, ST.UINT64]

TYPE_NAMES = STATE_TYPE_NAMES
INT_TYPES = frozenset({ST.INT8, ST.INT16, ST.INT32, ST.INT64, ST.UINT8, ST.UINT16, ST.UINT32, ST.UINT64})
INT_RANGES = STATE_INT_RANGES


def type_name(state_type: int) -> str:
    return TYPE_NAMES.get(state_type, str(state_type))


def zero_value(state_type: int) -> Any:
    if state_type == ST.STRING:
        return ""
    if state_type == ST.BOOL:
        return False
    if state_type == ST.TABLE:
        return None
    return 0


def check_value(state_type: int, value: Any, what: str) -> Any:
    """``value`` checked for a field (or key) of ``state_type``; ``what`` names it in the error."""
    if state_type == ST.STRING:
        if type(value) is not str:
            if not isinstance(value, str):
                raise TableError(f"{what}: expected a str, got {type(value).__name__}")
            value = str(value)
        if "\0" in value:
            raise TableError(f"{what}: a string value may not hold a NUL character")
        return value
    if state_type == ST.BOOL:
        if not isinstance(value, bool):
            raise TableError(f"{what}: expected a bool, got {type(value).__name__}")
        return value
    limits = INT_RANGES.get(state_type)
    if limits is None:
        raise TableError(f"{what}: cannot write a value of type {type_name(state_type)}")
    if isinstance(value, bool) or not isinstance(value, int):
        raise TableError(f"{what}: expected an int, got {type(value).__name__}")
    if not limits[0] <= value <= limits[1]:
        raise TableError(f"{what}: {value} is out of range for {type_name(state_type)}")
    return int(value)


# -- reading annotations ----------------------------------------------------------------------------


class _Kind:
    """What an annotation says about a field: its Python kind, its state type if fixed, its flags."""

    __slots__ = ("kind", "state_type", "flags", "sub_key", "sub_fields", "python")

    def __init__(self, kind: str, state_type: StateType | None, flags: frozenset[_Flag], python: Any = None,
                 sub_key: _Kind | None = None, sub_fields: type[TableFields] | None = None) -> None:  # fmt: skip
        self.kind = kind  # "int", "str", "bool", "table" or "other" (private attributes only)
        self.state_type = state_type
        self.flags = flags
        self.python = python
        self.sub_key = sub_key
        self.sub_fields = sub_fields


def _kind_of(hint: Any, where: str) -> _Kind:
    flags: set[_Flag] = set()
    state_type: StateType | None = None
    while typing.get_origin(hint) is Annotated:
        args = typing.get_args(hint)
        hint = args[0]
        for meta in args[1:]:
            if isinstance(meta, _Flag):
                flags.add(meta)
            elif isinstance(meta, StateType):
                state_type = meta
    frozen = frozenset(flags)
    if hint is bool:
        return _Kind("bool", ST.BOOL, frozen, bool)
    if hint is str:
        return _Kind("str", ST.STRING, frozen, str)
    if hint is int:
        if state_type is not None and state_type not in INT_TYPES:
            raise TypeError(f"{where}: {state_type.name} is not an integer type")
        return _Kind("int", state_type, frozen, int)
    if typing.get_origin(hint) is AccessedTable:
        args = typing.get_args(hint)
        if len(args) != 2:
            raise TypeError(f"{where}: a sub-table is declared as AccessedTable[KeyType, FieldsClass]")
        key = _kind_of(args[0], where)
        if key.kind not in ("int", "str", "bool"):
            raise TypeError(f"{where}: the key of a sub-table must be int, str or bool")
        fields = args[1]
        if fields is Any or fields is typing.Any:
            fields = TableFields
        if not (isinstance(fields, type) and issubclass(fields, TableFields)):
            raise TypeError(f"{where}: the fields of a sub-table must be a TableFields class, not {fields!r}")
        return _Kind("table", ST.TABLE, frozen, None, key, fields)
    return _Kind("other", None, frozen, hint)


def _hints(cls: type, base: type) -> dict[str, Any]:
    """The annotations of ``cls`` and its bases up to ``base`` (excluded), resolved."""
    out: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if klass is base or not issubclass(klass, base):
            continue
        own = klass.__dict__.get("__annotations__", {})
        if not own:
            continue
        try:
            resolved = typing.get_type_hints(klass, include_extras=True)
        except Exception as exc:  # noqa: BLE001 - the author's annotation error, with the class named
            raise PluginDefinitionError(f"{klass.__qualname__}: cannot resolve the annotations: {exc}") from None
        for name in own:
            hint = resolved.get(name)
            if typing.get_origin(hint) is ClassVar or hint is ClassVar:
                continue
            out[name] = hint
    return out


def _key_type(key: Any, where: str, *, owned: bool) -> tuple[str, StateType | None]:
    """The kind of a key (int, str, bool) and its state type (``None``: any integer type)."""
    if isinstance(key, StateType):
        if key == ST.TABLE:
            raise PluginDefinitionError(f"{where}: a table key cannot be a table")
        return ("str" if key == ST.STRING else "bool" if key == ST.BOOL else "int"), key
    try:
        kind = _kind_of(key, where)
    except TypeError as exc:
        raise PluginDefinitionError(str(exc)) from None
    if kind.kind not in ("int", "str", "bool"):
        raise PluginDefinitionError(f"{where}: the key type must be int (or Int8 ... UInt64), str or bool, not {key!r}")
    state_type = kind.state_type
    if state_type is None and owned:
        state_type = ST.INT64
    return kind.kind, state_type


# -- accessed tables: declaring the fields ------------------------------------------------------------


class field_named:  # noqa: N801 - used like a function in class bodies
    """The table's name for a field whose name is not a Python identifier::

        class Thread(TableFields):
            count: Dynamic[UInt64] = field_named("testparse.count")
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError("field_named() takes a non-empty field name")
        self.name = name


class _Spec:
    """One declared field of a :class:`TableFields` class."""

    __slots__ = ("slot", "attr", "name", "kind", "dynamic")

    def __init__(self, slot: int, attr: str, name: str, kind: _Kind, dynamic: bool) -> None:
        self.slot = slot
        self.attr = attr
        self.name = name
        self.kind = kind
        self.dynamic = dynamic


class _Layout:
    """The declared fields of a :class:`TableFields` class, in declaration order."""

    __slots__ = ("cls", "specs", "by_name")

    def __init__(self, cls: type[TableFields]) -> None:
        self.cls = cls
        specs = []
        for attr, hint in _hints(cls, TableFields).items():
            where = f"{cls.__qualname__}.{attr}"
            try:
                kind = _kind_of(hint, where)
            except TypeError as exc:
                raise PluginDefinitionError(str(exc)) from None
            if kind.kind == "other":
                raise PluginDefinitionError(
                    f"{where}: {hint!r} is not a table field type (int, Int8 ... UInt64, str, bool, "
                    "AccessedTable[K, Fields], or Dynamic[...] of a scalar)"
                )
            if _READONLY in kind.flags or _PRIVATE in kind.flags:
                raise PluginDefinitionError(f"{where}: Readonly and Private apply to owned tables (TableEntry)")
            dynamic = _DYNAMIC in kind.flags
            if dynamic and kind.kind == "table":
                raise PluginDefinitionError(f"{where}: a dynamic field cannot be a table (the host refuses it)")
            default = cls.__dict__.get(attr)
            name = default.name if isinstance(default, field_named) else attr
            specs.append(_Spec(len(specs), attr, name, kind, dynamic))
        self.specs: tuple[_Spec, ...] = tuple(specs)
        self.by_name = {s.name: s for s in specs} | {s.attr: s for s in specs}
        for spec in specs:  # the descriptors that read and write through the table
            setattr(cls, spec.attr, _TableSlot(spec) if spec.kind.kind == "table" else _Slot(spec))


class TableFields:
    """Base of the classes that declare the fields of a table a plugin accesses.

    Each annotated attribute is a field (see the module docstring for the types); an instance is a
    view of one entry: reading an attribute reads the field through the host, assigning it writes
    it (``+=`` does both). A view obtained with ``table[key]`` keeps the host's entry until the
    view is dropped. ``entry[name]`` and ``entry[field]`` reach fields not declared here.
    """

    __slots__ = ("_t", "_e", "_hold")
    _t: AccessedTable[Any, Any]
    _e: Any

    @classmethod
    def _layout(cls) -> _Layout:
        layout = cls.__dict__.get("_falcoplug_layout")
        if layout is None:
            layout = _Layout(cls)
            cls._falcoplug_layout = layout  # type: ignore[attr-defined]
        return layout

    # -- fields by name or Field ---------------------------------------------------------------
    def __getitem__(self, key: str | Field) -> Any:
        t = self._t
        f = t._runtime_field(key)
        if f.type == ST.TABLE:
            return t._sub_from_field(self._e, f)
        return t._b.read(self._e, f.handle)

    def __setitem__(self, key: str | Field, value: Any) -> None:
        t = self._t
        f = t._runtime_field(key)
        if f.type == ST.TABLE:
            raise TableError("writing to table fields is currently not supported")
        t._b.write(self._e, f.handle, check_value(f.type, value, f"field {f.name} of table {t.name}"))

    def as_dict(self) -> dict[str, Any]:
        """The declared scalar fields, by attribute name."""
        return {s.attr: getattr(self, s.attr) for s in type(self)._layout().specs if s.kind.kind != "table"}

    @property
    def table(self) -> AccessedTable[Any, Any]:
        return self._t

    def __repr__(self) -> str:
        try:
            values = ", ".join(f"{k}={v!r}" for k, v in self.as_dict().items())
        except Exception as exc:  # noqa: BLE001 - a repr never raises
            values = f"<unreadable: {exc}>"
        return f"<{type(self).__name__} of {self._t.name}: {values}>"


class _Slot:
    """Reads and writes one declared scalar field of a view."""

    __slots__ = ("slot", "attr", "name")

    def __init__(self, spec: _Spec) -> None:
        self.slot = spec.slot
        self.attr = spec.attr
        self.name = spec.name

    def __get__(self, view: TableFields | None, owner: type | None = None) -> Any:
        if view is None:
            return self
        t = view._t
        return t._read(view._e, t._handles[self.slot])

    def __set__(self, view: TableFields, value: Any) -> None:
        t = view._t
        bounds = t._ranges[self.slot]
        if type(value) is not int or bounds is None or not bounds[0] <= value <= bounds[1]:
            value = check_value(t._types[self.slot], value, f"field {self.name} of table {t.name}")
        t._write(view._e, t._handles[self.slot], value)


class _TableSlot(_Slot):
    """A declared sub-table field: reading gives an :class:`AccessedTable`."""

    __slots__ = ()

    def __get__(self, view: TableFields | None, owner: type | None = None) -> Any:
        if view is None:
            return self
        return view._t._sub(view._e, self.slot)

    def __set__(self, view: TableFields, value: Any) -> None:
        raise TableError("writing to table fields is currently not supported")


class Field:
    """A field reached at run time (``table.field(name)``, ``table.add_field(name, type)``): use it
    as ``entry[field]``."""

    __slots__ = ("name", "type", "handle", "sub")

    def __init__(self, name: str, state_type: StateType, handle: Any) -> None:
        self.name = name
        self.type = StateType(state_type)
        self.handle = handle
        self.sub: _Bound | None = None  # the fields of its sub-tables, once one was read

    def __repr__(self) -> str:
        return f"<Field {self.name} {type_name(self.type)}>"


# -- what a table is reached through ---------------------------------------------------------------


class TableBackend(Protocol):
    """One table as the host lets a plugin reach it (the in-process and the exported adapters)."""

    name: str
    key_type: StateType
    needs_release: bool

    def fields(self) -> list[FieldDescr]: ...
    def get_field(self, name: str, state_type: int) -> Any: ...
    def add_field(self, name: str, state_type: int) -> Any: ...
    def size(self) -> int: ...
    def get_entry(self, key: Any) -> Any: ...  # None when there is none
    def release(self, entry: Any) -> None: ...
    def entries(self) -> list[Any]: ...
    def read(self, entry: Any, field: Any) -> Any: ...
    def read_table(self, entry: Any, field: Any) -> TableBackend | None: ...
    def write(self, entry: Any, field: Any, value: Any) -> None: ...
    def erase(self, key: Any) -> None: ...
    def clear(self) -> None: ...
    def new_entry(self) -> Any: ...
    def destroy_entry(self, entry: Any) -> None: ...
    def add_entry(self, key: Any, entry: Any) -> Any: ...


class TableHost(Protocol):
    """The host's side of the init input's tables: list, get and add tables."""

    def list_tables(self) -> list[tuple[str, int]]: ...
    def get_table(self, name: str, key_type: int) -> TableBackend | None: ...
    def add_table(self, table: Table[Any, Any]) -> None: ...


class StateTableBackend:
    """A :class:`~falcoplug.backend.StateTable` object reached directly (a plugin run in-process)."""

    __slots__ = ("table", "name", "key_type", "needs_release", "read", "write", "get_field", "add_field",
                 "release", "entries", "new_entry", "destroy_entry", "add_entry", "erase", "clear", "fields",
                 "get_entry")  # fmt: skip

    def __init__(self, table: StateTable) -> None:
        self.table = table
        self.name = table.name
        self.key_type = StateType(table.key_type)
        # Only tables whose entries must be given back (a C plugin's) need the release calls.
        self.needs_release = type(table).release is not StateTable.release
        # the host's tables have a lookup that answers None (no exception to raise and catch)
        find = getattr(table, "find", None)
        if find is not None:
            self.get_entry = find  # type: ignore[method-assign]
        self.read = table.read
        self.write = getattr(table, "write_checked", None) or table.write
        self.get_field = table.get_field
        self.add_field = table.add_field
        self.release = table.release
        self.entries = table.entries
        self.new_entry = table.new_entry
        self.destroy_entry = table.destroy_entry
        self.add_entry = table.add_entry
        self.erase = table.erase
        self.clear = table.clear
        self.fields = table.fields

        if find is None:
            self.get_entry = self._get_entry

    def size(self) -> int:
        return len(self.table)

    def _get_entry(self, key: Any) -> Any:
        try:
            return self.table.get_entry(key)
        except TableError:
            return None

    def read_table(self, entry: Any, field: Any) -> StateTableBackend | None:
        sub = self.table.read(entry, field)
        return None if sub is None else StateTableBackend(sub)


# -- accessed tables at run time ----------------------------------------------------------------------


class _Bound:
    """A fields class resolved against a table: one field handle and state type per declared field,
    and the sub-table layouts found so far. Sub-tables of one field share it."""

    __slots__ = ("layout", "handles", "types", "ranges", "subs", "runtime", "lock")

    def __init__(self, layout: _Layout, backend: TableBackend, table_name: str) -> None:
        self.layout = layout
        self.handles: list[Any] = []
        self.types: list[StateType] = []
        self.ranges: list[tuple[int, int] | None] = []  # integer bounds per field (None: not an int)
        self.subs: dict[int, _Bound] = {}
        self.runtime: dict[str, Field] = {}
        self.lock = threading.Lock()
        listed = {d.name: d for d in backend.fields()} if layout.specs else {}
        for spec in layout.specs:
            state_type = _resolve_type(spec, listed.get(spec.name))
            if spec.dynamic:
                handle = backend.add_field(spec.name, state_type)
            else:
                handle = backend.get_field(spec.name, state_type)
            if handle is None:
                raise TableError(f"undefined field '{spec.name}' in table '{table_name}'")
            self.handles.append(handle)
            self.types.append(state_type)
            self.ranges.append(INT_RANGES.get(state_type))
        for spec in layout.specs:
            if spec.kind.kind == "table":
                self.subs[spec.slot] = _sub_bound(backend, spec, self.handles[spec.slot], table_name)


def _sub_bound(backend: TableBackend, spec: _Spec, handle: Any, table_name: str) -> _Bound:
    """The fields of a sub-table field, resolved now (at init, as libsinsp expects field accessors
    to be taken): on the sub-table of a new entry, which is then destroyed (the C++ SDK's way)."""
    entry = backend.new_entry()
    try:
        sub = backend.read_table(entry, handle)
        if sub is None:
            raise TableError(f"field {spec.name} of table {table_name}: no sub-table to read the fields of")
        assert spec.kind.sub_fields is not None
        return _Bound(spec.kind.sub_fields._layout(), sub, sub.name)
    finally:
        backend.destroy_entry(entry)


def _resolve_type(spec: _Spec, listed: FieldDescr | None) -> StateType:
    kind = spec.kind
    if kind.state_type is not None:
        return kind.state_type
    # a plain int: the table's own integer type when the field exists, else int64
    if listed is not None and listed.type in INT_TYPES:
        return StateType(listed.type)
    return ST.INT64


class _Hold:
    """Gives an entry back to its table when the last view of it is dropped."""

    __slots__ = ("release", "entry")

    def __init__(self, release: Callable[[Any], None], entry: Any) -> None:
        self.release = release
        self.entry = entry

    def __del__(self) -> None:
        try:
            self.release(self.entry)
        except Exception:  # noqa: BLE001 - the host may be gone; nothing can be reported here
            pass


class AccessedTable(Generic[K, F]):
    """A table this plugin reads and writes through the host (``self.threads``).

    ``table[key]`` gives a view of the entry (``KeyError`` when there is none), ``get(key)`` the
    view or ``None``; ``key in table``; ``len(table)``; iterating gives a view of every entry (a
    snapshot: valid until the table changes); ``add(key, **values)`` creates an entry, writes the
    values and adds it (replacing any entry at ``key``); ``erase(key)``, ``del table[key]`` and
    ``clear()`` remove entries. ``field(name)`` and ``add_field(name, type)`` reach fields that are
    not declared. Host errors raise :class:`TableError` with the host's message.
    """

    __slots__ = ("name", "key_type", "_key_kind", "_b", "_bound", "_cls", "_read", "_write", "_handles", "_types",
                 "_ranges", "_release", "_low", "_high", "_get_entry")  # fmt: skip

    def __init__(self, backend: TableBackend, fields: type[F], key_kind: str, key_type: StateType | None,
                 bound: _Bound | None = None) -> None:  # fmt: skip
        self.name = backend.name
        self._b = backend
        self._cls = fields
        self._key_kind = key_kind
        self.key_type = key_type if key_type is not None else backend.key_type
        self._bound = bound if bound is not None else _Bound(fields._layout(), backend, backend.name)
        self._read = backend.read
        self._write = backend.write
        self._handles = self._bound.handles
        self._types = self._bound.types
        self._ranges = self._bound.ranges
        self._release = backend.release if backend.needs_release else None
        self._get_entry = backend.get_entry
        # int keys in range go straight through (_key checks everything else)
        bounds = INT_RANGES.get(self.key_type, (0, -1)) if key_kind == "int" else (0, -1)
        self._low, self._high = bounds

    # -- keys and views ------------------------------------------------------------------------
    def _key(self, key: Any) -> Any:
        kind = self._key_kind
        if kind == "int":
            if type(key) is not int:
                if isinstance(key, bool) or not isinstance(key, int):
                    raise TableError(f"table {self.name}: a key must be an int, not {type(key).__name__}")
                key = int(key)
            limits = INT_RANGES.get(self.key_type)
            if limits is not None and not limits[0] <= key <= limits[1]:
                raise TableError(f"table {self.name}: key {key} is out of range for {type_name(self.key_type)}")
            return key
        return check_value(ST.STRING if kind == "str" else ST.BOOL, key, f"table {self.name}: key")

    def _view(self, entry: Any, held: bool) -> F:
        cls = self._cls
        view = cls.__new__(cls)
        view._t = self
        view._e = entry
        if held and self._release is not None:
            view._hold = _Hold(self._release, entry)
        return view

    def get(self, key: K, default: Any = None) -> F | None:
        """The entry at ``key``, or ``default``."""
        if type(key) is not int or not self._low <= key <= self._high:  # type: ignore[operator]
            key = self._key(key)
        entry = self._get_entry(key)
        if entry is None:
            return default
        cls = self._cls  # _view(entry, True), inlined: this is the common path
        view = cls.__new__(cls)
        view._t = self
        view._e = entry
        if self._release is not None:
            view._hold = _Hold(self._release, entry)
        return view

    def __getitem__(self, key: K) -> F:
        if type(key) is not int or not self._low <= key <= self._high:  # type: ignore[operator]
            key = self._key(key)
        entry = self._get_entry(key)
        if entry is None:
            raise KeyError(key)
        return self._view(entry, True)

    def __contains__(self, key: object) -> bool:
        entry = self._b.get_entry(self._key(key))
        if entry is None:
            return False
        if self._release is not None:
            self._release(entry)
        return True

    def __len__(self) -> int:
        return self._b.size()

    def __iter__(self) -> Iterator[F]:
        for entry in self._b.entries():
            yield self._view(entry, False)

    def entries(self) -> list[F]:
        return [self._view(entry, False) for entry in self._b.entries()]

    # -- changes ---------------------------------------------------------------------------------
    def add(self, key: K, **values: Any) -> F:
        """Create an entry with ``values`` (fields by name; the others get the table's defaults)
        and add it at ``key``, replacing any entry there; returns a view of the added entry."""
        k = self._key(key)
        b = self._b
        entry = b.new_entry()
        try:
            for name, value in values.items():
                f = self._runtime_field(name)
                if f.type == ST.TABLE:
                    raise TableError("writing to table fields is currently not supported")
                b.write(entry, f.handle, check_value(f.type, value, f"field {f.name} of table {self.name}"))
        except BaseException:
            b.destroy_entry(entry)
            raise
        return self._view(b.add_entry(k, entry), True)

    def erase(self, key: K) -> None:
        """Remove the entry at ``key`` (:class:`TableError` with the host's message when there is none)."""
        self._b.erase(self._key(key))

    def __delitem__(self, key: K) -> None:
        try:
            self._b.erase(self._key(key))
        except TableError:
            raise KeyError(key) from None

    def clear(self) -> None:
        self._b.clear()

    # -- fields ------------------------------------------------------------------------------------
    def fields(self) -> list[FieldDescr]:
        """Every field of the table (name, state type, read-only), as the host lists them."""
        return self._b.fields()

    def field(self, name: str, state_type: Any = None) -> Field:
        """A field of the table by name; its type is the table's unless given (int, str, bool,
        Int8 ... UInt64 or a :class:`StateType`)."""
        return self._runtime_field_new(name, state_type, add=False)

    def add_field(self, name: str, state_type: Any = int) -> Field:
        """Add a dynamic field (or get it, if it exists with this type): ``int`` is Int64."""
        return self._runtime_field_new(name, state_type, add=True)

    def _runtime_field(self, key: str | Field) -> Field:
        if isinstance(key, Field):
            return key
        bound = self._bound
        found = bound.runtime.get(key)
        if found is not None:
            return found
        spec = bound.layout.by_name.get(key)
        if spec is not None:
            f = Field(spec.name, bound.types[spec.slot], bound.handles[spec.slot])
            if spec.kind.kind == "table":
                f.sub = bound.subs.get(spec.slot)
        else:
            f = self._runtime_field_new(key, None, add=False)
        bound.runtime[key] = f
        return f

    def _runtime_field_new(self, name: str, state_type: Any, *, add: bool) -> Field:
        listed = {d.name: d for d in self._b.fields()}
        descr = listed.get(name)
        st = _state_type_of(state_type, f"field {name} of table {self.name}")
        if st is None:
            if descr is not None and (state_type is None or descr.type in INT_TYPES):
                st = StateType(descr.type)
            elif add:
                st = ST.INT64
            else:
                raise TableError(f"undefined field '{name}' in table '{self.name}'")
        handle = self._b.add_field(name, st) if add else self._b.get_field(name, st)
        if handle is None:
            raise TableError(f"undefined field '{name}' in table '{self.name}'")
        return Field(name, st, handle)

    # -- sub-tables --------------------------------------------------------------------------------
    def _sub(self, entry: Any, slot: int) -> AccessedTable[Any, Any] | None:
        backend = self._b.read_table(entry, self._handles[slot])
        if backend is None:
            return None
        bound = self._bound
        sub = bound.subs.get(slot)
        spec = bound.layout.specs[slot]
        if sub is None:
            with bound.lock:
                sub = bound.subs.get(slot)
                if sub is None:
                    assert spec.kind.sub_fields is not None
                    sub = bound.subs[slot] = _Bound(spec.kind.sub_fields._layout(), backend, backend.name)
        key = spec.kind.sub_key
        assert key is not None
        return AccessedTable(backend, spec.kind.sub_fields, key.kind, key.state_type, sub)  # type: ignore[arg-type]

    def _sub_from_field(self, entry: Any, f: Field) -> AccessedTable[Any, Any] | None:
        backend = self._b.read_table(entry, f.handle)
        if backend is None:
            return None
        if f.sub is None:
            f.sub = _Bound(TableFields._layout(), backend, backend.name)
        kind = "str" if backend.key_type == ST.STRING else "bool" if backend.key_type == ST.BOOL else "int"
        return AccessedTable(backend, TableFields, kind, backend.key_type, f.sub)

    def __repr__(self) -> str:
        return f"<AccessedTable {self.name} key={type_name(self.key_type)} fields={self._cls.__name__}>"


def _state_type_of(hint: Any, where: str) -> StateType | None:
    """A state type from ``int`` (``None``: decide from the table), ``str``, ``bool``, an alias or
    a :class:`StateType`."""
    if hint is None:
        return None
    if isinstance(hint, StateType):
        return hint
    try:
        kind = _kind_of(hint, where)
    except TypeError as exc:
        raise TableError(str(exc)) from None
    if kind.kind not in ("int", "str", "bool"):
        raise TableError(f"{where}: {hint!r} is not a field type (int, Int8 ... UInt64, str, bool)")
    return kind.state_type


def _fields_class(fields: Any, where: str) -> type[TableFields]:
    if fields is None:
        return TableFields
    if isinstance(fields, type) and issubclass(fields, TableFields):
        return fields
    if isinstance(fields, Mapping):
        annotations, names = {}, {}
        for i, (name, hint) in enumerate(fields.items()):
            attr = name if name.isidentifier() else f"_f{i}"
            annotations[attr] = hint
            if attr != name:
                names[attr] = field_named(name)
        return type(f"Fields_{where}", (TableFields,), {"__annotations__": annotations, **names, "__module__": __name__})
    raise PluginDefinitionError(f"{where}: fields must be a TableFields class or a dict of field types, not {fields!r}")


# -- declaring tables on the plugin class ------------------------------------------------------------


class TableAccess(Generic[K, F]):
    """A table the plugin accesses, declared on the plugin class; at run time the attribute is the
    :class:`AccessedTable` (resolved when the host initializes the plugin, before ``init``).

    ``key``: ``int`` (the table's integer type), ``Int8`` … ``UInt64``, ``str`` or ``bool``.
    ``fields``: a :class:`TableFields` class, or a dict ``{"name": type}``. ``optional``: when
    the host has no such table, the attribute is ``None`` instead of failing ``init``.
    """

    def __init__(self, name: str, *, key: type[K] | Any = int, fields: type[F] | Mapping[str, Any] | None = None,
                 optional: bool = False) -> None:  # fmt: skip
        if not isinstance(name, str) or not name:
            raise PluginDefinitionError("TableAccess needs a table name")
        self.table_name = name
        self.key = key
        self.fields = fields
        self.optional = optional
        self.attr = ""

    def __set_name__(self, owner: type, attr: str) -> None:
        self.attr = attr

    @overload
    def __get__(self, instance: None, owner: type) -> TableAccess[K, F]: ...
    @overload
    def __get__(self, instance: object, owner: type) -> AccessedTable[K, F]: ...
    def __get__(self, instance: object | None, owner: type) -> Any:
        if instance is None:
            return self
        raise AttributeError(
            f"table '{self.table_name}' ({self.attr}) is resolved when the host initializes the plugin; "
            "use it from init() on"
        )

    def check(self, where: str) -> None:
        _key_type(self.key, where, owned=False)
        _fields_class(self.fields, where)._layout()

    def resolve(self, tables: Tables) -> AccessedTable[K, F] | None:
        return tables.access(self.table_name, key=self.key, fields=self.fields, optional=self.optional)


class OwnedTable(Generic[K, E]):
    """A table the plugin owns, declared on the plugin class; at run time the attribute is the
    :class:`Table`, registered with the host when it initializes the plugin (before ``init``)."""

    def __init__(self, name: str, *, key: type[K] | Any = str, entry: type[E]) -> None:
        if not isinstance(name, str) or not name:
            raise PluginDefinitionError("OwnedTable needs a table name")
        self.table_name = name
        self.key = key
        self.entry = entry
        self.attr = ""

    def __set_name__(self, owner: type, attr: str) -> None:
        self.attr = attr

    @overload
    def __get__(self, instance: None, owner: type) -> OwnedTable[K, E]: ...
    @overload
    def __get__(self, instance: object, owner: type) -> Table[K, E]: ...
    def __get__(self, instance: object | None, owner: type) -> Any:
        if instance is None:
            return self
        raise AttributeError(
            f"table '{self.table_name}' ({self.attr}) is created when the host initializes the plugin; "
            "use it from init() on"
        )

    def check(self, where: str) -> None:
        _key_type(self.key, where, owned=True)
        if not (isinstance(self.entry, type) and issubclass(self.entry, TableEntry)):
            raise PluginDefinitionError(f"{where}: entry must be a TableEntry class, not {self.entry!r}")
        self.entry._entry_layout()

    def create(self) -> Table[K, E]:
        return Table(self.table_name, key=self.key, entry=self.entry)


def declared_tables(cls: type) -> list[TableAccess[Any, Any] | OwnedTable[Any, Any]]:
    """The table declarations of a plugin class, base classes' first, in definition order."""
    found: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            if isinstance(value, (TableAccess, OwnedTable)):
                found[attr] = value
            elif attr in found:
                del found[attr]  # overridden by something else
    return list(found.values())


def check_declarations(cls: type) -> None:
    """Check every table declaration of a plugin class (at describe time)."""
    for decl in declared_tables(cls):
        where = f"plugin class {cls.__qualname__}: table {decl.table_name} ({decl.attr})"
        try:
            decl.check(where)
        except PluginDefinitionError as exc:
            text = str(exc)
            raise PluginDefinitionError(text if text.startswith("plugin class") else f"{where}: {text}",
                                        getattr(cls, "name", None)) from None  # fmt: skip


# -- the tables service of a plugin object ------------------------------------------------------------


class Tables:
    """``self.tables``: the host's table registry, during ``init``: :meth:`list` the tables,
    :meth:`access` one, :meth:`add` one the plugin owns. The host hands tables only to plugins
    that parse events or extract fields, and only during ``init``."""

    def __init__(self, host: TableHost | None, plugin_name: str) -> None:
        self._host = host
        self._plugin = plugin_name
        self._open = True
        self.owned: list[Table[Any, Any]] = []
        self.accessed: list[AccessedTable[Any, Any]] = []

    def _require(self) -> TableHost:
        if not self._open:
            raise TableError("tables can only be accessed or added during init")
        if self._host is None:
            raise TableError("the host gives state tables only to plugins that parse events or extract fields")
        return self._host

    def close(self) -> None:
        self._open = False

    def list(self) -> dict[str, StateType]:
        """Every table of the host, with its key type."""
        return {name: StateType(key_type) for name, key_type in self._require().list_tables()}

    def access(self, name: str, *, key: Any = int, fields: Any = None, optional: bool = False) -> Any:
        """The table ``name`` as an :class:`AccessedTable` (``None`` if it does not exist and
        ``optional``; else :class:`TableError`)."""
        host = self._require()
        where = f"table {name}"
        key_kind, key_type = _key_type(key, where, owned=False)
        cls = _fields_class(fields, name.replace(".", "_"))
        listed = dict(host.list_tables())
        if key_type is None:
            actual = listed.get(name)
            key_type = StateType(actual) if actual in INT_TYPES else ST.INT64
        if name not in listed:
            backend = None
        else:
            backend = host.get_table(name, key_type)
        if backend is None:
            if optional:
                return None
            raise TableError(f"the host has no table named '{name}'")
        table = AccessedTable(backend, cls, key_kind, key_type)
        self.accessed.append(table)
        return table

    def add(self, table: Table[K, E]) -> Table[K, E]:
        """Register a table this plugin owns, so that other plugins and the host reach it."""
        host = self._require()
        if not isinstance(table, Table):
            raise TypeError(f"tables.add() takes a Table, not {type(table).__name__}")
        table.owner_name = self._plugin
        host.add_table(table)
        self.owned.append(table)
        return table


def resolve_declarations(plugin: Any, tables: Tables) -> None:
    """Set each declared table on the plugin object (accessed: resolved; owned: created and added)."""
    for decl in declared_tables(type(plugin)):
        if isinstance(decl, TableAccess):
            value: Any = decl.resolve(tables)
        else:
            value = tables.add(decl.create())
        plugin.__dict__[decl.attr] = value


# -- owned tables ----------------------------------------------------------------------------------------


class _EntryField:
    """One field of an owned table as others see it (also its handle)."""

    __slots__ = ("name", "type", "read_only", "attr", "index", "dynamic", "_c", "_cx")

    def __init__(self, name: str, state_type: StateType, *, read_only: bool = False, attr: str | None = None,
                 index: int = -1) -> None:  # fmt: skip
        self.name = name
        self.type = StateType(state_type)
        self.read_only = read_only
        self.attr = attr
        self.index = index
        self.dynamic = attr is None
        self._c: Any = None  # the falcoplug host's handle (in-process)
        self._cx: Any = None  # the exported library's handle

    def descr(self) -> FieldDescr:
        return FieldDescr(self.name, self.type, self.read_only)

    def __repr__(self) -> str:
        return f"<field {self.name} {type_name(self.type)}{' ro' if self.read_only else ''}>"


class _EntryLayout:
    __slots__ = ("public", "attrs", "copies")

    def __init__(self, cls: type[TableEntry]) -> None:
        public: list[_EntryField] = []
        attrs: set[str] = set()
        copies: list[tuple[str, Any]] = []
        for attr, hint in _hints(cls, TableEntry).items():
            where = f"{cls.__qualname__}.{attr}"
            try:
                kind = _kind_of(hint, where)
            except TypeError as exc:
                raise PluginDefinitionError(str(exc)) from None
            attrs.add(attr)
            default = cls.__dict__.get(attr, getattr(cls, attr, _MISSING))
            if _PRIVATE in kind.flags:
                if default is _MISSING:
                    setattr(cls, attr, None)
                elif isinstance(default, (list, dict, set, bytearray)):
                    copies.append((attr, default))
                continue
            if _DYNAMIC in kind.flags:
                raise PluginDefinitionError(f"{where}: Dynamic applies to accessed tables (TableFields)")
            if kind.kind == "table":
                raise PluginDefinitionError(f"{where}: owned tables cannot have sub-table fields yet")
            if kind.kind == "other":
                raise PluginDefinitionError(
                    f"{where}: {hint!r} is not a table field type (int, Int8 ... UInt64, str, bool); "
                    "mark it Private[...] to keep it to the plugin"
                )
            state_type = kind.state_type or ST.INT64
            if default is _MISSING:
                setattr(cls, attr, zero_value(state_type))
            else:
                try:
                    check_value(state_type, default, f"default of {where}")
                except TableError as exc:
                    raise PluginDefinitionError(str(exc)) from None
            public.append(_EntryField(attr, state_type, read_only=_READONLY in kind.flags, attr=attr))
        self.public = tuple(public)
        self.attrs = frozenset(attrs)
        self.copies = tuple(copies)


_MISSING: Any = object()


class TableEntry:
    """Base of the entries of a table the plugin owns (see :class:`Table`).

    Annotated attributes are the fields: ``int`` (Int64), ``Int8`` … ``UInt64``, ``str`` and
    ``bool`` are shared with other plugins and the host (``Readonly[...]``: they may not write
    it); ``Private[...]`` attributes (any type) are the plugin's own. A field without a default is
    0, "" or False (``None`` for a private one); list, dict and set defaults are copied per entry.
    Entries are plain objects: the owner reads and writes their attributes directly. Values are
    checked when another plugin or the host reads them.
    """

    _c: Any = None  # the falcoplug host's handle of this entry (in-process)
    _cx: Any = None  # the exported library's handle
    _dyn: list[Any] | None = None  # values of the dynamic fields other plugins added

    def __init__(self, **values: Any) -> None:
        layout = type(self)._entry_layout()
        for attr, default in layout.copies:
            setattr(self, attr, copy.copy(default))
        for attr, value in values.items():
            if attr not in layout.attrs:
                raise TypeError(f"{type(self).__name__} has no field {attr!r}")
            setattr(self, attr, value)

    @classmethod
    def _entry_layout(cls) -> _EntryLayout:
        layout = cls.__dict__.get("_falcoplug_entry_layout")
        if layout is None:
            layout = _EntryLayout(cls)
            cls._falcoplug_entry_layout = layout  # type: ignore[attr-defined]
        return layout

    def __repr__(self) -> str:
        values = ", ".join(f"{f.attr}={getattr(self, f.attr)!r}" for f in type(self)._entry_layout().public)  # type: ignore[arg-type]
        return f"{type(self).__name__}({values})"


class Table(StateTable, Generic[K, E]):
    """A table this plugin owns: a dict-like map from keys to :class:`TableEntry` objects that
    other plugins and the host reach through the plugin API.

    The owner uses it as a dict (``table[key]``, ``get``, ``in``, ``len``, iteration over keys,
    ``items()``, ``values()``, ``table[key] = entry``, ``del table[key]``, ``pop``, ``clear()``)
    plus ``add(key, **values)``, which creates an entry. Other plugins see the entry class's public
    fields, and may add dynamic fields of their own (kept per entry, defaults 0, "" or False).
    """

    def __init__(self, name: str, *, key: type[K] | Any = str, entry: type[E]) -> None:
        super().__init__()
        if not isinstance(name, str) or not name:
            raise PluginDefinitionError("a Table needs a name")
        if not (isinstance(entry, type) and issubclass(entry, TableEntry)):
            raise PluginDefinitionError(f"table {name}: entry must be a TableEntry class, not {entry!r}")
        self.name = name
        self._key_kind, key_type = _key_type(key, f"table {name}", owned=True)
        assert key_type is not None
        self.key_type = key_type
        self.entry_type = entry
        self._entries: dict[Any, E] = {}
        self._lock = threading.RLock()
        self._fields: dict[str, _EntryField] = {}
        self._order: list[_EntryField] = []
        for f in entry._entry_layout().public:
            copy_ = _EntryField(f.name, f.type, read_only=f.read_only, attr=f.attr)
            self._fields[f.name] = copy_
            self._order.append(copy_)
        self._n_dynamic = 0
        self.owner_name: str | None = None

    # -- keys ----------------------------------------------------------------------------------------
    def check_key(self, key: Any) -> Any:
        kt = self.key_type
        if kt in INT_RANGES and type(key) is int and INT_RANGES[kt][0] <= key <= INT_RANGES[kt][1]:
            return key
        return check_value(kt, key, f"table {self.name}: key")

    # -- the owner's dict-like interface --------------------------------------------------------------
    def __getitem__(self, key: K) -> E:
        return self._entries[key]

    def get(self, key: K, default: Any = None) -> E | None:
        return self._entries.get(key, default)

    def __setitem__(self, key: K, entry: E) -> None:
        if not isinstance(entry, self.entry_type):
            raise TypeError(f"table {self.name} holds {self.entry_type.__name__} entries, not {type(entry).__name__}")
        self._entries[self.check_key(key)] = entry

    def __delitem__(self, key: K) -> None:
        del self._entries[key]

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[K]:
        return iter(list(self._entries))

    def keys(self) -> list[K]:
        return list(self._entries)

    def values(self) -> list[E]:
        return list(self._entries.values())

    def items(self) -> list[tuple[K, E]]:
        return list(self._entries.items())

    def add(self, key: K, **values: Any) -> E:
        """Create an entry with ``values`` and put it at ``key`` (replacing any entry there)."""
        entry = self.entry_type(**values)
        self._entries[self.check_key(key)] = entry
        return entry

    def pop(self, key: K, *default: Any) -> E:
        return self._entries.pop(key, *default)

    def __len__(self) -> int:
        return len(self._entries)

    def __bool__(self) -> bool:
        return True

    # -- what other plugins and the host use (the StateTable interface) -------------------------------
    def fields(self) -> list[FieldDescr]:
        return [f.descr() for f in self._order]

    def get_field(self, name: str, state_type: int) -> _EntryField:
        return check_table_field(self._fields.get(name), name, state_type, self.name)

    def add_field(self, name: str, state_type: int) -> _EntryField:
        with self._lock:
            field = self._fields.get(name)
            if check_dynamic_field(field, name, state_type):
                return field
            field = _EntryField(name, StateType(state_type), index=self._n_dynamic)
            self._n_dynamic += 1
            self._fields[name] = field
            self._order.append(field)
            return field

    def get_entry(self, key: Any) -> E:
        entry = self._entries.get(key)
        if entry is None:
            raise TableError("get_entry found no element at given key")
        return entry

    def find(self, key: Any) -> E | None:
        """The entry at ``key`` or ``None`` (what an in-process plugin reaching this table uses)."""
        return self._entries.get(key)

    def entries(self) -> list[E]:
        return list(self._entries.values())

    def clear(self) -> None:
        self._entries.clear()

    def erase(self, key: Any) -> None:
        if self._entries.pop(key, None) is None:
            raise TableError("table entry not found")

    def new_entry(self) -> E:
        return self.entry_type()

    def add_entry(self, key: Any, entry: Any) -> E:
        if not isinstance(entry, self.entry_type):
            raise TableError(f"entry added to table '{self.name}' was not created by it")
        self._entries[self.check_key(key)] = entry
        return entry

    def read(self, entry: Any, field: Any) -> Any:
        if field.dynamic:
            dyn = entry._dyn
            index = field.index
            return dyn[index] if dyn is not None and index < len(dyn) else zero_value(field.type)
        value = getattr(entry, field.attr)
        state_type = field.type
        if type(value) is int and state_type in INT_RANGES:
            low, high = INT_RANGES[state_type]
            if low <= value <= high:
                return value
        try:
            return check_value(state_type, value, f"field {field.name} of table {self.name}")
        except TableError as exc:
            raise TableError(f"{exc} (the value the plugin stored)") from None

    def write(self, entry: Any, field: Any, value: Any) -> None:
        if field.read_only:
            raise TableError(f"can't set a read-only static struct field: {field.name}")
        value = check_value(field.type, value, f"field {field.name} of table {self.name}")
        if not field.dynamic:
            setattr(entry, field.attr, value)
            return
        dyn = entry._dyn
        if dyn is None:
            dyn = entry._dyn = []
        index = field.index
        while len(dyn) <= index:
            dyn.append(zero_value(self._dynamic_type(len(dyn))))
        dyn[index] = value

    def _dynamic_type(self, index: int) -> StateType:
        for f in self._order:
            if f.dynamic and f.index == index:
                return f.type
        return ST.INT64

    def __repr__(self) -> str:
        return f"<Table {self.name} key={type_name(self.key_type)} entries={len(self._entries)} of {self.entry_type.__name__}>"
