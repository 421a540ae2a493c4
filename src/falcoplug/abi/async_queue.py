"""The compiled async-event queue (``abi/c/async.c``): the same queue as
:class:`falcoplug.framework.async_queue.AsyncQueue`, with the per-event work in C.

A C plugin registered on the queue (:meth:`CAsyncQueue.register`, when a live session starts)
hands its events to ``fp_async_handler``, which checks and queues them without entering Python.
Whatever that handler does not accept (a refusal, a drop, an owner it does not know) goes to the
Python handler of ``abi/async_events.py``, which decides again with libsinsp's messages and
pushes accepted events through :meth:`CAsyncQueue.push`, as SDK plugins in-process do. Queued
events are merged into each host batch in C (:meth:`CAsyncQueue.merge`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..events import EventBatch
from .ffi import fastpath, ffi, u64_buffer
from .host import OwnerHandle

_DROPS = {1: "async event ts too far in future", 2: "async event queue is full"}


def _utf8(name: str) -> bytes | None:
    try:
        return name.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: no event name decodes to it
        return None


def owner_handle(backend: Any) -> Any:
    """The ``ss_plugin_owner_t*`` a C plugin's backend handed the plugin, or ``None`` (an SDK plugin
    in-process, or a plugin not initialized)."""
    owner = getattr(backend, "_owner", None)
    return owner.handle if isinstance(owner, OwnerHandle) else None


class CAsyncQueue:
    """A bounded, thread-safe queue of async events ordered by timestamp, held in C."""

    def __init__(self, capacity: int) -> None:
        ptr = fastpath.fp_async_new(max(0, min(capacity, 0xFFFFFFFF)))  # <= 0: every event dropped
        if ptr == ffi.NULL:
            raise MemoryError("cannot allocate the async event queue")
        self.capacity = capacity
        self._q = ffi.gc(ptr, fastpath.fp_async_free)
        self._out = ffi.gc(ffi.new("fp_batch*"), fastpath.fp_batch_free)
        self._last_ts = ffi.new("uint64_t*")
        self._stats = ffi.new("uint64_t[4]")

    # -- counters ----------------------------------------------------------------------------
    def _stat(self, i: int) -> int:
        fastpath.fp_async_stats(self._q, self._stats)
        return int(self._stats[i])

    def __len__(self) -> int:
        return self._stat(0)

    @property
    def pushed(self) -> int:
        return self._stat(1)

    @property
    def dropped_full(self) -> int:
        return self._stat(2)

    @property
    def dropped_future(self) -> int:
        return self._stat(3)

    # -- producers ---------------------------------------------------------------------------
    def register(self, owner: Any, names: Iterable[str], compatible: bool, open_plugin_id: int) -> bool:
        """Let the C handler queue the events of ``owner`` (an ``ss_plugin_owner_t*``) itself:
        ``names`` are the event names it declared, ``compatible`` whether its async sources
        accept the open source. False when C could not take it (its events then go through
        Python, with identical results)."""
        encoded = [e for e in map(_utf8, names) if e is not None and b"\0" not in e]
        blob = b"".join(n + b"\0" for n in encoded)
        rc = fastpath.fp_async_register(self._q, owner, blob, len(blob), len(encoded), compatible, open_plugin_id)
        return rc == 0

    def unregister(self) -> None:
        """Every owner back to the Python handler (the session closed)."""
        fastpath.fp_async_unregister(self._q)

    def push(self, raw: bytes | bytearray, now_ns: int | None = None) -> str | None:
        """Queue an event; when it is dropped instead (and counted), libsinsp's warning text."""
        rc = fastpath.fp_async_push(self._q, ffi.from_buffer("uint8_t[]", raw), len(raw), now_ns or 0)
        if rc < 0:
            raise MemoryError("cannot queue an async event")
        return _DROPS.get(rc)

    def clear(self) -> None:
        fastpath.fp_async_clear(self._q)

    # -- the consumer --------------------------------------------------------------------------
    def merge(self, batch: EventBatch, last_ts: int) -> tuple[EventBatch | None, int]:
        """``batch`` with the queued events that come before each of its events put in front of
        it, or everything queued when ``batch`` is empty (``None`` if nothing was); and the ts
        of the last event delivered."""
        n = len(batch.offsets)
        self._last_ts[0] = last_ts
        data = ffi.from_buffer("uint8_t[]", batch.data) if n else ffi.NULL
        offs = ffi.from_buffer("uint64_t[]", u64_buffer(batch.offsets)) if n else ffi.NULL
        taken = fastpath.fp_async_merge(self._q, data, offs, n, self._last_ts, self._out)
        if taken < 0:
            raise MemoryError("cannot merge async events")
        last_ts = int(self._last_ts[0])
        if taken == 0:
            return (batch if n else None), last_ts
        out = self._out
        count = int(out.n)
        offsets = memoryview(ffi.buffer(out.offs, 8 * count)[:]).cast("Q")
        return EventBatch(ffi.buffer(out.data, out.len)[:], offsets), last_ts
