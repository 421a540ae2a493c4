"""Quick looks over a batch's event headers, in compiled code when the fast path is built."""

from __future__ import annotations

import struct
from array import array
from collections.abc import Sequence
from typing import Any

from ..events import PPME_ASYNCEVENT_E, PPME_PLUGINEVENT_E
from .ffi import fastpath, ffi, u64_buffer

_TYPE = struct.Struct("<H")
_U32 = struct.Struct("<I")


def uniform_source_key(data: Any, offsets: Sequence[int]) -> tuple[int, int] | None:
    """``(event type, plugin id)`` shared by every event of the batch (the plugin id of plugin and
    async events, else 0), or ``None`` when the events differ."""
    n = len(offsets)
    if n == 0:
        return None
    if fastpath is not None:
        out_type, out_id = ffi.new("uint16_t*"), ffi.new("uint32_t*")
        buf, offs = ffi.from_buffer("uint8_t[]", data), ffi.from_buffer("uint64_t[]", u64_buffer(offsets))
        if fastpath.fp_uniform_source(buf, offs, n, out_type, out_id):
            return int(out_type[0]), int(out_id[0])
        return None
    keys = set()
    for off in offsets:
        evt_type = _TYPE.unpack_from(data, off + 20)[0]
        at = 34 if evt_type == PPME_PLUGINEVENT_E else 38 if evt_type == PPME_ASYNCEVENT_E else 0
        keys.add((evt_type, _U32.unpack_from(data, off + at)[0] if at else 0))
        if len(keys) > 1:
            return None
    return keys.pop()


_TID = struct.Struct("<q")


def event_tids(data: Any, offsets: Sequence[int]) -> set[int]:
    """The thread IDs of the events at ``offsets``, tid -1 left out."""
    n = len(offsets)
    if fastpath is None or n == 0:
        unpack = _TID.unpack_from
        return {unpack(data, off + 8)[0] for off in offsets} - {-1}
    out = ffi.new("int64_t[]", n)
    buf, offs = ffi.from_buffer("uint8_t[]", data), ffi.from_buffer("uint64_t[]", u64_buffer(offsets))
    count = fastpath.fp_event_tids(buf, offs, n, out)
    return set(ffi.unpack(out, count))


class PluginBlockScanner:
    """Finds a capture's plugin events in LARGE event blocks, in compiled code (one per reader: it
    owns a scratch array). :meth:`scan` takes the blocks from ``pos`` on that the reader's own fast
    case would take, appends their events' offsets and returns where it stopped; the reader reads
    any other block itself. Not built (ABI mode): :func:`plugin_block_scanner` gives ``None``."""

    ROOM = 16384  # offsets per call into C

    def __init__(self) -> None:
        self._out = ffi.new("uint64_t[]", self.ROOM)
        self._pos = ffi.new("uint64_t*")

    def scan(self, buf: bytearray, pos: int, end: int, max_block_len: int, offsets: array[int]) -> int:
        data = ffi.from_buffer("uint8_t[]", buf)
        self._pos[0] = pos
        limit = min(max_block_len, 0xFFFFFFFF)
        while True:
            n = fastpath.fp_scan_plugin_blocks(data, end, self._pos, limit, self._out, self.ROOM)
            if n:
                offsets.frombytes(ffi.buffer(self._out, 8 * n))
            if n < self.ROOM:
                return int(self._pos[0])


def plugin_block_scanner() -> PluginBlockScanner | None:
    return PluginBlockScanner() if fastpath is not None else None
