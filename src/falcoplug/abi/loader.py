"""The C -> Python adapter: a plugin shared library loaded with dlopen, behind the backend interface.

Every pointer a plugin returns is only valid until its next call of the same function, so every
value is copied out at once: strings are decoded, events are gathered into a host-owned batch, and
extracted values are copied into Python objects. Per-event loops run in the compiled fast path
when it is available (see ``ffi.py``), else in Python.
"""

from __future__ import annotations

import ipaddress
from array import array
import os
import time
from collections.abc import Sequence
from typing import Any

from ..errors import EventError, PluginError, PluginLoadError
from ..events import EventBatch, fix_plugin_events
from ..backend import ENTRY_POINTS, AsyncHandler, Extractor, FieldRequest, Metric, Owner, Parser, PluginBackend
from . import async_events, host, routines
from .parser import CParser
from .constants import MAX_ERRLEN, UINT64_MAX, FieldType, MetricValueType, Rc
from .ffi import RTLD_LOCAL, RTLD_NOW, dl, fastpath, ffi

FP_NO_VALUE = 0xFFFFFFFF


def _now_ns() -> int:
    return time.time_ns()


class CPluginBackend(PluginBackend):
    """A plugin library opened with ``dlopen(RTLD_LOCAL | RTLD_NOW)``, as libsinsp opens it."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.location = os.fspath(path)
        self._handle = dl.dlopen(self.location.encode(), RTLD_NOW | RTLD_LOCAL)
        if self._handle == ffi.NULL:
            err = dl.dlerror()
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
        return (None if handle == ffi.NULL else _Instance(handle)), int(rc[0])

    def close(self, handle: Any) -> None:
        self._fn["close"](self._state, handle.ptr if handle is not None else ffi.NULL)
        if handle is not None:
            handle.free()

    def next_batch(self, handle: Any, plugin_id: int, plugin_name: str) -> tuple[int, EventBatch]:
        if fastpath is not None:
            return self._next_batch_fast(handle, plugin_id, plugin_name)
        return self._next_batch_slow(handle, plugin_id, plugin_name)

    def _next_batch_fast(self, inst: _Instance, plugin_id: int, plugin_name: str) -> tuple[int, EventBatch]:
        out = inst.batch
        rc = fastpath.fp_next_batch(
            self._fn["next_batch"], self._state, inst.ptr, plugin_id, inst.name_buf(plugin_name),
            _now_ns(), out, inst.nevts, inst.err, MAX_ERRLEN,
        )  # fmt: skip
        if rc <= -100:
            raise EventError(ffi.string(inst.err).decode("utf-8", "replace"))
        n = int(inst.nevts[0])
        if n == 0:
            return rc, _EMPTY
        data = ffi.buffer(out.data, out.len)[:]
        offsets = memoryview(ffi.buffer(out.offs, 8 * n)[:]).cast("Q")
        return rc, EventBatch(data, offsets)

    def _next_batch_slow(self, inst: _Instance, plugin_id: int, plugin_name: str) -> tuple[int, EventBatch]:
        nevts = ffi.new("uint32_t*", 0)
        evts = ffi.new("ss_plugin_event***")
        rc = int(self._fn["next_batch"](self._state, inst.ptr, nevts, evts))
        n = int(nevts[0])
        if n == 0:
            return rc, _EMPTY
        if evts[0] == ffi.NULL:
            raise EventError(
                f"malformed plugin event produced by plugin: '{plugin_name}' "
                f"(next_batch returned {n} events and a NULL array)"
            )
        chunks, offsets, pos = [], [], 0
        for i in range(n):
            evt = evts[0][i]
            if evt == ffi.NULL:
                raise EventError(f"malformed plugin event produced by plugin: '{plugin_name}' (event {i} of the batch is NULL)")
            length = int(evt.len)
            if length < 26 or length > 64 * 1024 * 1024:
                raise EventError(f"malformed plugin event produced by plugin: '{plugin_name}' (event length {length})")
            chunks.append(ffi.buffer(evt, length)[:])
            offsets.append(pos)
            pos += length
        data = bytearray(b"".join(chunks))
        fix_plugin_events(data, offsets, plugin_id, plugin_name, _now_ns())
        return rc, EventBatch(bytes(data), offsets)

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


_EMPTY = EventBatch(b"", ())


class _Instance:
    """An open capture instance and the buffers reused by each of its batches."""

    def __init__(self, ptr: Any) -> None:
        self.ptr = ptr
        self.nevts = ffi.new("uint32_t*")
        self.err = ffi.new(f"char[{MAX_ERRLEN}]")
        self.batch = ffi.new("fp_batch*") if fastpath is not None else None
        self._name: tuple[str, Any] | None = None

    def name_buf(self, name: str) -> Any:
        if self._name is None or self._name[0] != name:
            self._name = (name, ffi.new("char[]", name.encode()))
        return self._name[1]

    def free(self) -> None:
        if self.batch is not None:
            fastpath.fp_batch_free(self.batch)
            self.batch = None


def _ip(ftype: int, raw: bytes) -> Any:
    if ftype == FieldType.IPNET:
        if len(raw) in (8, 32):  # address then netmask, as libsinsp's ipv4net (and its IPv6 twin)
            prefix = bin(int.from_bytes(raw[len(raw) // 2 :], "big")).count("1")
            return ipaddress.ip_network((ipaddress.ip_address(raw[: len(raw) // 2]), prefix), strict=False)
        return ipaddress.ip_network(raw) if len(raw) in (4, 16) else ipaddress.ip_network((raw[: len(raw) // 2], 0))
    return ipaddress.ip_address(raw)


class CExtractor(Extractor):
    """One extract request: the ``ss_plugin_extract_field`` array and input struct, built once."""

    def __init__(self, plugin: CPluginBackend, fields: Sequence[FieldRequest]) -> None:
        self.plugin = plugin
        self.fields = tuple(fields)
        n = len(self.fields)
        self._keep: list[Any] = []
        self._cfields = ffi.new("ss_plugin_extract_field[]", n)
        for cf, req in zip(self._cfields, self.fields):
            name = ffi.new("char[]", req.name.encode())
            self._keep.append(name)
            cf.field_id = req.field_id
            cf.field = name
            if req.arg_key is not None:
                key = ffi.new("char[]", req.arg_key.encode())
                self._keep.append(key)
                cf.arg_key = key
            cf.arg_index = UINT64_MAX if req.arg_index is None else req.arg_index
            cf.arg_present = int(req.arg_present)
            cf.ftype = req.ftype
            cf.flist = int(req.is_list)
        self._input = ffi.new("ss_plugin_field_extract_input*")
        self._input.owner = plugin._owner.handle if plugin._owner else ffi.NULL
        self._input.get_owner_last_error = host.get_owner_last_error
        self._input.num_fields = n
        self._input.fields = self._cfields
        host.table_vtables().fill_extract_input(self._input)
        self._input.value_offsets = ffi.NULL
        self._sources: dict[str | None, Any] = {None: ffi.NULL}
        self._err = ffi.new(f"char[{MAX_ERRLEN}]")
        self._values = None
        if fastpath is not None:
            self._values = ffi.new("fp_values*")
            if fastpath.fp_values_init(self._values, n) != 0:
                raise MemoryError("cannot allocate the extraction buffers")
        # How each field's values are stored: strings, numbers (u64 and bool) or byte buffers.
        self._kinds = tuple(_kind(req.ftype) for req in self.fields)

    def __del__(self) -> None:
        if getattr(self, "_values", None) is not None and fastpath is not None:
            fastpath.fp_values_free(self._values)

    def _source(self, source: str | None) -> Any:
        buf = self._sources.get(source)
        if buf is None:
            buf = self._sources[source] = ffi.new("char[]", source.encode())  # type: ignore[union-attr]
        return buf

    def extract_batch(
        self, batch: EventBatch, evtnums: Sequence[int], source: str | None, type_ok: bytes | None
    ) -> list[list[Any]]:
        if len(batch) == 0:
            return [[] for _ in self.fields]
        if fastpath is not None:
            return self._extract_fast(batch, evtnums, source, type_ok)
        return self._extract_slow(batch, evtnums, source, type_ok)

    def _extract_fast(
        self, batch: EventBatch, evtnums: Sequence[int], source: str | None, type_ok: bytes | None
    ) -> list[list[Any]]:
        n = len(batch)
        offsets, nums = _u64_buffer(batch.offsets), _u64_buffer(evtnums)
        out = self._values
        r = fastpath.fp_extract_batch(
            self.plugin._fn["extract_fields"], self.plugin._state, self._input,
            ffi.from_buffer("uint8_t[]", batch.data), ffi.from_buffer("uint64_t[]", offsets), n,
            ffi.from_buffer("uint64_t[]", nums), self._source(source),
            ffi.from_buffer("uint8_t[]", type_ok) if type_ok is not None else ffi.NULL,
            out, self._err, MAX_ERRLEN,
        )  # fmt: skip
        if r != 0:
            raise PluginError(f"plugin {self.plugin.location}: {ffi.string(self._err).decode('utf-8', 'replace')}")
        nf = len(self.fields)
        counts = memoryview(ffi.buffer(out.counts, 4 * n * nf)[:]).cast("I")
        return [
            self._column(req, kind, counts[j::nf].tolist(), ffi.buffer(out.streams[j].data, out.streams[j].len)[:])
            for j, (req, kind) in enumerate(zip(self.fields, self._kinds))
        ]

    def _column(self, req: FieldRequest, kind: str, counts: list[int], stream: bytes) -> list[Any]:
        """One field's values for every event, from its value stream and per-event counts."""
        if kind == "s":
            values: list[Any] = self._decode_strings(req, stream)
        elif kind == "n":
            values = memoryview(stream).cast("Q").tolist() if stream else []
            if req.ftype == FieldType.BOOL:
                values = [v != 0 for v in values]
        else:
            values = self._split_buffers(req, stream)
        n = len(counts)
        if not req.is_list:
            if len(values) == n:
                return values
            it = iter(values)
            return [None if c == FP_NO_VALUE else next(it) for c in counts]
        col: list[Any] = []
        pos = 0
        for c in counts:
            if c == FP_NO_VALUE:
                col.append(None)
            else:
                col.append(values[pos : pos + c])
                pos += c
        return col

    def _decode_strings(self, req: FieldRequest, blob: bytes) -> list[str]:
        if not blob:
            return []
        try:
            return blob.decode("utf-8").split("\0")[:-1]
        except UnicodeDecodeError as exc:
            bad = blob[max(0, exc.start - 16) : exc.end + 16]
            raise PluginError(
                f"plugin {self.plugin.location}: extracted a string that is not valid UTF-8 "
                f"(fields {req.name}): {bad!r}"
            ) from None

    def _split_buffers(self, req: FieldRequest, stream: bytes) -> list[Any]:
        values = []
        pos, end = 0, len(stream)
        while pos < end:
            length = int.from_bytes(stream[pos : pos + 4], "little")
            values.append(self._ip(req, stream[pos + 4 : pos + 4 + length]))
            pos += 4 + length
        return values

    def _ip(self, req: FieldRequest, raw: bytes) -> Any:
        cached = _IP_CACHE.get((req.ftype, raw))
        if cached is not None:
            return cached
        try:
            value = _ip(req.ftype, raw)
        except ValueError:
            raise PluginError(
                f"plugin {self.plugin.location}: field '{req.name}' returned an address of {len(raw)} bytes"
            ) from None
        if len(_IP_CACHE) > 4096:
            _IP_CACHE.clear()
        _IP_CACHE[(req.ftype, raw)] = value
        return value

    def _extract_slow(
        self, batch: EventBatch, evtnums: Sequence[int], source: str | None, type_ok: bytes | None
    ) -> list[list[Any]]:
        cols: list[list[Any]] = [[] for _ in self.fields]
        evt_input = ffi.new("ss_plugin_event_input*")
        evt_input.evtsrc = self._source(source)
        data = ffi.from_buffer("uint8_t[]", batch.data)
        fn = self.plugin._fn["extract_fields"]
        for i, off in enumerate(batch.offsets):
            evt = ffi.cast("ss_plugin_event*", data + off)
            if type_ok is not None and not type_ok[evt.type]:
                for col in cols:
                    col.append(None)
                continue
            for cf in self._cfields:
                cf.res_len = 0
            evt_input.evt = evt
            evt_input.evtnum = evtnums[i]
            rc = fn(self.plugin._state, evt_input, self._input)
            for j, (cf, req) in enumerate(zip(self._cfields, self.fields)):
                if rc != Rc.SUCCESS and len(self.fields) > 1 and not self._retry_one(fn, evt_input, j):
                    cols[j].append(None)
                    continue
                if rc != Rc.SUCCESS and len(self.fields) == 1:
                    cols[j].append(None)
                    continue
                cols[j].append(None if cf.res_len == 0 else self._read_values(cf, req))
        return cols

    def extract_offsets(
        self, buf: bytes | memoryview, offset: int, evtnum: int, source: str | None
    ) -> list[tuple[Any, tuple[int, int] | None]]:
        """Each field's value with where it lies in the event (``start, length``), when the plugin
        reports value offsets (``None`` when it does not)."""
        offsets = ffi.new("ss_plugin_extract_value_offsets*")
        evt_input = ffi.new("ss_plugin_event_input*")
        evt_input.evtsrc = self._source(source)
        data = ffi.from_buffer("uint8_t[]", buf)
        evt_input.evt = ffi.cast("ss_plugin_event*", data + offset)
        evt_input.evtnum = evtnum
        for cf in self._cfields:
            cf.res_len = 0
        self._input.value_offsets = offsets
        try:
            rc = self.plugin._fn["extract_fields"](self.plugin._state, evt_input, self._input)
            result = []
            for j, (cf, req) in enumerate(zip(self._cfields, self.fields)):
                value = None if rc != Rc.SUCCESS or cf.res_len == 0 else self._read_values(cf, req)
                where = None
                if offsets.start != ffi.NULL and offsets.length != ffi.NULL:
                    where = (int(offsets.start[j]), int(offsets.length[j]))
                result.append((value, where))
            return result
        finally:
            self._input.value_offsets = ffi.NULL

    def _retry_one(self, fn: Any, evt_input: Any, j: int) -> bool:
        """After a failing call, ask for field ``j`` alone, as libsinsp (one field per call) would."""
        one = self._input
        one.fields = self._cfields + j
        one.num_fields = 1
        self._cfields[j].res_len = 0
        try:
            return fn(self.plugin._state, evt_input, one) == Rc.SUCCESS
        finally:
            one.fields = self._cfields
            one.num_fields = len(self.fields)

    def _read_values(self, cf: Any, req: FieldRequest) -> Any:
        n = int(cf.res_len)
        if n >= FP_NO_VALUE or (not req.is_list and n != 1):
            kind = "list" if req.is_list else "non-list"
            raise PluginError(f"plugin {self.plugin.location}: plugin returned {n} values for {kind} field '{req.name}'")
        kind = _kind(req.ftype)
        if kind == "n":
            if cf.res.u64 == ffi.NULL:
                self._null_result(req, n)
            if req.ftype == FieldType.BOOL:
                vals: list[Any] = [bool(v) for v in ffi.unpack(cf.res.boolean, n)]
            else:
                vals = list(ffi.unpack(cf.res.u64, n))
        elif kind == "s":
            if cf.res.str == ffi.NULL:
                self._null_result(req, n)
            vals = []
            for i in range(n):
                if cf.res.str[i] == ffi.NULL:
                    raise PluginError(f"plugin {self.plugin.location}: plugin returned a NULL string for field '{req.name}'")
                raw = ffi.string(cf.res.str[i])
                try:
                    vals.append(raw.decode("utf-8"))
                except UnicodeDecodeError:
                    raise PluginError(
                        f"plugin {self.plugin.location}: extracted a string that is not valid UTF-8 "
                        f"(fields {req.name}): {raw[:64]!r}"
                    ) from None
        else:
            if cf.res.buf == ffi.NULL:
                self._null_result(req, n)
            vals = []
            for i in range(n):
                b = cf.res.buf[i]
                if b.ptr == ffi.NULL and b.len:
                    raise PluginError(f"plugin {self.plugin.location}: plugin returned a NULL buffer for field '{req.name}'")
                vals.append(self._ip(req, ffi.buffer(ffi.cast("char*", b.ptr), b.len)[:]))
        return vals if req.is_list else vals[0]

    def _null_result(self, req: FieldRequest, n: int) -> None:
        raise PluginError(
            f"plugin {self.plugin.location}: plugin returned {n} values and a NULL result array for field '{req.name}'"
        )


# Addresses repeat a lot in real streams; ipaddress objects are immutable, so they can be shared.
_IP_CACHE: dict[tuple[int, bytes], Any] = {}


def _kind(ftype: int) -> str:
    if ftype == FieldType.STRING:
        return "s"
    if ftype in (FieldType.IPADDR, FieldType.IPNET):
        return "b"
    return "n"


def _u64_buffer(values: Sequence[int]) -> Any:
    """A buffer of u64 values: arrays and 'Q' memoryviews as they are, anything else copied."""
    if isinstance(values, array) and values.typecode == "Q":
        return values
    if isinstance(values, memoryview) and values.format == "Q":
        return values
    return array("Q", values)
