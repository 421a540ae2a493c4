"""The extract side of a C plugin: ``extract_fields`` called for a batch of events, values copied out."""

from __future__ import annotations

import ipaddress
from enum import IntEnum
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..backend import Extractor, FieldRequest
from ..errors import PluginError
from ..events import EventBatch
from ..framework import extraction_errors
from . import host
from .constants import UINT64_MAX, FieldType, Rc
from .ffi import fastpath, ffi, u64_buffer

if TYPE_CHECKING:
    from .loader import CPluginBackend

FP_NO_VALUE = 0xFFFFFFFF


class ExtractStatus(IntEnum):
    """What stopped a batch extraction (``enum fp_extract_status`` in ``c/extract.c``)."""

    OK = 0
    VALUE_COUNT = 1
    NULL_RESULT = 2
    NULL_STRING = 3
    NULL_BUFFER = 4
    BIG_BUFFER = 5
    BAD_TYPE = 6
    NOMEM = 7
    INTERRUPTED = 8


MESSAGES: dict[ExtractStatus, str] = {
    ExtractStatus.VALUE_COUNT: "plugin returned {detail} values for {kind} field '{field}'",
    ExtractStatus.NULL_RESULT: "plugin returned {detail} values and a NULL result array for field '{field}'",
    ExtractStatus.NULL_STRING: "plugin returned a NULL string for field '{field}'",
    ExtractStatus.NULL_BUFFER: "plugin returned a NULL buffer for field '{field}'",
    ExtractStatus.BIG_BUFFER: "plugin returned a buffer of {detail} bytes for field '{field}'",
    ExtractStatus.BAD_TYPE: "unsupported field type {detail} for field '{field}'",
    ExtractStatus.NOMEM: "out of memory while copying the values of field '{field}'",
}


