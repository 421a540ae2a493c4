"""State tables: the host's tables (and other plugins'), read and written with type hints, and
tables a plugin owns and shares.

**Tables you access** are declared by the fields you use, as a class whose annotations are the
field types, and a :class:`TableAccess` on the plugin class::

    # fragment: Fd, the fields class of the sub-table, is declared the same way
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

from ...backend import TableError
from .accessed import AccessedTable, Field, StateTableBackend, TableBackend, TableFields, TableHost, field_named
from .owned import Table, TableEntry
from .service import OwnedTable, TableAccess, Tables, check_declarations, declared_tables, resolve_declarations
from .types import (
    Dynamic, Int8, Int16, Int32, Int64, Private, Readonly, StateType, UInt8, UInt16, UInt32, UInt64,
    check_value, type_name, zero_value,
)  # fmt: skip

__all__ = [
    "AccessedTable", "Dynamic", "Field", "Int16", "Int32", "Int64", "Int8", "OwnedTable", "Private", "Readonly",
    "StateType", "Table", "TableAccess", "TableEntry", "TableError", "TableFields", "Tables", "UInt16", "UInt32",
    "UInt64", "UInt8", "field_named",
]  # fmt: skip
