"""Glue of the capture listening entry points. Paired with ``c/listen.c``: routines are subscribed
through the native ``subscribe(state, routine_id)``; the host's thread pool runs them through
``fp_routine``, which calls :meth:`Runtime.run_routine` with the routine's ID.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from ..sdk.describe import Description

if TYPE_CHECKING:
    from .runtime import Link, Runtime

C_SOURCE: Final = "listen.c"
FAILURE: Final = 1
SUCCESS: Final = 0
_ids = itertools.count(1)


def declarations(desc: Description) -> str:
    return "\n".join([
        'extern "Python" int fpy_capture_open(fp_state* s);',
        'extern "Python" int fpy_capture_close(fp_state* s);',
    ])  # fmt: skip


def defines(desc: Description) -> dict[str, str | int | None]:
    return {"FP_HAS_LISTENING": None}


class Routines:
    """The routine steps of the running captures, by the ID the host hands back to ``fp_routine``."""

    def __init__(self) -> None:
        self.steps: dict[int, Callable[[], bool]] = {}
        self.lock = threading.Lock()

    def run(self, rid: int) -> bool:
        step = self.steps.get(rid)
        if step is None:
            return False
        if step():
            return True
        with self.lock:
            self.steps.pop(rid, None)
        return False


class NativeRoutines:
    """The host's routine vtable for one capture of one plugin (the SDK's routine host)."""

    def __init__(self, rt: Runtime, link: Link) -> None:
        self.rt = rt
        self.link = link
        self.ids: list[int] = []

    def subscribe(self, step: Callable[[], bool]) -> Any:
        rid = next(_ids)
        table = self.rt.routine_steps
        with table.lock:
            table.steps[rid] = step
        try:
            handle = self.rt.natives.subscribe(self.link.addr, rid)
        except BaseException:
            with table.lock:
                table.steps.pop(rid, None)
            raise
        self.ids.append(rid)
        return handle

    def unsubscribe(self, handle: Any) -> None:
        self.rt.natives.unsubscribe(self.link.addr, handle)

    def forget(self) -> None:
        table = self.rt.routine_steps
        with table.lock:
            for rid in self.ids:
                table.steps.pop(rid, None)
        self.ids.clear()


def install(rt: Runtime) -> None:
    ffi = rt.ffi
    captures: dict[int, NativeRoutines] = {}

    @ffi.def_extern(name="fpy_capture_open", error=FAILURE)
    @rt.guarded("capture_open", FAILURE)
    def fpy_capture_open(state: Any) -> int:
        driver = rt.drivers[state.id]
        previous = captures.pop(state.id, None)
        if previous is not None:
            previous.forget()
        routines = captures[state.id] = NativeRoutines(rt, rt.links[state.id])
        if driver.capture_open(routines):
            return SUCCESS
        rt.set_error(state, driver.last_error)
        return FAILURE

    @ffi.def_extern(name="fpy_capture_close", error=FAILURE)
    @rt.guarded("capture_close", FAILURE)
    def fpy_capture_close(state: Any) -> int:
        driver = rt.drivers[state.id]
        try:
            ok = driver.capture_close()
        finally:
            routines = captures.pop(state.id, None)
            if routines is not None:
                routines.forget()  # the host purges them on close
        if ok:
            return SUCCESS
        rt.set_error(state, driver.last_error)
        return FAILURE
