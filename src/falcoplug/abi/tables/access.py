"""What a ``ss_plugin_table_t*`` given to a plugin points to, and what each owner holds."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from ..ffi import ffi
from .foreign import ForeignTable
from .values import _MEMBER, NULL, ST

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

    def hold(self, entry: Any) -> Any:
        """Keep ``entry`` alive while the plugin holds its pointer (libsinsp keeps a shared_ptr)."""
        key = id(entry)
        with self.lock:
            record = self.held.get(key)
            if record is None:
                self.held[key] = [entry, 1]
            else:
                record[1] += 1
        return _entry_handle(entry)

    def release(self, entry: Any) -> None:
        key = id(entry)
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


def owner_tables(owner: Any) -> OwnerTables:
    state = owner.tables_state
    if state is None:
        state = owner.tables_state = OwnerTables(owner)
    return state


class TableAccess:
    """A table as one owner sees it: what a ``ss_plugin_table_t*`` given to a plugin points to."""

    __slots__ = ("owner", "state", "table", "foreign", "handle", "cname", "fieldinfos", "checked_write")

    def __init__(self, owner: Any, table: Any) -> None:
        self.owner = owner
        self.state = owner_tables(owner)
        self.table = table
        self.foreign = isinstance(table, ForeignTable)
        # host tables take C values as they are (typed by the union); others check them
        self.checked_write = getattr(table, "write_checked", None) or table.write
        self.handle = ffi.new_handle(self)
        self.cname = ffi.new("char[]", table.name.encode())
        self.fieldinfos: tuple[Any, list[Any]] | None = None


def access_handle(owner: Any, table: Any) -> Any:
    """The (cached) handle through which ``owner`` reaches ``table``."""
    cache = table._c
    access = cache.get(id(owner))
    if access is None:
        access = cache[id(owner)] = TableAccess(owner, table)
    return access.handle


def _entry_handle(entry: Any) -> Any:
    handle = entry._c
    if handle is None:
        handle = entry._c = ffi.new_handle(entry)
    return handle


def _field_handle(field: Any) -> Any:
    handle = field._c
    if handle is None:
        handle = field._c = ffi.new_handle(field)
    return handle


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
