"""The routine vtable of the capture-listen input: ``subscribe`` and ``unsubscribe``.

``subscribe(owner, f, state)`` schedules ``f(plugin_state, state)`` on the owner's routine pool
(``owner.routines``, a ``framework.listen.RoutinePool``) until it returns 0; the returned
``ss_plugin_routine_t*`` is a handle the plugin gives back to ``unsubscribe``.
"""

from __future__ import annotations

import threading
from typing import Any

from .constants import Rc
from .ffi import ffi


class OwnerRoutines:
    """The routines one plugin subscribed: handle address -> (pool id, handle)."""

    def __init__(self) -> None:
        self.by_ptr: dict[int, tuple[int, Any]] = {}
        self.lock = threading.Lock()


def _owner_routines(owner: Any) -> OwnerRoutines:
    state = owner.routines
    if state is None:
        state = owner.routines = OwnerRoutines()
    return state


def _address(ptr: Any) -> int:
    return int(ffi.cast("uintptr_t", ptr))


def _step(fn: Any, plugin_state: Any, routine_state: Any) -> Any:
    # The routine runs in C without the GIL (cffi releases it around the call).
    return lambda: fn(plugin_state, routine_state) != 0


@ffi.callback(
    "ss_plugin_routine_t*(ss_plugin_owner_t*, ss_plugin_routine_fn_t, ss_plugin_routine_state_t*)",
    onerror=lambda *e: ffi.NULL,
)
def _subscribe(o: Any, fn: Any, routine_state: Any) -> Any:
    if o == ffi.NULL:
        return ffi.NULL
    owner = ffi.from_handle(o)
    try:
        pool = getattr(owner.owner, "routines", None)
        if pool is None:
            owner.set_error("no thread pool to subscribe routines to")
            return ffi.NULL
        if fn == ffi.NULL:
            owner.set_error("null routine function")
            return ffi.NULL
        routine_id = pool.subscribe(_step(fn, owner.plugin_state, routine_state), owner.name)
        ref = ffi.new_handle(routine_id)
        state = _owner_routines(owner)
        with state.lock:
            state.by_ptr[_address(ref)] = (routine_id, ref)
        return ref
    except Exception as exc:
        owner.set_error(str(exc) or "unknown error")
        return ffi.NULL


@ffi.callback("ss_plugin_rc(ss_plugin_owner_t*, ss_plugin_routine_t*)", onerror=lambda *e: Rc.FAILURE)
def _unsubscribe(o: Any, routine: Any) -> int:
    if o == ffi.NULL:
        return Rc.FAILURE
    owner = ffi.from_handle(o)
    try:
        state = _owner_routines(owner)
        with state.lock:
            found = state.by_ptr.pop(_address(routine), None) if routine != ffi.NULL else None
        if found is None:
            owner.set_error("unsubscribe called with an unknown routine")
            return Rc.FAILURE
        pool = getattr(owner.owner, "routines", None)
        if pool is not None and not pool.unsubscribe(found[0]):
            # the routine ended (returned 0) or was purged: libsinsp's pool no longer knows it
            owner.set_error("unsubscribe called with an unknown routine")
            return Rc.FAILURE
        return Rc.SUCCESS
    except Exception as exc:
        owner.set_error(str(exc) or "unknown error")
        return Rc.FAILURE


def forget(owner: Any) -> None:
    """Drop the owner's routine handles (after the pool was purged on capture close)."""
    if owner.routines is not None:
        with owner.routines.lock:
            owner.routines.by_ptr.clear()


_vtable: Any = None


def routine_vtable() -> Any:
    global _vtable
    if _vtable is None:
        _vtable = ffi.new("ss_plugin_routine_vtable*")
        _vtable.subscribe = _subscribe
        _vtable.unsubscribe = _unsubscribe
    return _vtable
