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

from .access import OwnerTables, TableAccess, access_handle, owner_tables, value_to_c
from .callbacks import TableVtables, fill_fields, fill_reader, fill_writer, table_vtables
from .foreign import ForeignEntry, ForeignField, ForeignTable
from .values import U64_ERROR, value_from_c

__all__ = [
    "ForeignEntry", "ForeignField", "ForeignTable", "OwnerTables", "TableAccess", "TableVtables", "U64_ERROR",
    "access_handle", "fill_fields", "fill_reader", "fill_writer", "owner_tables", "table_vtables",
    "value_from_c", "value_to_c",
]  # fmt: skip
