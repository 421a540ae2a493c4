"""The Python side of a built plugin library, started by the library's init code.

:func:`start` loads the plugin class the library was built from, checks that its declarations
still match what the library baked in, and installs each capability's glue (the cffi
``extern "Python"`` functions). The resulting :class:`Runtime` keeps, by integer ID, the drivers
behind each ``ss_plugin_t*`` and ``ss_instance_t*``, and the memory handed to the host (valid
until the next call of the same function, as the plugin API requires). The C side reaches it
through the CPython API for the hot paths (see ``c/core.c``), and hands it the native functions
through which Python calls the host's vtables (``c/natives.c``): state tables, the async event
handler, the routine vtable.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

from ..backend import FieldRequest, TableError
from ..errors import PluginLoadError
from ..sdk import describe
from ..sdk.async_events import AsyncEventError
from ..sdk.constants import Rc
from ..sdk.driver import HostContext, InstanceDriver, PluginDriver
from ..sdk.log import LogSink
from ..sdk.reference import PluginRef, load_plugin_class, parse_ref
from ..sdk.tables import Table
from . import async_events, common, extract, listen, parse, source, tables


OVERRIDE_PATH = "FALCOPLUG_PYTHONPATH"


def locate_plugin(reference: str) -> PluginRef:
    """The plugin the library was built from: its recorded reference, or, when the recorded file
    is gone, a file of the same name found on the search path.

    The library records the file's absolute path, so a moved file is searched for by name:
    in the ``FALCOPLUG_PYTHONPATH`` directories first (in their order, as ``sys.path`` has them
    in front), then in the rest of ``sys.path`` (the build's). Matching the file name rather than
    importing the stem as a module keeps a plugin named like another module (``json.py``) from
    resolving to that module. The declarations are then checked against the library's digest as
    for any start.
    """
    ref = parse_ref(reference)
    if ref.file is None or os.path.isfile(ref.file):
        return ref
    name = os.path.basename(ref.file)
    override = [p for p in os.environ.get(OVERRIDE_PATH, "").split(os.pathsep) if p]
    for folder in [*override, *sys.path]:
        candidate = os.path.join(os.path.abspath(folder or os.curdir), name)
        if os.path.isfile(candidate):
            return PluginRef(None, candidate, ref.cls)
    hint = (
        f"not in {OVERRIDE_PATH}={os.environ[OVERRIDE_PATH]} either" if override
        else f"set {OVERRIDE_PATH} to the directory it was moved to"
    )  # fmt: skip
    raise PluginLoadError(
        f"no such file: {ref.file}, and no {name} on the search path ({hint})",
        plugin=ref.text,
    )


class Link:
    """A state's address, as the native functions take it; 0 once the state is gone."""

    __slots__ = ("addr",)

    def __init__(self, addr: int) -> None:
        self.addr = addr


class Runtime:
    """The plugin objects of one library, and what they handed to the host."""

    def __init__(self, ffi: Any, lib: Any, spec: dict[str, Any]) -> None:
        self.ffi, self.lib, self.spec = ffi, lib, spec
        self.cls = load_plugin_class(locate_plugin(spec["reference"]))
        self.description = describe(self.cls)
        if self.description.digest != spec["digest"]:
            raise RuntimeError(
                f"the declarations of plugin {spec['name']} ({spec['reference']}) changed since this library was "
                "built (name, fields, config or capabilities); rebuild it with falcoplug build"
            )
        self.drivers: dict[int, PluginDriver] = {}
        self.instances: dict[int, InstanceDriver] = {}
        self.links: dict[int, Link] = {}
        self.owned: dict[int, tables.OwnedExport] = {}
        self.routine_steps = listen.Routines()
        self.natives: Any = SimpleNamespace()
        self._kept: dict[tuple[int, str], Any] = {}
        self._ids = itertools.count(1)

    # -- what c/natives.c binds -------------------------------------------------------------------
    table_error = TableError
    async_error = AsyncEventError

    def bind_natives(self, natives: dict[str, Any]) -> None:
        self.natives = SimpleNamespace(**natives)

    def host_context(self, state: Any, init_input: Any) -> tuple[HostContext, Link]:
        """What the host offers a new state (its tables when the init input has them), and the
        state's link for the native functions."""
        link = Link(int(self.ffi.cast("uintptr_t", state)))
        has_tables = self.description.parsing is not None or self.description.extraction is not None
        host = None
        if has_tables and init_input.tables != self.ffi.NULL:
            host = tables.NativeTableHost(self, link)
        return HostContext(host), link

    def export_table(self, link: Link, table: Table[Any, Any]) -> None:
        """Register a table the plugin owns with the host (``add_table`` through ``c/tables.c``)."""
        table_id = next(self._ids)
        self.owned[table_id] = tables.OwnedExport(self.ffi, table, link.addr)
        try:
            self.natives.t_add_table(link.addr, table_id, table.name, int(table.key_type))
        except BaseException:
            del self.owned[table_id]
            raise

    def parser(self, state_id: int) -> Callable[[bytes, int, Any], int]:
        return self.drivers[state_id].parser()

    def router(self, state_id: int) -> Callable[[int], bool]:
        return self.routine_steps.run

    # -- IDs behind the host's handles ----------------------------------------------------------
    def add_driver(self, driver: PluginDriver, link: Link | None = None) -> int:
        key = next(self._ids)
        self.drivers[key] = driver
        if link is not None:
            self.links[key] = link
        return key

    def add_instance(self, instance: InstanceDriver) -> int:
        key = next(self._ids)
        self.instances[key] = instance
        return key

    def forget(self, state_id: int) -> None:
        self.drivers.pop(state_id, None)
        link = self.links.pop(state_id, None)
        if link is not None:
            for key in [k for k, ex in self.owned.items() if ex.state_addr == link.addr]:
                del self.owned[key]
            link.addr = 0  # objects the plugin kept can no longer reach the freed state
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
    for glue in glue_modules(runtime.description):
        glue.install(runtime)
    return runtime


def glue_modules(desc: Any) -> list[Any]:
    """The glue module of each capability of a plugin, in the order their C files are compiled."""
    mods: list[Any] = [common]
    if desc.sourcing is not None:
        mods.append(source)
    if desc.extraction is not None:
        mods.append(extract)
    if desc.parsing is not None or desc.extraction is not None:
        mods.append(tables)  # the host gives state tables to parsing and extracting plugins
    if desc.parsing is not None:
        mods.append(parse)
    if desc.async_events is not None:
        mods.append(async_events)
    if desc.listening is not None:
        mods.append(listen)
    return mods
