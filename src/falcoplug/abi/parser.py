"""The parse side of a C plugin: ``parse_event`` called for each event of a batch, by Python
(:class:`CParser`) or, for a whole batch across every parser, by the compiled loop
(:func:`parse_compiled`, ``c/parse.c``)."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..backend import Parser
from ..events import EventBatch
from . import host
from .ffi import ffi, u64_buffer
from .tables.compiled import address, tffi, tlib, tptr

if TYPE_CHECKING:
    from .loader import CPluginBackend


class CParser(Parser):
    """``parse_event`` with its input (owner, table reader and writer) prepared once."""

    def __init__(self, plugin: CPluginBackend) -> None:
        owner = plugin._require_owner()
        self.plugin = plugin
        self._fn = plugin._fn["parse_event"]
        self._input = ffi.new("ss_plugin_event_parse_input*")
        self._input.owner = owner.handle
        self._input.get_owner_last_error = host.get_owner_last_error
        host.table_vtables().fill_parse_input(self._input)
        self._evt = ffi.new("ss_plugin_event_input*")
        self._sources: dict[str, Any] = {}
        self._source_name: str | None = None
        # The buffer of the last batch seen: one-event calls on the same batch reuse its pointer.
        self._raw: Any = None
        self._data: Any = None
        # Compiled, one-event calls go through fpt_parse_one (the GIL held across the call).
        self._one: Any = None
        self._evt_address = tptr(self._evt) if tlib is not None else None

    def _set_source(self, source: str) -> None:
        if source != self._source_name:
            buf = self._sources.get(source)
            if buf is None:
                buf = self._sources[source] = ffi.new("char[]", source.encode())
            self._evt.evtsrc = buf
            self._source_name = source

    def _pointer(self, raw: Any) -> Any:
        if raw is not self._raw:
            self._data = ffi.from_buffer("char[]", raw)
            self._raw = raw
        return self._data

    def parse_batch(
        self, batch: EventBatch, evtnums: Sequence[int], source: str, type_ok: bytes | None
    ) -> None:
        offsets = batch.offsets
        if not len(offsets):
            return
        raw = batch.data
        data = self._pointer(raw)
        evt_input, parse_input, fn, state = self._evt, self._input, self._fn, self.plugin._state
        self._set_source(source)
        cast = ffi.cast
        for i, off in enumerate(offsets):
            if type_ok is not None and not type_ok[raw[off + 20] | (raw[off + 21] << 8)]:
                continue
            evt_input.evt = cast("ss_plugin_event*", data + off)
            evt_input.evtnum = evtnums[i]
            fn(state, evt_input, parse_input)

    def parse_event(self, buf: bytes | memoryview, offset: int, evtnum: int, source: str) -> int:
        self._set_source(source)
        evt_input = self._evt
        evt_input.evt = ffi.cast("ss_plugin_event*", self._pointer(buf) + offset)
        evt_input.evtnum = evtnum
        if self._evt_address is not None:
            return int(tlib.fpt_parse_one(self._one or self._plan_one(), self._evt_address))
        return int(self._fn(self.plugin._state, evt_input, self._input))

    def _plan_one(self) -> Any:
        one = self._one = tffi.new("fpt_parser*")
        one.parse_event = tffi.cast("void*", address(self._fn))
        one.state = tffi.cast("void*", address(self.plugin._state))
        one.input = tffi.cast("void*", address(self._input))
        return one


# -- the compiled loop ----------------------------------------------------------------------------

_SOURCES: dict[str, Any] = {}
_TID = struct.Struct("<q")  # ss_plugin_event: ts (8 bytes), then tid


def parse_compiled(
    batch: EventBatch,
    first_num: int,
    source: str,
    parsers: Sequence[tuple[Parser, bytes | None]],
    threads: Any,
) -> bool:
    """Parse a whole batch in C, event by event across ``parsers`` (each with its event-type
    filter), after making the ``threads`` entry of each event's thread (``threads``: the host's
    table for syscall events, else None). False when it cannot (not compiled, or a parser that is
    not a C plugin's): the caller parses in Python. An error making a thread entry is raised."""
    if tlib is None or not all(type(parser) is CParser for parser, _ in parsers):
        return False
    n = len(batch.offsets)
    if not n:
        return True
    plan = tffi.new("fpt_parser[]", len(parsers))
    keep = []
    for slot, (parser, types) in zip(plan, parsers):
        assert isinstance(parser, CParser)
        slot.parse_event = tffi.cast("void*", address(parser._fn))
        slot.state = tffi.cast("void*", address(parser.plugin._state))
        slot.input = tffi.cast("void*", address(parser._input))
        if types is not None:
            buf = tffi.from_buffer("uint8_t[]", types)
            keep.append(buf)
            slot.type_ok, slot.ntypes = buf, len(types)
    evtsrc = _SOURCES.get(source)
    if evtsrc is None:
        evtsrc = _SOURCES[source] = tffi.new("char[]", source.encode())
    offsets = u64_buffer(batch.offsets)
    # The C borrows both: they stay referenced here for the whole call.
    entries = threads._entries if threads is not None else None
    ensure = threads.ensure if threads is not None else None
    done = tlib.fpt_parse_batch(
        plan, len(parsers), tffi.from_buffer("uint8_t[]", batch.data), tffi.from_buffer("uint64_t[]", offsets), n,
        first_num, evtsrc,
        tffi.NULL if entries is None else tffi.cast("void*", id(entries)),
        tffi.NULL if ensure is None else tffi.cast("void*", id(ensure)),
    )  # fmt: skip
    if done < 0:  # making the thread entry of event -1 - done raised: raise it here, from Python
        tid = _TID.unpack_from(batch.data, offsets[-1 - done] + 8)[0]
        threads.ensure(tid)
    return True
