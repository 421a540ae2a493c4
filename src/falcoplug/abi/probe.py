"""Low-level calls for ``falcoplug check``: ``extract_fields`` with hand-made requests, results read
raw, with where the plugin stored them.

The regular extractor (``abi.extractor``) trusts a plugin enough to copy values at full speed. The
checker must not: here every result is validated (``res_len``, NULL pointers, NUL-terminated UTF-8,
address lengths) and reported as a problem instead of raised, keys may be any bytes (non-UTF-8
included), and the address of each value's storage is returned so that two results of one call
sharing storage can be told apart from two results that merely look alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .constants import UINT64_MAX, FieldType, Rc
from .ffi import fastpath, ffi
from . import host

# A list longer than this is reported rather than read (a garbage res_len would read forever).
MAX_VALUES = 1 << 16


@dataclass(frozen=True, slots=True)
class ProbeRequest:
    """One ``ss_plugin_extract_field``: the key is bytes so that odd keys can be sent."""

    field_id: int
    name: str
    ftype: int
    is_list: bool = False
    arg_key: bytes | None = None
    arg_index: int | None = None


@dataclass(slots=True)
class ProbeValue:
    """One field's result: its values (``None``: no value), a problem with them, and the addresses
    of the result array and of each value's bytes (strings and buffers)."""

    values: list[Any] | None = None
    problem: str | None = None
    array: int = 0
    storage: list[int] = field(default_factory=list)


@dataclass(slots=True)
class ProbeResult:
    rc: int
    fields: list[ProbeValue]


def extract(
    backend: Any, event: bytes, evtnum: int, source: str | None, requests: Sequence[ProbeRequest],
    *, recheck: bool = False,
) -> ProbeResult:
    """Call ``plugin_extract_fields`` once with every request on ``event`` (a whole scap event).

    ``backend`` is an initialized :class:`~falcoplug.abi.loader.CPluginBackend`. With ``recheck``
    the values are read a second time after other plugin calls, and a value that changed is
    reported as a problem.
    """
    keep: list[Any] = []
    cfields = ffi.new("ss_plugin_extract_field[]", len(requests))
    for cf, req in zip(cfields, requests):
        name = ffi.new("char[]", req.name.encode())
        keep.append(name)
        cf.field_id = req.field_id
        cf.field = name
        if req.arg_key is not None:
            key = ffi.new("char[]", req.arg_key)
            keep.append(key)
            cf.arg_key = key
        cf.arg_index = UINT64_MAX if req.arg_index is None else req.arg_index
        cf.arg_present = int(req.arg_key is not None or req.arg_index is not None)
        cf.ftype = req.ftype
        cf.flist = int(req.is_list)
        cf.res_len = 0
    extract_input = ffi.new("ss_plugin_field_extract_input*")
    owner = getattr(backend, "_owner", None)
    extract_input.owner = owner.handle if owner is not None else ffi.NULL
    extract_input.get_owner_last_error = host.get_owner_last_error
    extract_input.num_fields = len(requests)
    extract_input.fields = cfields
    host.table_vtables().fill_extract_input(extract_input)
    extract_input.value_offsets = ffi.NULL
    evt_buf = _event_buffer(event)
    src = ffi.new("char[]", source.encode()) if source is not None else ffi.NULL
    evt_input = ffi.new("ss_plugin_event_input*")
    evt_input.evt = ffi.cast("ss_plugin_event*", evt_buf)
    evt_input.evtnum = evtnum
    evt_input.evtsrc = src
    rc = int(backend._fn["extract_fields"](backend._state, evt_input, extract_input))
    if rc != Rc.SUCCESS:
        return ProbeResult(rc, [ProbeValue() for _ in requests])
    first = [_read(cf, req) for cf, req in zip(cfields, requests)]
    if recheck:
        # Values must stay valid until the next extract_fields call. Other calls into the plugin
        # (allowed meanwhile) reuse the stack the plugin ran on, as the host's own calls do: a value
        # kept there changes. Only
        # functions libsinsp may call at any time: get_last_error is for after a failure (the Go
        # SDK's panics when there is no error).
        for name in ("get_fields", "get_name", "get_version"):
            if name in backend._fn:
                backend._fn[name]()
        if fastpath is not None:  # those calls are shallow: the stack they reuse is overwritten for sure
            fastpath.fp_clobber_stack()
        for value, cf, req in zip(first, cfields, requests):
            again = _read(cf, req)
            if value.problem is None and value.values is not None and again.values != value.values:
                value.problem = (
                    f"the value of {req.name} changed before the next extract_fields call "
                    f"({value.values!r:.60} then {again.values!r:.60}): it must not live on the stack or in freed memory"
                )
    return ProbeResult(rc, first)


