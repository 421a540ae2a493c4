"""Tables a plugin accesses (the host's and other plugins'): declared fields, and the run-time view."""

from __future__ import annotations

import threading
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, Any, ClassVar, Generic, Protocol, TYPE_CHECKING

from ...api import StateType
from ...backend import FieldDescr, StateTable, TableError
from ..info import PluginDefinitionError
from .types import F, INT_RANGES, INT_TYPES, K, ST, _DYNAMIC, _Flag, _PRIVATE, _READONLY, check_value, type_name
if TYPE_CHECKING:
    from .owned import Table


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
