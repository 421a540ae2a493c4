"""Glue of the async events entry points (``set_async_event_handler``, ``dump_state``). Paired with
``c/async.c``, which keeps the host's handlers; the SDK's emitter sends through the native
``emit(state, which, event)``.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Final

from ..sdk.describe import Description

if TYPE_CHECKING:
    from .runtime import Runtime

C_SOURCE: Final = "async.c"
FAILURE: Final = 1
SUCCESS: Final = 0


def declarations(desc: Description) -> str:
    decl = ['extern "Python" int fpy_set_async(fp_state* s, int on);']
    if desc.has("dump_state"):
        decl.append('extern "Python" int fpy_dump_state(fp_state* s);')
    return "\n".join(decl)


def defines(desc: Description) -> dict[str, str | int | None]:
    info = desc.async_events
    assert info is not None
    out: dict[str, str | int | None] = {"FP_HAS_ASYNC": None, "FP_ASYNC_EVENTS": info.names_json}
    if info.sources_json is not None:
        out["FP_ASYNC_EVENT_SOURCES"] = info.sources_json
    if desc.has("dump_state"):
        out["FP_HAS_DUMP_STATE"] = None
    return out


def install(rt: Runtime) -> None:
    ffi = rt.ffi

    @ffi.def_extern(name="fpy_set_async", error=FAILURE)
    @rt.guarded("set_async_event_handler", FAILURE)
    def fpy_set_async(state: Any, on: int) -> int:
        driver = rt.drivers[state.id]
        send = functools.partial(rt.natives.emit, rt.links[state.id].addr, 0) if on else None
        before = driver.last_error
        ok = driver.set_async_handler(send)
        if not ok or driver.last_error != before:  # a reset succeeds even when stop_async failed
            rt.set_error(state, driver.last_error)
        return SUCCESS if ok else FAILURE

    if rt.description.has("dump_state"):

        @ffi.def_extern(name="fpy_dump_state", error=FAILURE)
        @rt.guarded("dump_state", FAILURE)
        def fpy_dump_state(state: Any) -> int:
            driver = rt.drivers[state.id]
            if driver.dump_state(functools.partial(rt.natives.emit, rt.links[state.id].addr, 1)):
                return SUCCESS
            rt.set_error(state, driver.last_error)
            return FAILURE