def _ip(ftype: int, raw: bytes) -> Any:
    if ftype == FieldType.IPNET:
        if len(raw) in (8, 32):  # address then netmask, as libsinsp's ipv4net (and its IPv6 twin)
            prefix = bin(int.from_bytes(raw[len(raw) // 2 :], "big")).count("1")
            return ipaddress.ip_network((ipaddress.ip_address(raw[: len(raw) // 2]), prefix), strict=False)
        return ipaddress.ip_network(raw) if len(raw) in (4, 16) else ipaddress.ip_network((raw[: len(raw) // 2], 0))
    return ipaddress.ip_address(raw)


class CExtractor(Extractor):
    """One extract request: the ``ss_plugin_extract_field`` array and input struct, built once.

    Values are libsinsp's, whose host asks one field per ``extract_fields`` call: a call with
    several fields is made only while it is proven safe (see ``c/extract.c``), never when the
    request names one field twice (a plugin may keep per-field state such as a parsed argument),
    and never without the compiled core. Once a plugin fails the proof, every request of it asks
    one field per call.
    """

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
        self._values = None
        self._twice = False
        if fastpath is not None:
            self._values = ffi.new("fp_values*")
            if fastpath.fp_values_init(self._values, n) != 0:
                raise MemoryError("cannot allocate the extraction buffers")
            names = [req.name for req in self.fields]
            # a field named twice: this request only (the plugin may keep per-field state)
            self._twice = len(set(names)) < len(names)
            self._values.one_per_call = int(plugin.extract_one_field_per_call or self._twice)
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

    def extract_values(self, batch: EventBatch, evtnums: Sequence[int], source: str | None, type_ok: bytes | None) -> Any:
        """Extract a batch into the compiled core's value streams (``fp_values*``), without making
        Python values: for :class:`~falcoplug.abi.render.BatchRenderer`."""
        status = self._run(batch, evtnums, source, type_ok)
        if status == ExtractStatus.INTERRUPTED:  # a signal came: the values are incomplete
            raise KeyboardInterrupt
        if status != ExtractStatus.OK:
            raise PluginError(f"plugin {self.plugin.location}: {self._message(status)}")
        return self._values

    def batch_renderer(self, tokens: Sequence[tuple[str, Any, int]], columns: dict[Any, int], require_all: bool = False) -> Any:
        """A compiled text renderer of a format over this request (see ``abi/render.py``), or
        ``None`` when the format has what only the Python renderer writes (lists, addresses)."""
        from .render import RENDERED_TYPES, BatchRenderer, parts_for

        if fastpath is None or any(f.is_list or f.ftype not in RENDERED_TYPES for f in self.fields):
            return None
        parts = parts_for(tokens, columns)
        return None if parts is None else BatchRenderer(self, parts, require_all)

    def _run(self, batch: EventBatch, evtnums: Sequence[int], source: str | None, type_ok: bytes | None) -> ExtractStatus:
        offsets, nums = u64_buffer(batch.offsets), u64_buffer(evtnums)
        out = self._values
        status = ExtractStatus(fastpath.fp_extract_batch(
            self.plugin._fn["extract_fields"], self.plugin._state, self._input,
            ffi.from_buffer("uint8_t[]", batch.data), ffi.from_buffer("uint64_t[]", offsets), len(batch),
            ffi.from_buffer("uint64_t[]", nums), self._source(source),
            ffi.from_buffer("uint8_t[]", type_ok) if type_ok is not None else ffi.NULL, out,
        ))  # fmt: skip
        if out.one_per_call and not self._twice:  # the proof failed: every request of the plugin
            self.plugin.extract_one_field_per_call = True
        failures = ffi.unpack(out.failures, len(self.fields))
        if any(failures):
            for j, count in enumerate(failures):
                self._report_failures(j, count)
        return status

    def _extract_fast(
        self, batch: EventBatch, evtnums: Sequence[int], source: str | None, type_ok: bytes | None
    ) -> list[list[Any]]:
        n = len(batch)
        out = self._values
        status = self._run(batch, evtnums, source, type_ok)
        if status == ExtractStatus.INTERRUPTED:  # Python's handler raises as soon as this returns
            n = int(out.ncounts) // max(1, len(self.fields))
        elif status != ExtractStatus.OK:
            raise PluginError(f"plugin {self.plugin.location}: {self._message(status)}")
        nf = len(self.fields)
        counts = memoryview(ffi.buffer(out.counts, 4 * n * nf)[:]).cast("I")
        columns = [
            self._column(req, kind, counts[j::nf].tolist(), ffi.buffer(out.streams[j].data, out.streams[j].len)[:])
            for j, (req, kind) in enumerate(zip(self.fields, self._kinds))
        ]
        if status == ExtractStatus.INTERRUPTED:
            for col in columns:
                col.extend([None] * (len(batch) - n))
        return columns

    def _report_failures(self, j: int, count: int) -> None:
        """Calls for field ``j`` that returned FAILURE: no value (as in libsinsp), and reported to
        the run (the message is the plugin's last error after the batch)."""
        if not count:
            return
        name = self.plugin.get_name() or self.plugin.location
        message = f"extract_fields returned FAILURE: {self.plugin.get_last_error() or 'no error message'}"
        for _ in range(count):
            extraction_errors.report(name, _field_text(self.fields[j]), "FAILURE", message)

    def _message(self, status: ExtractStatus) -> str:
        out = self._values
        req = self.fields[out.field] if 0 <= out.field < len(self.fields) else None
        return MESSAGES[status].format(
            detail=int(out.detail), field=req.name if req else "?", kind="list" if req and req.is_list else "non-list"
        )

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
        """Without the compiled core: one field per call, as libsinsp asks."""
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
            evt_input.evt = evt
            evt_input.evtnum = evtnums[i]
            for j, (cf, req) in enumerate(zip(self._cfields, self.fields)):
                ok = self._call_one(fn, evt_input, j)
                if not ok:
                    self._report_failures(j, 1)
                cols[j].append(None if not ok or cf.res_len == 0 else self._read_values(cf, req))
        return cols

    def extract_offsets(
        self, buf: bytes | memoryview, offset: int, evtnum: int, source: str | None
    ) -> list[tuple[Any, tuple[int, int] | None]]:
        """Each field's value with where it lies in the event (``start, length``), when the plugin
        reports value offsets (``None`` when it does not); one field per call."""
        offsets = ffi.new("ss_plugin_extract_value_offsets*")
        evt_input = ffi.new("ss_plugin_event_input*")
        evt_input.evtsrc = self._source(source)
        data = ffi.from_buffer("uint8_t[]", buf)
        evt_input.evt = ffi.cast("ss_plugin_event*", data + offset)
        evt_input.evtnum = evtnum
        fn = self.plugin._fn["extract_fields"]
        self._input.value_offsets = offsets
        try:
            result = []
            for j, (cf, req) in enumerate(zip(self._cfields, self.fields)):
                offsets.start = offsets.length = ffi.NULL
                ok = self._call_one(fn, evt_input, j)
                value = None if not ok or cf.res_len == 0 else self._read_values(cf, req)
                where = None
                if offsets.start != ffi.NULL and offsets.length != ffi.NULL:
                    where = (int(offsets.start[0]), int(offsets.length[0]))
                result.append((value, where))
            return result
        finally:
            self._input.value_offsets = ffi.NULL

    def _call_one(self, fn: Any, evt_input: Any, j: int) -> bool:
        """Ask for field ``j`` alone, as libsinsp does; whether the call succeeded."""
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


def _field_text(req: FieldRequest) -> str:
    """The field as a format names it: ``name``, ``name[key]`` or ``name[index]``."""
    if req.arg_key is not None:
        return f"{req.name}[{req.arg_key}]"
    if req.arg_index is not None:
        return f"{req.name}[{req.arg_index}]"
    return req.name


def _kind(ftype: int) -> str:
    if ftype == FieldType.STRING:
        return "s"
    if ftype in (FieldType.IPADDR, FieldType.IPNET):
        return "b"
    return "n"


