"""Declaring tables on the plugin class, and the tables service of a plugin object during init."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, overload

from ...api import StateType
from ...backend import TableError
from ..info import PluginDefinitionError
from .accessed import AccessedTable, TableHost, _fields_class, _key_type
from .owned import Table, TableEntry
from .types import E, F, INT_TYPES, K, ST


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
