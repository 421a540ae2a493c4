"""Async events on their way into the event stream: libsinsp's checks, queue and merge.

Plugins push async events (PPME_ASYNCEVENT_E, 402) from any thread. Each is checked (the event
shape and name by the plugin's handler, the open source by the inspector), then waits in an
:class:`AsyncQueue` ordered by timestamp, where ts -1 (UINT64_MAX) means "as early as possible".
The inspector takes them out while it reads the input: before each source event, every queued
event that is not later than it (:func:`merge`), and everything queued when the input times out.
A ts -1 event gets the timestamp of the last event delivered (or the current time) when taken.

With the compiled fast path, :func:`new_async_queue` gives the same queue held in C
(``abi/async_queue.py``), where C plugins' events are checked and queued without entering Python
and :func:`merge` / :func:`drain` run in C; this module's :class:`AsyncQueue` is the fallback.
"""

from __future__ import annotations

import heapq
import itertools
import struct
import threading
import time
from array import array
from collections.abc import Sequence

from ..abi.async_queue import CAsyncQueue
from ..abi.ffi import fastpath
from ..backend import AsyncEventRejected
from ..events import PPME_ASYNCEVENT_E, EventBatch

TS_NONE = 0xFFFFFFFFFFFFFFFF
FUTURE_LIMIT_NS = 10 * 1_000_000_000  # libsinsp drops async events more than 10 s ahead
DEFAULT_QUEUE_SIZE = 1000  # libsinsp's DEFAULT_ASYNC_EVENT_QUEUE_SIZE
ASYNC_HEAD_LEN = 42  # header, three u32 lengths, plugin id: the name starts here

_HEAD = struct.Struct("<QQIHI")
_TS = struct.Struct("<Q")
_U32 = struct.Struct("<I")


def async_event_name(raw: bytes | bytearray | memoryview, plugin_name: str) -> str:
    """The name of an async event, checking its shape as libsinsp does (type 402, 3 params)."""
    _, _, length, evt_type, nparams = _HEAD.unpack_from(raw, 0)
    if evt_type != PPME_ASYNCEVENT_E or nparams != 3 or length < ASYNC_HEAD_LEN or length > len(raw):
        raise AsyncEventRejected(f"malformed async event produced by plugin: {plugin_name}")
    if not isinstance(raw, (bytes, bytearray)):
        raw = bytes(raw)
    end = raw.find(b"\0", ASYNC_HEAD_LEN, length)
    return raw[ASYNC_HEAD_LEN : length if end < 0 else end].decode("utf-8", "replace")


def check_async_event(raw: bytes | bytearray | memoryview, plugin_name: str, names: frozenset[str]) -> str:
    """The checks of libsinsp's plugin-side handler: shape, then a name the plugin declared."""
    name = async_event_name(raw, plugin_name)
    if name not in names:
        raise AsyncEventRejected(f"incompatible async event '{name}' produced by plugin: {plugin_name}")
    return name


def set_plugin_id(raw: bytes | bytearray, plugin_id: int) -> bytes:
    """A copy of ``raw`` whose plugin_id parameter is ``plugin_id``."""
    return b"".join((raw[:38], _U32.pack(plugin_id), raw[42:]))


