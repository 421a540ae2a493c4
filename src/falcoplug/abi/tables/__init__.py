"""State tables across the C boundary, both ways.

Host -> plugin: the reader, writer and fields vtables every plugin receives (in its init, extract,
parse and capture-listen inputs). A ``ss_plugin_table_t*`` a plugin holds stands for a
:class:`TableAccess`: the table plus the accessing plugin's owner, so that every failure sets
*that* plugin's last error, with libsinsp's text, as libsinsp's table accessors do. Host tables
are Python objects (``framework/tables.py``). An entry pointer is the address of the entry object
(kept alive while held), a field pointer a small record made once per field (``compiled.py``).

- ``compiled.py`` and ``c/tables.c``: when the compiled module is built, plugins call C functions
  that serve the hot operations of host tables on the Python objects directly (get entry, read,
  write, release) and forward plugin-owned tables to their owner, without running Python code;
- ``callbacks.py``: the Python callbacks, which own every rule and message: the C hands them
  anything else (and every failure); without the compiled module plugins call them directly;
- ``access.py``: what an access and an owner hold; ``values.py``: values between
  ``ss_plugin_state_data`` and Python.

Plugin -> host (``foreign.py``): a table a plugin registers with ``add_table`` is checked as
libsinsp checks it and wrapped in a :class:`ForeignTable`. Other C plugins reach it through the
same vtables, which forward keys, entries and fields to the owner's vtables untouched (a failure
copies the owning plugin's last error into the accessing owner's); Python reaches it through the
same methods as a host table.

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
