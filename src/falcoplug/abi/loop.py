"""A plugin source's event loop (paired with ``c/loop.c``): host batches filled from ``next_batch``.

Real plugins often return one event per ``next_batch`` (every plugin of the official C++ SDK
does). The compiled core calls ``next_batch`` until a host batch of thousands of events is full,
the plugin stops (EOF, TIMEOUT, an error) or a few milliseconds have passed, so that Python works
once per host batch whatever the plugin's batch size. Every event is checked and fixed as
libscap's source-plugin engine does, and an event with ``ts == UINT64_MAX`` gets the wall clock
in microseconds times 1000 (libscap's gettimeofday) when it is handed out, one reading per event.

Events received before a problem (a malformed event, a failing call, ``SUCCESS`` with no event) are
handed out first and the problem is reported at the next call, as libsinsp delivers them. C writes
no message: it returns a status and the numbers a message needs; the texts are here.
"""

from __future__ import annotations

import time
from enum import IntEnum
from typing import Any

from ..errors import EventError
from ..events import EventBatch, fix_plugin_events
from .constants import Rc
from .ffi import fastpath, ffi

# A host batch: at most this many events or bytes, or what the plugin gives in this time.
HOST_BATCH_EVENTS = 8192
HOST_BATCH_BYTES = 16 * 1024 * 1024
HOST_BATCH_WAIT_NS = 10_000_000

EMPTY = EventBatch(b"", ())


class LoopStatus(IntEnum):
    """What ended a fill (``enum fp_loop_status`` in ``c/loop.c``)."""

    OK = 0
    EMPTY_SUCCESS = 1
    NULL_ARRAY = 2
    NULL_EVENT = 3
    BAD_LENGTH = 4
    NOT_PLUGIN_EVENT = 5
    BAD_PARAMS = 6
    BAD_PLUGIN_ID = 7
    NO_PLUGIN_ID = 8
    NOMEM = 9
    INTERRUPTED = 10


_MALFORMED = "malformed plugin event produced by plugin: '{name}'"
MESSAGES: dict[LoopStatus, str] = {
    LoopStatus.NULL_ARRAY: _MALFORMED + " (next_batch returned {detail} events and a NULL array)",
    LoopStatus.NULL_EVENT: _MALFORMED + " (event {index} of the batch is NULL)",
    LoopStatus.BAD_LENGTH: _MALFORMED + " (event length {detail})",
    LoopStatus.NOT_PLUGIN_EVENT: _MALFORMED,
    LoopStatus.BAD_PARAMS: _MALFORMED + " (parameter lengths do not add up to the event length {detail})",
    LoopStatus.BAD_PLUGIN_ID: "unexpected plugin ID in plugin event: plugin='{name}', expected_id={plugin_id}, actual_id={detail}",
    LoopStatus.NO_PLUGIN_ID: "malformed plugin event produced by plugin (no ID): '{name}'",
    LoopStatus.NOMEM: "plugin '{name}': out of memory while copying its events",
}


def watch_signals() -> None:
    """Let Ctrl-C and SIGTERM stop the compiled loops after the plugin call they are in (call
    after installing the Python handlers; without the compiled core, nothing to do)."""
    if fastpath is not None:
        fastpath.fp_watch_signals()


class SourceLoop:
    """The event loop of one open capture instance: ``next_batch`` into host batches."""

    def __init__(self, next_batch: Any, state: Any, instance: Any) -> None:
        self._next_batch = next_batch
        self._state = state
        self._instance = instance
        self._pending: Exception | None = None
        self._pending_empty = False
        self._loop = self._out = None
        if fastpath is not None:
            self._out = ffi.new("fp_batch*")
            self._loop = ffi.new("fp_loop*")
            loop = self._loop
            loop.next_batch = next_batch
            loop.state = state
            loop.inst = instance
            loop.out = self._out
            loop.max_events = HOST_BATCH_EVENTS
            loop.max_bytes = HOST_BATCH_BYTES
            loop.max_wait_ns = HOST_BATCH_WAIT_NS

    def free(self) -> None:
        if self._out is not None:
            fastpath.fp_batch_free(self._out)
            self._out = None

    def next_batch(self, plugin_id: int, plugin_name: str) -> tuple[int, EventBatch]:
        """``(rc, events)``, or the problem met after the events handed out last time."""
        if self._pending is not None:
            error, self._pending = self._pending, None
            raise error
        if self._pending_empty:
            self._pending_empty = False
            return Rc.SUCCESS, EMPTY
        if self._loop is None:
            return self._next_batch_abi(plugin_id, plugin_name)
        return self._fill(plugin_id, plugin_name)

    def _fill(self, plugin_id: int, plugin_name: str) -> tuple[int, EventBatch]:
        loop, out = self._loop, self._out
        loop.plugin_id = plugin_id
        status = LoopStatus(fastpath.fp_fill_batch(loop))
        n = int(out.n)
        batch = EMPTY
        if n:
            data = ffi.buffer(out.data, out.len)[:]
            batch = EventBatch(data, memoryview(ffi.buffer(out.offs, 8 * n)[:]).cast("Q"))
        rc = int(loop.rc)
        if status == LoopStatus.OK:
            return rc, batch
        if status == LoopStatus.INTERRUPTED:  # Python's handler raises as soon as this returns
            return (Rc.SUCCESS if n else Rc.TIMEOUT), batch
        if status == LoopStatus.EMPTY_SUCCESS:
            if not n:
                return Rc.SUCCESS, EMPTY
            self._pending_empty = True
            return Rc.SUCCESS, batch
        error = EventError(self._message(status, plugin_id, plugin_name))
        if not n:
            raise error
        self._pending = error
        return Rc.SUCCESS, batch

    def _message(self, status: LoopStatus, plugin_id: int, plugin_name: str) -> str:
        loop = self._loop
        return MESSAGES[status].format(
            name=plugin_name, index=int(loop.index), detail=int(loop.detail), plugin_id=plugin_id
        )

    def _next_batch_abi(self, plugin_id: int, plugin_name: str) -> tuple[int, EventBatch]:
        """Without the compiled core: one plugin batch per call, checked in Python."""
        nevts = ffi.new("uint32_t*", 0)
        evts = ffi.new("ss_plugin_event***")
        rc = int(self._next_batch(self._state, self._instance, nevts, evts))
        n = int(nevts[0])
        if n == 0:
            return rc, EMPTY
        if evts[0] == ffi.NULL:
            raise EventError(MESSAGES[LoopStatus.NULL_ARRAY].format(name=plugin_name, detail=n))
        chunks, offsets, pos = [], [], 0
        for i in range(n):
            evt = evts[0][i]
            if evt == ffi.NULL:
                raise EventError(MESSAGES[LoopStatus.NULL_EVENT].format(name=plugin_name, index=i))
            length = int(evt.len)
            if length < 26 or length > 64 * 1024 * 1024:
                raise EventError(MESSAGES[LoopStatus.BAD_LENGTH].format(name=plugin_name, detail=length))
            chunks.append(ffi.buffer(evt, length)[:])
            offsets.append(pos)
            pos += length
        data = bytearray(b"".join(chunks))
        for off in offsets:  # one clock reading per event, in microseconds times 1000, as libscap
            fix_plugin_events(data, (off,), plugin_id, plugin_name, time.time_ns() // 1000 * 1000)
        return rc, EventBatch(bytes(data), offsets)