class AsyncQueue:
    """A bounded, thread-safe priority queue of async events (earliest timestamp first)."""

    def __init__(self, capacity: int = DEFAULT_QUEUE_SIZE) -> None:
        self.capacity = capacity
        self._heap: list[tuple[int, int, bytes]] = []
        self._seq = itertools.count()  # FIFO among equal timestamps
        self._lock = threading.Lock()
        self.pushed = 0
        self.dropped_full = 0
        self.dropped_future = 0

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, raw: bytes | bytearray, now_ns: int | None = None) -> str | None:
        """Queue an event; when it is dropped instead (and counted), libsinsp's warning text."""
        ts = _TS.unpack_from(raw, 0)[0]
        if ts != TS_NONE and ts > (time.time_ns() if now_ns is None else now_ns) + FUTURE_LIMIT_NS:
            with self._lock:
                self.dropped_future += 1
            return "async event ts too far in future"
        key = -1 if ts == TS_NONE else ts
        with self._lock:
            if len(self._heap) >= self.capacity:
                self.dropped_full += 1
                return "async event queue is full"
            heapq.heappush(self._heap, (key, next(self._seq), raw if type(raw) is bytes else bytes(raw)))
            self.pushed += 1
        return None

    def pop_until(self, ts: int) -> list[tuple[int, bytes]]:
        """Every queued event not later than ``ts``, in order, as ``(key, raw)`` (key -1: ts -1)."""
        out = []
        with self._lock:
            heap = self._heap
            while heap and heap[0][0] <= ts:
                key, _, raw = heapq.heappop(heap)
                out.append((key, raw))
        return out

    def pop_all(self) -> list[tuple[int, bytes]]:
        with self._lock:
            heap, self._heap = self._heap, []
        heap.sort()
        return [(key, raw) for key, _, raw in heap]

    def clear(self) -> None:
        with self._lock:
            self._heap.clear()


def new_async_queue(capacity: int = DEFAULT_QUEUE_SIZE) -> AsyncQueue | CAsyncQueue:
    """The compiled queue when the fast path is built, else :class:`AsyncQueue`."""
    return AsyncQueue(capacity) if fastpath is None else CAsyncQueue(capacity)


def _stamp(raw: bytes, key: int, last_ts: int) -> tuple[bytes, int]:
    """The event with ts -1 replaced by libsinsp's ``get_new_ts()``, and its timestamp."""
    if key != -1:
        return raw, key
    ts = last_ts or time.time_ns()
    out = bytearray(raw)
    _TS.pack_into(out, 0, ts)
    return bytes(out), ts


def drain(queue: AsyncQueue | CAsyncQueue, last_ts: int) -> tuple[EventBatch | None, int]:
    """Everything queued, as one batch (what consecutive input timeouts let out in libsinsp)."""
    if isinstance(queue, CAsyncQueue):
        return queue.merge(EventBatch(b"", ()), last_ts)
    items = queue.pop_all()
    if not items:
        return None, last_ts
    events = []
    for key, raw in items:
        raw, last_ts = _stamp(raw, key, last_ts)
        events.append(raw)
    return EventBatch.from_events(events), last_ts


def merge(queue: AsyncQueue | CAsyncQueue, batch: EventBatch, last_ts: int) -> tuple[EventBatch, int]:
    """``batch`` with the queued async events that come before each of its events put in front
    of it (libsinsp's order: an async event goes first when its ts is not later, or is -1)."""
    if isinstance(queue, CAsyncQueue):
        merged, last_ts = queue.merge(batch, last_ts)
        return merged or batch, last_ts
    data, offsets = batch.data, batch.offsets
    ts_of = [_TS.unpack_from(data, off)[0] for off in offsets]
    ready = queue.pop_until(max(ts_of))
    if not ready:
        return batch, ts_of[-1] if ts_of else last_ts
    out = bytearray()
    offs = array("Q")
    j = 0
    for off, ts in zip(offsets, ts_of):
        while j < len(ready) and ready[j][0] <= ts:
            raw, last_ts = _stamp(ready[j][1], ready[j][0], last_ts)
            offs.append(len(out))
            out += raw
            j += 1
        length = _U32.unpack_from(data, off + 16)[0]
        offs.append(len(out))
        out += data[off : off + length]
        last_ts = ts
    return EventBatch(bytes(out), offs), last_ts


def last_ts_of(batch: EventBatch, default: int) -> int:
    offsets: Sequence[int] = batch.offsets
    return _TS.unpack_from(batch.data, offsets[-1])[0] if len(offsets) else default
