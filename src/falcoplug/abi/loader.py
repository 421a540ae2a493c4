"""The C -> Python adapter: a plugin shared library loaded with dlopen, behind the backend interface.

Every pointer a plugin returns is only valid until its next call of the same function, so every
value is copied out at once: strings are decoded, events are gathered into a host-owned batch, and
extracted values are copied into Python objects. Per-event loops run in the compiled fast path
when it is available (see ``ffi.py``), else in Python.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..errors import PluginError, PluginLoadError
from ..events import EventBatch
from ..backend import ENTRY_POINTS, AsyncHandler, Extractor, FieldRequest, Metric, Owner, Parser, PluginBackend
from . import async_events, host, routines
from .extractor import CExtractor
from .loop import SourceLoop
from .parser import CParser
from .constants import MetricValueType, Rc
from .ffi import RTLD_LOCAL, RTLD_NOW, dl, ffi
from .golang import direct_extraction


class CPluginBackend(PluginBackend):
    """A plugin library opened with ``dlopen(RTLD_LOCAL | RTLD_NOW)``, as libsinsp opens it."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.location = os.fspath(path)
        dlerror = dl.dlerror  # looked up first: in ABI mode, a lazy lookup after dlopen clears its message
        with direct_extraction(self.location):
            self._handle = dl.dlopen(self.location.encode(), RTLD_NOW | RTLD_LOCAL)
            if self._handle != ffi.NULL:
                _wait_for_go_runtime(self._handle)
        if self._handle == ffi.NULL:
            err = dlerror()
            reason = ffi.string(err).decode("utf-8", "replace") if err != ffi.NULL else "unknown error"
            raise PluginLoadError(f"can't load plugin dynamic library: {reason}", plugin=self.location)
        self._fn: dict[str, Any] = {}
        for name in ENTRY_POINTS:
            sym = dl.dlsym(self._handle, f"plugin_{name}".encode())
            if sym != ffi.NULL:
                self._fn[name] = ffi.cast(f"fp_{name}_t", sym)
        self._state: Any = ffi.NULL
        self._owner: host.OwnerHandle | None = None
        self._keep: list[Any] = []  # C memory the plugin may still point to (config, init input)
        self._listen_input: Any = None
        # Set once a call asking for several fields could not be proven safe (see CExtractor):
        # from then on every request of this plugin asks one field per call, as libsinsp does.
        self.extract_one_field_per_call = False

    # -- helpers ----------------------------------------------------------------------------
    def has(self, entry_point: str) -> bool:
        return entry_point in self._fn

    def _string(self, ptr: Any, what: str) -> str | None:
        if ptr == ffi.NULL:
            return None
        raw = ffi.string(ptr)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise PluginError(f"plugin {self.location}: {what} returned a string that is not valid UTF-8: {raw[:64]!r}")

    def _call_str(self, name: str) -> str | None:
        fn = self._fn.get(name)
        return None if fn is None else self._string(fn(), name)

    # -- information --------------------------------------------------------------------------
    def get_required_api_version(self) -> str | None:
        return self._call_str("get_required_api_version")

    def get_version(self) -> str | None:
        return self._call_str("get_version")

    def get_name(self) -> str | None:
        return self._call_str("get_name")

    def get_description(self) -> str | None:
        return self._call_str("get_description")

    def get_contact(self) -> str | None:
        return self._call_str("get_contact")

    def get_id(self) -> int:
        fn = self._fn.get("get_id")
        return 0 if fn is None else int(fn())

    def get_event_source(self) -> str | None:
        return self._call_str("get_event_source")

    def get_fields(self) -> str | None:
        return self._call_str("get_fields")

    def get_extract_event_sources(self) -> str | None:
        return self._call_str("get_extract_event_sources")

    def get_parse_event_sources(self) -> str | None:
        return self._call_str("get_parse_event_sources")

    def get_async_event_sources(self) -> str | None:
        return self._call_str("get_async_event_sources")

    def get_async_events(self) -> str | None:
        return self._call_str("get_async_events")

    def get_init_schema(self) -> tuple[int, str | None]:
        fn = self._fn.get("get_init_schema")
        if fn is None:
            return 0, None
        schema_type = ffi.new("ss_plugin_schema_type*", 0)
        text = self._string(fn(schema_type), "get_init_schema")
        return int(schema_type[0]), text

    # -- lifecycle ----------------------------------------------------------------------------
    def init(self, config: str, owner: Owner, with_tables: bool) -> tuple[bool, int]:
        self._owner = host.OwnerHandle(owner, self._safe_last_error)
        init_input = ffi.new("ss_plugin_init_input*")
        config_buf = ffi.new("char[]", config.encode())
        init_input.config = config_buf
        init_input.owner = self._owner.handle
        init_input.get_owner_last_error = host.get_owner_last_error
        init_input.log_fn = host.log_fn
        tables = host.table_vtables().init_tables_input() if with_tables else ffi.NULL
        init_input.tables = tables
        self._keep += [init_input, config_buf, tables]
        rc = ffi.new("ss_plugin_rc*", Rc.FAILURE)
        self._state = self._fn["init"](init_input, rc)
        self._owner.plugin_state = self._state
        return self._state != ffi.NULL, int(rc[0])

    def _safe_last_error(self) -> str | None:
        """The plugin's last error for messages built in callbacks (never raises)."""
        try:
            return self.get_last_error()
        except Exception:
            return None

    def destroy(self) -> None:
        if self._state != ffi.NULL:
            state, self._state = self._state, ffi.NULL
            if self._owner is not None:
                self._owner.plugin_state = ffi.NULL
            self._fn["destroy"](state)

    def get_last_error(self) -> str | None:
        if self._state == ffi.NULL:
            return None
        return self._string(self._fn["get_last_error"](self._state), "get_last_error")

    def _event_types(self, name: str) -> list[int] | None:
        fn = self._fn.get(name)
        if fn is None:
            return None
        n = ffi.new("uint32_t*", 0)
        types = fn(n, self._state)
        if types == ffi.NULL or n[0] == 0:
            return None
        return list(ffi.unpack(types, min(int(n[0]), 65536)))

    def get_extract_event_types(self) -> list[int] | None:
        return self._event_types("get_extract_event_types")

    def get_parse_event_types(self) -> list[int] | None:
        return self._event_types("get_parse_event_types")

    def get_required_event_schema_version(self) -> str | None:
        fn = self._fn.get("get_required_event_schema_version")
        return None if fn is None else self._string(fn(self._state), "get_required_event_schema_version")

    def set_config(self, config: str) -> int:
        cfg = ffi.new("char[]", config.encode())
        set_input = ffi.new("ss_plugin_set_config_input*", {"config": cfg})
        return int(self._fn["set_config"](self._state, set_input))

    def get_metrics(self) -> list[Metric]:
        fn = self._fn.get("get_metrics")
        if fn is None:
            return []
        n = ffi.new("uint32_t*", 0)
        metrics = fn(self._state, n)
        if metrics == ffi.NULL:
            return []
        return [self._metric(metrics[i]) for i in range(int(n[0]))]

    def _metric(self, m: Any) -> Metric:
        kind = MetricValueType(m.value_type)
        value = {
            MetricValueType.U32: lambda v: v.u32,
            MetricValueType.S32: lambda v: v.s32,
            MetricValueType.U64: lambda v: v.u64,
            MetricValueType.S64: lambda v: v.s64,
            MetricValueType.D: lambda v: v.d,
            MetricValueType.F: lambda v: v.f,
            MetricValueType.I: lambda v: v.i,
        }[kind](m.value)
        return Metric(self._string(m.name, "get_metrics") or "", value, monotonic=int(m.type) == 0)

    # -- sourcing -----------------------------------------------------------------------------
    def open(self, params: str) -> tuple[Any, int]:
        rc = ffi.new("ss_plugin_rc*", Rc.FAILURE)
        params_buf = ffi.new("char[]", params.encode())
        handle = self._fn["open"](self._state, params_buf, rc)
        return (None if handle == ffi.NULL else _Instance(handle, SourceLoop(self._fn["next_batch"], self._state, handle))), int(rc[0])

    def close(self, handle: Any) -> None:
        self._fn["close"](self._state, handle.ptr if handle is not None else ffi.NULL)
        if handle is not None:
            handle.free()

    def next_batch(self, handle: Any, plugin_id: int, plugin_name: str) -> tuple[int, EventBatch]:
        return handle.loop.next_batch(plugin_id, plugin_name)

    def list_open_params(self) -> tuple[int, str | None]:
        rc = ffi.new("ss_plugin_rc*", Rc.FAILURE)
        text = self._string(self._fn["list_open_params"](self._state, rc), "list_open_params")
        return int(rc[0]), text

    def get_progress(self, handle: Any) -> tuple[int, str | None]:
        pct = ffi.new("uint32_t*", 0)
        text = self._string(self._fn["get_progress"](self._state, handle.ptr, pct), "get_progress")
        return int(pct[0]), text

    def event_to_string(self, event: bytes | memoryview, evtnum: int, source: str | None) -> str | None:
        evt_buf = ffi.from_buffer("char[]", event)
        src = ffi.new("char[]", source.encode()) if source is not None else ffi.NULL
        evt_input = ffi.new("ss_plugin_event_input*")
        evt_input.evt = ffi.cast("ss_plugin_event*", evt_buf)
        evt_input.evtnum = evtnum
        evt_input.evtsrc = src
        return self._string(self._fn["event_to_string"](self._state, evt_input), "event_to_string")

    # -- extraction ---------------------------------------------------------------------------
    def extractor(self, fields: Sequence[FieldRequest]) -> Extractor:
        return CExtractor(self, fields)

    # -- parsing --------------------------------------------------------------------------------
    def parser(self) -> Parser:
        return CParser(self)

    # -- async events ---------------------------------------------------------------------------
    def set_async_event_handler(self, handler: AsyncHandler | None) -> int:
        owner = self._require_owner()
        fn = self._fn["set_async_event_handler"]
        if handler is not None:
            # Set before the call, so that threads the plugin starts see it at once.
            previous, owner.async_handler = owner.async_handler, handler
            rc = int(fn(self._state, owner.handle, async_events.async_handler))
            if rc != Rc.SUCCESS:
                owner.async_handler = previous
            return rc
        rc = int(fn(self._state, owner.handle, ffi.NULL))
        if rc == Rc.SUCCESS:  # cleared after the call: the plugin's threads are joined by now
            owner.async_handler = None
        return rc

    def dump_state(self, handler: AsyncHandler) -> int:
        owner = self._require_owner()
        owner.dump_handler = handler
        try:
            return int(self._fn["dump_state"](self._state, owner.handle, async_events.dump_handler))
        finally:
            owner.dump_handler = None

    # -- capture listening ----------------------------------------------------------------------
    def _capture_listen_input(self) -> Any:
        if self._listen_input is None:
            owner = self._require_owner()
            listen = ffi.new("ss_plugin_capture_listen_input*")
            listen.owner = owner.handle
            listen.routine = routines.routine_vtable()
            listen.get_owner_last_error = host.get_owner_last_error
            host.table_vtables().fill_listen_input(listen)
            self._listen_input = listen
        return self._listen_input

    def capture_open(self) -> int:
        return int(self._fn["capture_open"](self._state, self._capture_listen_input()))

    def capture_close(self) -> int:
        rc = int(self._fn["capture_close"](self._state, self._capture_listen_input()))
        routines.forget(self._require_owner())
        return rc

    def _require_owner(self) -> host.OwnerHandle:
        if self._owner is None:
            raise PluginError(f"plugin {self.location}: used before init")
        return self._owner

    def unload(self) -> None:
        """Destroy the state and close the library (nothing of it may be used afterwards)."""
        self.destroy()
        if self._handle != ffi.NULL:
            dl.dlclose(self._handle)
            self._handle = ffi.NULL


def _wait_for_go_runtime(handle: Any) -> None:
    """A Go library starts its runtime in a thread of its own: wait for it (what every exported Go
    function does first), so that it has read its CPUs before :func:`direct_extraction` ends."""
    wait = dl.dlsym(handle, b"_cgo_wait_runtime_init_done")
    if wait != ffi.NULL:
        ffi.cast("uintptr_t(*)(void)", wait)()


class _Instance:
    """An open capture instance and its event loop."""

    def __init__(self, ptr: Any, loop: SourceLoop) -> None:
        self.ptr = ptr
        self.loop = loop

    def free(self) -> None:
        self.loop.free()
