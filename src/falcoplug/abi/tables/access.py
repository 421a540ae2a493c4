"""What a ``ss_plugin_table_t*`` given to a plugin points to, and what each owner holds."""

from __future__ import annotations

import threading
import weakref
from collections import deque
from typing import Any

from ..ffi import ffi
from .compiled import COMPILED, KIND_FOREIGN, KIND_HOST, KIND_SLOW, entry_ptr, tffi, tlib, tptr
from .foreign import ForeignTable
from .values import _MEMBER, NULL, ST

# Host tables whose keys the compiled vtables look up themselves (others: the Python callbacks).
_INT_KEYS = frozenset({ST.INT8, ST.INT16, ST.INT32, ST.INT64, ST.UINT8, ST.UINT16, ST.UINT32, ST.UINT64})

# -- per-owner state ------------------------------------------------------------------------------


class OwnerTables:
    """What one plugin (owner) holds across table calls: accessed tables, the entries it was given
    and has not released, the entries it created and has not added, and returned strings."""

    def __init__(self, owner: Any) -> None:
        self.owner = owner  # the OwnerHandle
        self.accessed: dict[str, TableAccess] = {}
        self.held: dict[int, list[Any]] = {}
        self.created: dict[int, Any] = {}
        self.strings: deque[Any] = deque(maxlen=256)  # valid "until the next table call", and then some
        self.infos: tuple[Any, list[Any]] | None = None
        self.lock = threading.Lock()
        # Compiled, the C record keeps the first few holds and ``held`` the others, both updated
        # under the GIL by C (Python goes through it too); ``held`` is never rebound (C borrows it).
        self.c: Any = None
        if COMPILED:
            memory = tffi.new("char[]", tlib.fpt_owner_size())
            self.c = tffi.cast("fpt_owner*", memory)
            tlib.fpt_owner_init(self.c, tffi.cast("void*", id(self.held)))
            weakref.finalize(self, _clear_owner, memory)  # the finalizer keeps the memory alive

    def hold(self, entry: Any) -> Any:
        """Keep ``entry`` alive while the plugin holds its pointer (libsinsp keeps a shared_ptr)."""
        if self.c is not None:
            tlib.fpt_owner_hold(self.c, tffi.cast("void*", id(entry)))
            return entry_ptr(entry)
        key = id(entry)
        with self.lock:
            record = self.held.get(key)
            if record is None:
                self.held[key] = [entry, 1]
            else:
                record[1] += 1
        return entry_ptr(entry)

    def release(self, key: int) -> None:
        """Give back one hold of the entry at address ``key`` (an entry not held is ignored)."""
        if self.c is not None:
            tlib.fpt_owner_release(self.c, tffi.cast("void*", key))
            return
        with self.lock:
            record = self.held.get(key)
            if record is not None:
                record[1] -= 1
                if record[1] <= 0:
                    del self.held[key]

    def keep_string(self, text: str) -> Any:
        buf = ffi.new("char[]", text.encode("utf-8", "replace"))
        self.strings.append(buf)
        return buf


def _clear_owner(memory: Any) -> None:
    """Drop the strings the compiled reads kept for an owner that is gone."""
    tlib.fpt_owner_clear(tffi.cast("fpt_owner*", memory))


def owner_tables(owner: Any) -> OwnerTables:
    state = owner.tables_state
    if state is None:
        state = owner.tables_state = OwnerTables(owner)
    return state


class TableAccess:
    """A table as one owner sees it: what a ``ss_plugin_table_t*`` given to a plugin points to."""

    __slots__ = ("owner", "state", "table", "foreign", "handle", "slow", "c", "cname", "fieldinfos", "checked_write")

    def __init__(self, owner: Any, table: Any) -> None:
        self.owner = owner
        self.state = owner_tables(owner)
        self.table = table
        self.foreign = isinstance(table, ForeignTable)
        # host tables take C values as they are (typed by the union); others check them
        self.checked_write = getattr(table, "write_checked", None) or table.write
        self.slow = ffi.new_handle(self)  # what the Python callbacks receive
        self.cname = ffi.new("char[]", table.name.encode())
        self.fieldinfos: tuple[Any, list[Any]] | None = None
        self.c: Any = None
        self.handle = self.slow if not COMPILED else self._compiled()

    def _compiled(self) -> Any:
        """The ``fpt_access`` the compiled vtables work from (c/tables.c)."""
        c = self.c = tffi.new("fpt_access*")
        c.kind = KIND_SLOW
        c.key_type = int(self.table.key_type)
        c.slow = tptr(self.slow)
        c.name = tptr(self.cname)
        c.owner = self.state.c
        if self.foreign:
            c.kind = KIND_FOREIGN
            c.table = tptr(self.table.ptr)
            c.reader = tptr(self.table.reader)
            c.writer = tptr(self.table.writer)
        else:
            direct = getattr(self.table, "direct_entries", None)
            entries = direct() if direct is not None else None
            if entries is not None and self.table.key_type in _INT_KEYS:
                c.kind = KIND_HOST
                c.entries = tffi.cast("void*", id(entries))  # the table keeps its dict for good
        return ffi.cast("ss_plugin_table_t*", int(tffi.cast("uintptr_t", c)))


def access_handle(owner: Any, table: Any) -> Any:
    """The (cached) handle through which ``owner`` reaches ``table``."""
    cache = table._c
    access = cache.get(id(owner))
    if access is None:
        access = cache[id(owner)] = TableAccess(owner, table)
    return access.handle


def value_to_c(data: Any, state_type: int, value: Any, keep: OwnerTables) -> None:
    if state_type == ST.UINT64:
        data.u64 = value
    elif state_type == ST.STRING:
        data.str = keep.keep_string(value)
    elif state_type == ST.BOOL:
        data.b = 1 if value else 0
    elif state_type == ST.TABLE:
        data.table = NULL if value is None else access_handle(keep.owner, value)
    else:
        setattr(data, _MEMBER[state_type], value)
