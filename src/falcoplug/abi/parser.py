"""The parse side of a C plugin: ``parse_event`` called for each event of a batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..backend import Parser
from ..events import EventBatch
from . import host
from .ffi import ffi

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
        return int(self._fn(self.plugin._state, evt_input, self._input))