_last_event: list[Any] = [None, None]


def _event_buffer(event: bytes) -> Any:
    """The event in writable host memory, as libsinsp hands it; the same bytes object asked for
    again (one event, many fields) reuses its copy, so that a 1 MiB event is copied once."""
    if _last_event[0] is not event:
        _last_event[:] = [event, ffi.new("uint8_t[]", bytes(event))]
    return _last_event[1]


def _read(cf: Any, req: ProbeRequest) -> ProbeValue:
    n = int(cf.res_len)
    if n == 0:
        return ProbeValue()
    if n > MAX_VALUES or (not req.is_list and n != 1):
        kind = "list" if req.is_list else "non-list"
        return ProbeValue(problem=f"res_len is {n} for the {kind} field {req.name}")
    if req.ftype == FieldType.STRING:
        return _strings(cf.res.str, n, req)
    if req.ftype in (FieldType.IPADDR, FieldType.IPNET):
        return _buffers(cf.res.buf, n, req)
    if req.ftype == FieldType.BOOL:
        array = cf.res.boolean
        if array == ffi.NULL:
            return ProbeValue(problem=f"NULL result array for {req.name}")
        return ProbeValue([bool(v) for v in ffi.unpack(array, n)], array=_addr(array))
    array = cf.res.u64
    if array == ffi.NULL:
        return ProbeValue(problem=f"NULL result array for {req.name}")
    return ProbeValue(list(ffi.unpack(array, n)), array=_addr(array))


def _strings(array: Any, n: int, req: ProbeRequest) -> ProbeValue:
    if array == ffi.NULL:
        return ProbeValue(problem=f"NULL result array for {req.name}")
    values, storage = [], []
    for i in range(n):
        ptr = array[i]
        if ptr == ffi.NULL:
            return ProbeValue(problem=f"NULL string at index {i} for {req.name}", array=_addr(array))
        raw = ffi.string(ptr)
        try:
            values.append(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            bad = raw[max(0, exc.start - 16) : exc.end + 16]
            return ProbeValue(
                problem=f"a string that is not valid UTF-8 for {req.name} (byte {exc.start} of {len(raw)}: ...{bad!r}...)",
                array=_addr(array),
            )
        storage.append(_addr(ptr))
    return ProbeValue(values, array=_addr(array), storage=storage)


def _buffers(array: Any, n: int, req: ProbeRequest) -> ProbeValue:
    if array == ffi.NULL:
        return ProbeValue(problem=f"NULL result array for {req.name}")
    values, storage = [], []
    for i in range(n):
        buf = array[i]
        length = int(buf.len)
        if buf.ptr == ffi.NULL or length not in ((4, 16) if req.ftype == FieldType.IPADDR else (4, 8, 16, 32)):
            return ProbeValue(problem=f"an address of {length} bytes for {req.name}", array=_addr(array))
        values.append(ffi.buffer(ffi.cast("char*", buf.ptr), length)[:])
        storage.append(_addr(buf.ptr))
    return ProbeValue(values, array=_addr(array), storage=storage)


def _addr(ptr: Any) -> int:
    return int(ffi.cast("uintptr_t", ptr))
