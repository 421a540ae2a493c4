"""Tables a plugin owns: plain entry objects, shared with the host and other plugins."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from typing import Any, Generic

from ...api import StateType
from ...backend import FieldDescr, StateTable, TableError, check_dynamic_field, check_table_field
from ..info import PluginDefinitionError
from .accessed import _hints, _key_type, _kind_of
from .types import E, INT_RANGES, K, ST, _DYNAMIC, _PRIVATE, _READONLY, check_value, type_name, zero_value


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
