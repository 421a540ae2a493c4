"""The Python side of a built plugin library, started by the library's init code.

:func:`start` loads the plugin class the library was built from, checks that its declarations
still match what the library baked in, and installs each capability's glue (the cffi
``extern "Python"`` functions). The resulting :class:`Runtime` keeps, by integer ID, the drivers
behind each ``ss_plugin_t*`` and ``ss_instance_t*``, and the memory handed to the host (valid
until the next call of the same function, as the plugin API requires). The C side reaches it
through the CPython API for the hot paths (see ``c/core.c``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

from ..backend import FieldRequest
from ..sdk import describe
from ..sdk.constants import Rc
from ..sdk.driver import InstanceDriver, PluginDriver
from ..sdk.log import LogSink
from ..sdk.reference import load_plugin_class
from . import common, extract, source


class Runtime:
    """The plugin objects of one library, and what they handed to the host."""

    def __init__(self, ffi: Any, lib: Any, spec: dict[str, Any]) -> None:
        self.ffi, self.lib, self.spec = ffi, lib, spec
        self.cls = load_plugin_class(spec["reference"])
        self.description = describe(self.cls)
        if self.description.digest != spec["digest"]:
            raise RuntimeError(
                f"the declarations of plugin {spec['name']} ({spec['reference']}) changed since this library was "
                "built (name, fields, config or capabilities); rebuild it with falcoplug build"
            )
        self.drivers: dict[int, PluginDriver] = {}
        self.instances: dict[int, InstanceDriver] = {}
        self._kept: dict[tuple[int, str], Any] = {}
        self._ids = itertools.count(1)

    # -- IDs behind the host's handles ----------------------------------------------------------
    def add_driver(self, driver: PluginDriver) -> int:
        key = next(self._ids)
        self.drivers[key] = driver
        return key

    def add_instance(self, instance: InstanceDriver) -> int:
        key = next(self._ids)
        self.instances[key] = instance
        return key

    def forget(self, state_id: int) -> None:
        self.drivers.pop(state_id, None)
        for key in [k for k in self._kept if k[0] == state_id]:
            del self._kept[key]

    # -- called from C through the CPython API ----------------------------------------------------
    def driver(self, state_id: int) -> PluginDriver:
        return self.drivers[state_id]

    def instance(self, instance_id: int) -> tuple[Callable[[], int], list[Any]]:
        inst = self.instances[instance_id]
        return inst.next_batch, inst.writer.items

    def plan(self, state_id: int, requests: Sequence[tuple[Any, ...]]) -> Callable[..., Any]:
        return extract.plan_for(self.drivers[state_id], [FieldRequest(*r) for r in requests])

    # -- memory handed to the host ---------------------------------------------------------------
    def keep(self, state_id: int, slot: str, value: Any) -> Any:
        """Keep ``value`` (cffi memory) alive until the next call that uses the same slot."""
        self._kept[(state_id, slot)] = value
        return value

    def c_string(self, state_id: int, slot: str, text: str | None) -> Any:
        if text is None:
            return self.ffi.NULL
        return self.keep(state_id, slot, self.ffi.new("char[]", text.encode("utf-8", "replace")))

    def set_error(self, state: Any, text: str) -> None:
        data = text.encode("utf-8", "replace")
        self.lib.fp_set_error(state, data, len(data))

    def log_sink(self, owner: Any, log_fn: Any) -> LogSink | None:
        """The host's log function as a Python callable (``None`` when the host gave none)."""
        ffi = self.ffi
        if log_fn == ffi.NULL:
            return None

        def sink(component: str | None, message: str, severity: int) -> None:
            comp = component.encode("utf-8", "replace") if component else ffi.NULL
            log_fn(owner, comp, message.replace("\0", " ").encode("utf-8", "replace"), severity)

        return sink

    def guarded(self, context: str, failure: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Wrap a glue function: an unexpected error becomes the state's last error and ``failure``."""

        def wrap(func: Callable[..., Any]) -> Callable[..., Any]:
            def guarded_call(state: Any, *args: Any) -> Any:
                try:
                    return func(state, *args)
                except BaseException as exc:  # noqa: BLE001 - never let an error reach the host
                    self.set_error(state, f"{context}: {type(exc).__name__}: {exc}")
                    return failure

            guarded_call.__name__ = func.__name__
            return guarded_call

        return wrap


FAILURE = int(Rc.FAILURE)
SUCCESS = int(Rc.SUCCESS)


def start(ffi: Any, lib: Any, spec: dict[str, Any]) -> Runtime:
    """Load the plugin and install the glue of each capability it has."""
    runtime = Runtime(ffi, lib, spec)
    common.install(runtime)
    if runtime.description.sourcing is not None:
        source.install(runtime)
    if runtime.description.extraction is not None:
        extract.install(runtime)
    return runtime
