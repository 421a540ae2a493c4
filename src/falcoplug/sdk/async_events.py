"""Async events: a plugin that sends events into the stream from any thread, and describes its state
at the start of a capture file.

::

    class Clock(AsyncPlugin):
        async_events = ["tick"]                 # the names this plugin sends (required)
        async_event_sources = ["syscall"]       # None: compatible with every source

        def run_async(self, emit: Emitter, task: BackgroundTask) -> None:
            # runs in a thread from when the host sets the handler until it resets it
            while task.keep_running(1.0):       # False as soon as the host resets the handler
                emit("tick", b"1s")

        def dump_state(self, emit: Emitter) -> None:   # optional: the state a capture starts with
            emit("tick", b"state")

The host gives the plugin a handler when a live capture opens (``start_async``) and takes it back
when it closes (``stop_async``), and the plugin must not use it afterwards. The default
:meth:`AsyncPlugin.start_async` runs :meth:`AsyncPlugin.run_async` in a :class:`BackgroundTask`,
and the default :meth:`AsyncPlugin.stop_async` stops and joins it; override both for other shapes.
Once the handler is reset, the SDK closes the :class:`Emitter`: a thread that outlives the reset
gets :class:`AsyncEventError` instead of reaching the host, so the host's rule holds even for a
thread that does not stop in time.

An :class:`Emitter` may be called from any number of threads at once. A refused event raises
:class:`AsyncEventError` with the host's message (an undeclared name, a tid on a plugin source,
an incompatible source).
"""

from __future__ import annotations

import logging
import struct
import threading
import time
from _thread import get_ident
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, ClassVar, Final

from ..errors import AsyncEventError
from .fieldtypes import datetime_ns
from .info import PluginDefinitionError
from .plugin import Plugin

ASYNC_EVENT: Final = 402
NO_VALUE: Final = 0xFFFFFFFFFFFFFFFF  # ts: stamped by the host; tid: none
_HEAD: Final = struct.Struct("<QqIHIIIII")  # header, three u32 lengths, the plugin ID (0: the host's)

log = logging.getLogger("falcoplug.sdk.async")


