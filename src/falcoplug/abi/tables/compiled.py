"""The pointers plugins hold for entries and fields, and the compiled table vtables.

An entry is handed out as the address of its Python object (kept alive while the plugin holds it,
in :class:`OwnerTables.held <falcoplug.abi.tables.access.OwnerTables>`); a field as the address of
a small C record (``fpt_field``: its index, type, read-only flag and schema) made once per field.
The compiled module ``_tables`` (``c/tables.c``, ``c/parse.c``) reads both directly: it serves the
hot operations of host tables and forwards plugin-owned tables to their owners in C, and hands
everything else to the Python callbacks. Without it (no compiler at install time, or
``FALCOPLUG_NO_FASTPATH=1``), the Python callbacks serve every call, with the same pointers.
"""

from __future__ import annotations

import ctypes
import os
from typing import Any

from ...backend import TableError
from ..ffi import ffi
from .values import NULL

tffi: Any
tlib: Any
try:
    if os.environ.get("FALCOPLUG_NO_FASTPATH") == "1":
        raise ImportError("disabled")
    from .._tables import ffi as tffi, lib as tlib  # type: ignore[no-redef]
except ImportError:
    tffi = tlib = None

COMPILED = tlib is not None

# fpt_access kinds (c/tables.c)
KIND_SLOW, KIND_HOST, KIND_FOREIGN = 0, 1, 2


def address(ptr: Any) -> int:
    """The address a cdata pointer (of either FFI) holds."""
    return int(ffi.cast("uintptr_t", ptr))


def tptr(ptr: Any) -> Any:
    """A main-FFI pointer as a ``void*`` of the compiled module's FFI."""
    return tffi.cast("void*", address(ptr))


# -- entries ---------------------------------------------------------------------------------------


def entry_ptr(entry: Any) -> Any:
    return ffi.cast("ss_plugin_table_entry_t*", id(entry))


def entry_of(e: Any) -> Any:
    """The entry behind a pointer a plugin gives back (one it was given, and still holds)."""
    if e == NULL:
        raise TableError("null entry")
    return ctypes.cast(address(e), ctypes.py_object).value


# -- fields ----------------------------------------------------------------------------------------

# address -> (field, its C record): fields live as long as their table's schema, and a plugin may
# use a field pointer at any time, so they are kept for the life of the process (a few per table).
_FIELDS: dict[int, tuple[Any, Any]] = {}


def field_ptr(field: Any) -> Any:
    ptr = field._c
    if ptr is not None:
        return ptr
    if COMPILED:
        record = tffi.new("fpt_field*")
        # only host-table fields are used by the C (see the schema below): others just need a record
        index = getattr(field, "index", 0)
        record.index = index if isinstance(index, int) else 0
        record.type = int(field.type)
        record.read_only = 1 if getattr(field, "read_only", False) else 0
        # host-table fields (framework.tables.Field) name their schema; others never match an entry's
        schema = getattr(field, "schema", None)
        record.schema = tffi.NULL if schema is None else tffi.cast("void*", id(schema))
        addr = int(tffi.cast("uintptr_t", record))
    else:
        record = ffi.new("char[16]")
        addr = address(record)
    _FIELDS[addr] = (field, record)
    ptr = field._c = ffi.cast("ss_plugin_table_field_t*", addr)
    return ptr


def field_of(f: Any) -> Any:
    if f == NULL:
        raise TableError("null field")
    found = _FIELDS.get(address(f))
    if found is None:
        raise TableError("unknown table field")
    return found[0]
