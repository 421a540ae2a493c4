"""Host-side callbacks handed to C plugins: the owner handle, logging and the owner's last error.

The table vtables live in ``tables.py``, the async-event handlers in ``async_events.py`` and the
routine vtable in ``routines.py``; they all reach the plugin through its :class:`OwnerHandle`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from .ffi import ffi
from .tables import TableVtables, table_vtables

__all__ = ["OwnerHandle", "TableVtables", "get_owner_last_error", "log_fn", "table_vtables"]


class OwnerHandle:
    """What a plugin's ``ss_plugin_owner_t*`` points to: its Python owner, the C memory handed out
    for it, and the per-plugin state of the C boundary (tables, async handlers, routines)."""

    def __init__(self, owner: Any, plugin_last_error: Callable[[], str | None] | None = None) -> None:
        self.owner = owner
        self.handle = ffi.new_handle(self)
        # Recent get_owner_last_error strings: a plugin thread may still read one while another
        # thread asks again, so a few are kept rather than only the last.
        self._error_bufs: deque[Any] = deque(maxlen=8)
        self.plugin_last_error: Callable[[], str | None] = plugin_last_error or (lambda: None)
        self.plugin_state: Any = ffi.NULL  # the plugin's ss_plugin_t*, once init returned it
        self.tables_state: Any = None  # tables.OwnerTables, made on first use
        self.async_handler: Callable[[bytes], None] | None = None
        self.dump_handler: Callable[[bytes], None] | None = None
        self.routines: Any = None  # routines.OwnerRoutines, made on first use

    @property
    def name(self) -> str:
        return getattr(self.owner, "name", "")

    def last_error_ptr(self) -> Any:
        text = getattr(self.owner, "last_error", None)
        if not text:
            return ffi.NULL
        buf = ffi.new("char[]", text.encode("utf-8", "replace"))
        self._error_bufs.append(buf)
        return buf

    def set_error(self, text: str) -> None:
        try:
            self.owner.last_error = text
        except AttributeError:
            pass


def _owner(o: Any) -> OwnerHandle | None:
    if o == ffi.NULL:
        return None
    return ffi.from_handle(o)


def _decode(p: Any) -> str | None:
    return None if p == ffi.NULL else ffi.string(p).decode("utf-8", "replace")


@ffi.callback("const char*(ss_plugin_owner_t*)", onerror=lambda *exc: ffi.NULL)
def get_owner_last_error(o: Any) -> Any:
    handle = _owner(o)
    return ffi.NULL if handle is None else handle.last_error_ptr()


@ffi.callback("void(ss_plugin_owner_t*, const char*, const char*, ss_plugin_log_severity)", onerror=lambda *exc: None)
def log_fn(o: Any, component: Any, msg: Any, sev: int) -> None:
    handle = _owner(o)
    if handle is not None:
        handle.owner.log(_decode(component), _decode(msg) or "", int(sev))