def encode_async_event(
    name: str, data: bytes | str = b"", ts: int | datetime | None = None, tid: int | None = None, plugin_id: int = 0
) -> bytes:
    """An async event (type 402: the plugin ID, the NUL-terminated name, the data), as sent to the host."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"an async event name must be a non-empty str, not {name!r:.40}")
    raw_name = name.encode("utf-8") + b"\0"
    if isinstance(data, str):
        data = data.encode("utf-8")
    elif not isinstance(data, bytes):
        if not isinstance(data, (bytearray, memoryview)):
            raise TypeError(f"async event data must be bytes or str, not {type(data).__name__}")
        data = bytes(data)
    if ts is None:
        ts = NO_VALUE
    elif isinstance(ts, datetime):
        ts = datetime_ns(ts)
    elif isinstance(ts, bool) or not isinstance(ts, int) or not 0 <= ts <= NO_VALUE:
        raise TypeError(f"an async event ts must be int nanoseconds since the epoch, a datetime or None, not {ts!r:.40}")
    if tid is None:
        tid = -1
    elif isinstance(tid, bool) or not isinstance(tid, int) or not -(1 << 63) <= tid < (1 << 63):
        raise TypeError(f"an async event tid must be an int64 or None, not {tid!r:.40}")
    if isinstance(plugin_id, bool) or not isinstance(plugin_id, int) or not 0 <= plugin_id < (1 << 32):
        raise TypeError(f"an async event plugin_id must be a uint32, not {plugin_id!r:.40}")
    total = 42 + len(raw_name) + len(data)
    return _HEAD.pack(ts, tid, total, ASYNC_EVENT, 3, 4, len(raw_name), len(data), plugin_id) + raw_name + data


class Emitter:
    """Sends async events through the host's handler: ``emit(name, data=b"", ts=None, tid=None)``.

    ``name`` must be one of the plugin's ``async_events``; ``data`` is bytes (or str, as UTF-8);
    ``ts`` is int nanoseconds since the epoch or a datetime (``None``: the host stamps it when the
    event enters the stream); ``tid`` a thread ID (``None``: none; only for the syscall source).
    ``plugin_id`` matters only in ``dump_state``: the host writes those events as they are, and a
    replay gives an event with plugin ID N to the source of the plugin with ID N (0, the default:
    ``syscall``); live events take the ID of the open source's plugin whatever they carry.
    Raises :class:`AsyncEventError` when the host refuses the event or the handler is gone.

    Thread-safe, without a lock on the way: each sending thread marks itself busy, then checks
    that the emitter is open; :meth:`close` marks it closed, then waits until no thread is busy.
    So no event reaches the host once :meth:`close` returned, and threads sending at once do not
    queue behind each other (a contended lock would hand the GIL over on every event). ``sent``
    counts the events the host accepted.
    """

    __slots__ = ("_send", "_open", "_busy", "_sent", "plugin", "__weakref__")

    def __init__(self, send: Callable[[bytes], None], plugin: str = "") -> None:
        self._send = send
        self._open = True
        self._busy: set[int] = set()  # threads sending right now (set.add/discard are atomic)
        self._sent: dict[int, int] = {}  # events accepted, per thread (each thread writes its own)
        self.plugin = plugin

    def __call__(
        self, name: str, data: bytes | str = b"", *, ts: int | datetime | None = None, tid: int | None = None,
        plugin_id: int = 0,
    ) -> None:  # fmt: skip
        self.send_raw(encode_async_event(name, data, ts, tid, plugin_id))

    emit = __call__

    def send_raw(self, raw: bytes) -> None:
        """Send an event already encoded (see :func:`encode_async_event`)."""
        me = get_ident()
        busy = self._busy
        busy.add(me)  # first busy, then the check: close() cannot miss this thread
        try:
            if not self._open:
                raise AsyncEventError(f"async event sent after the handler was reset: {self.plugin}")
            try:
                self._send(raw)
            except AsyncEventError:
                raise
            except Exception as exc:  # noqa: BLE001 - the host's refusal, with its message
                raise AsyncEventError(str(exc) or type(exc).__name__) from None
        finally:
            busy.discard(me)
        sent = self._sent
        sent[me] = sent.get(me, 0) + 1

    @property
    def sent(self) -> int:
        return sum(list(self._sent.values()))

    @property
    def open(self) -> bool:
        return self._open

    def close(self) -> None:
        """Refuse every later event, and wait for the events being sent (not for the calling
        thread's own, when a plugin closes from inside a send)."""
        self._open = False
        me = get_ident()
        delay = 0.0
        while self._busy - {me}:
            time.sleep(delay)
            delay = min(0.001, delay + 0.0001)


class BackgroundTask:
    """A function run in a thread until asked to stop: ``BackgroundTask(target, *args).start()``,
    then ``stop()`` (which asks, then joins).

    The target should return soon after :meth:`keep_running` says ``False``: call it in its loop,
    with the time to wait before the next round (``while task.keep_running(0.5): ...``). An
    exception ends the task; it is kept in :attr:`error` and logged.
    """

    def __init__(self, target: Callable[..., Any], *args: Any, name: str | None = None,
                 log: logging.Logger | None = None) -> None:  # fmt: skip
        self.target = target
        self.args = args
        self.name = name or f"falcoplug-task-{getattr(target, '__name__', 'task')}"
        self.log = log
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> BackgroundTask:
        if self._thread is not None:
            raise RuntimeError(f"background task {self.name} was already started")
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self.target(*self.args)
        except AsyncEventError as exc:
            if not self._stop.is_set():  # after a stop request, a closed emitter is the normal end
                self.error = exc
                (self.log or log).error("background task %s ended: %s", self.name, exc)
        except BaseException as exc:  # noqa: BLE001 - a thread's error is kept and logged
            self.error = exc
            logger = self.log or log
            logger.error("background task %s failed: %s: %s", self.name, type(exc).__name__, exc)
            logger.debug("background task %s failed", self.name, exc_info=exc)

    def keep_running(self, timeout: float = 0.0) -> bool:
        """Wait up to ``timeout`` seconds unless a stop is requested; ``True`` to go on."""
        if timeout > 0:
            return not self._stop.wait(timeout)
        return not self._stop.is_set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def stop_event(self) -> threading.Event:
        """Set when a stop is requested (to wait on together with other things)."""
        return self._stop

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def request_stop(self) -> None:
        self._stop.set()

    def stop(self, timeout: float | None = 5.0) -> bool:
        """Ask the task to stop and join its thread; ``False`` if it is still running after
        ``timeout`` seconds (``None``: wait for ever)."""
        self._stop.set()
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(timeout)
        return not thread.is_alive()


class AsyncPlugin(Plugin):
    """The async events capability: declare ``async_events``; implement :meth:`run_async` (run in a
    background task while the host listens) or :meth:`start_async` / :meth:`stop_async`; optionally
    :meth:`dump_state`.

    ``async_event_sources``: the event sources the events are compatible with (``None``: every
    one). ``async_stop_timeout``: how long the default :meth:`stop_async` waits for the task.
    """

    async_events: ClassVar[Sequence[str]] = ()
    async_event_sources: ClassVar[Sequence[str] | None] = None
    async_stop_timeout: ClassVar[float] = 5.0

    _falcoplug_task: BackgroundTask | None = None

    def run_async(self, emit: Emitter, task: BackgroundTask) -> None:
        """Send events until ``task.keep_running(...)`` is ``False`` (runs in its own thread)."""
        raise NotImplementedError

    def start_async(self, emit: Emitter) -> None:
        """The host set the handler: start sending. The default runs :meth:`run_async` in a
        :class:`BackgroundTask` (when the class defines it)."""
        if not type(self).overrides("run_async", AsyncPlugin):
            return
        task = BackgroundTask(self.run_async, name=f"falcoplug-async-{type(self).name}", log=self.log)
        task.args = (emit, task)
        self._falcoplug_task = task.start()

    def stop_async(self) -> None:
        """The host resets the handler: stop sending, and stop and join the plugin's threads. The
        default stops the task :meth:`start_async` started."""
        task, self._falcoplug_task = self._falcoplug_task, None
        if task is not None and not task.stop(self.async_stop_timeout):
            self.log.warning("background task %s did not stop within %s s; its events are refused from now on",
                             task.name, self.async_stop_timeout)  # fmt: skip

    def dump_state(self, emit: Emitter) -> None:
        """Send the plugin's state as async events, synchronously (only when overridden): the host
        writes them at the start of a capture file, so that a replay starts from this state."""
        raise NotImplementedError

    @classmethod
    def check_async(cls) -> None:
        owner = cls.__qualname__
        name = getattr(cls, "name", None)
        names = cls.async_events
        if isinstance(names, str) or not names or not all(isinstance(n, str) and n for n in names):
            raise PluginDefinitionError(
                f"plugin class {owner}: an AsyncPlugin must declare async_events, a list of event names", name
            )
        if len(set(names)) != len(names):
            raise PluginDefinitionError(f"plugin class {owner}: async_events lists a name twice", name)
        sources = cls.async_event_sources
        if sources is not None and (isinstance(sources, str) or not all(isinstance(s, str) and s for s in sources)):
            raise PluginDefinitionError(f"plugin class {owner}: async_event_sources must be a list of source names", name)
        overrides_start = cls.overrides("start_async", AsyncPlugin)
        if not overrides_start and not cls.overrides("run_async", AsyncPlugin):
            raise PluginDefinitionError(
                f"plugin class {owner}: an AsyncPlugin must implement run_async(self, emit, task) "
                "or start_async(self, emit) and stop_async(self)", name,
            )  # fmt: skip
