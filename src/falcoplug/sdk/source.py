"""Event sourcing: a plugin that opens a stream of events and hands them over in batches.

``open(params)`` returns a :class:`SourceInstance`; the host then calls its
:meth:`~SourceInstance.next_batch` again and again with an :class:`EventWriter`, into which the
instance writes as many events as it has (up to the writer's capacity). Returning
:data:`TIMEOUT` says "nothing right now, ask again"; returning :data:`EOF` ends the stream (the
events written in the same call are still delivered).

Three helpers cover the usual shapes: :class:`IterableInstance` (events from any iterable, taken
a batch at a time at C speed), :class:`PullInstance` (one event per :meth:`~PullInstance.pull`
call, with a flush timeout) and :class:`PushInstance` (a background thread pushes events; each
batch takes what has arrived, waiting at most a flush timeout).
"""

from __future__ import annotations

import collections
import enum
import itertools
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Final, Union

from ..errors import BatchFullError
from .config import ConfigModel
from .event import Event
from .fieldtypes import datetime_ns
from .info import PluginDefinitionError, check_source
from .plugin import _NO_PARAMETER, Plugin, _parameter_hint


class Status(enum.Enum):
    """What :meth:`SourceInstance.next_batch` may return instead of ``None`` (success)."""

    TIMEOUT = "timeout"
    EOF = "eof"


TIMEOUT: Final = Status.TIMEOUT
EOF: Final = Status.EOF

Payload = Union[bytes, bytearray, memoryview, str]
EventItem = Union[Payload, tuple[Payload, int]]
DEFAULT_FLUSH_TIMEOUT: Final = 0.030  # seconds, as the Go SDK's pull and push instances


class EventWriter:
    """The batch being filled by one :meth:`SourceInstance.next_batch` call.

    An event is its payload (bytes, or str written as UTF-8) and a timestamp (int nanoseconds
    since the epoch, or a datetime); without a timestamp the host stamps the time it receives the
    event. The writer only collects the payloads: the host lays them out as plugin events in one
    reusable buffer, so adding many payloads at once with :meth:`extend` costs almost nothing per
    event.
    """

    __slots__ = ("items", "capacity")

    def __init__(self, capacity: int) -> None:
        self.items: list[EventItem] = []
        self.capacity = capacity

    def add(self, payload: Payload, ts: int | datetime | None = None) -> None:
        """Add one event; raises :class:`BatchFullError` when the batch is full."""
        if len(self.items) >= self.capacity:
            raise BatchFullError(f"the batch is full ({self.capacity} events); return and write the rest next time")
        if ts is None:
            self.items.append(payload)
        else:
            self.items.append((payload, datetime_ns(ts) if isinstance(ts, datetime) else ts))

    def extend(self, events: Iterable[EventItem]) -> int:
        """Add payloads (or ``(payload, ts)`` pairs) until the batch is full; returns how many were taken.

        Only as many items as there is room for are taken from ``events``, so an iterator can be
        passed again on the next call to continue where it stopped.
        """
        before = len(self.items)
        self.items.extend(itertools.islice(events, self.capacity - before))
        return len(self.items) - before

    @property
    def remaining(self) -> int:
        return self.capacity - len(self.items)

    @property
    def full(self) -> bool:
        return len(self.items) >= self.capacity

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True, slots=True)
class OpenParam:
    """A suggested value for the open parameters (``list_open_params``)."""

    value: str
    desc: str = ""
    separator: str = ""

    def to_json(self) -> dict[str, str]:
        out = {"value": self.value}
        if self.desc:
            out["desc"] = self.desc
        if self.separator:
            out["separator"] = self.separator
        return out


@dataclass(frozen=True, slots=True)
class Progress:
    """How far an instance got: ``percent`` from 0 to 100, and an optional text."""

    percent: float
    text: str | None = None


class SourceInstance(ABC):
    """An open stream of events (``ss_instance_t``)."""

    @abstractmethod
    def next_batch(self, events: EventWriter) -> Status | None:
        """Write the next events into ``events``; return ``None``, :data:`TIMEOUT` or :data:`EOF`.

        Returning ``None`` with no event written counts as :data:`TIMEOUT` (a host may not receive
        an empty successful batch).
        """

    def progress(self) -> Progress | float | None:
        """How far the stream got (``None``: unknown)."""
        return None

    def close(self) -> None:
        """Called once when the host closes the stream."""


class IterableInstance(SourceInstance):
    """Events from an iterable of payloads (or ``(payload, ts)`` pairs); :data:`EOF` when it ends.

    Each batch is taken with one ``islice`` over the iterator, so a generator that yields bytes
    is the cheapest way to source many events from Python.
    """

    def __init__(self, events: Iterable[EventItem]) -> None:
        self._events: Iterator[EventItem] = iter(events)
        self._done = False

    def next_batch(self, events: EventWriter) -> Status | None:
        if self._done:
            return EOF
        room = events.remaining
        if events.extend(self._events) < room:
            self._done = True
            return EOF
        return None


class PullInstance(SourceInstance):
    """One event per :meth:`pull` call; a batch ends when it is full, when :meth:`pull` has nothing
    (returns ``None`` or :data:`TIMEOUT`), or after ``flush_timeout`` seconds."""

    flush_timeout: float = DEFAULT_FLUSH_TIMEOUT

    def __init__(self) -> None:
        self._eof = False

    @abstractmethod
    def pull(self) -> EventItem | Status | None:
        """The next event (payload or ``(payload, ts)``), ``None``/:data:`TIMEOUT` when there is
        none right now, or :data:`EOF` when there will be no more."""

    def next_batch(self, events: EventWriter) -> Status | None:
        if getattr(self, "_eof", False):
            return EOF
        deadline = time.monotonic() + self.flush_timeout
        items, capacity, pull = events.items, events.capacity, self.pull
        while len(items) < capacity:
            item = pull()
            if item is None or item is TIMEOUT:
                break
            if item is EOF:
                self._eof = True
                return EOF
            items.append(item)
            if time.monotonic() >= deadline:
                break
        return None


class PushInstance(SourceInstance):
    """Events pushed from a background thread; each batch takes what has arrived.

    Subclass and implement :meth:`produce` (run in a thread started at the first batch; returning
    from it ends the stream, raising fails it), or pass a ``producer(instance)`` callable. The
    producer calls :meth:`push`, which blocks when ``max_pending`` events wait, and should stop
    when :attr:`closing` is set. A batch waits at most ``flush_timeout`` seconds for its first
    event, then answers :data:`TIMEOUT`.
    """

    flush_timeout: float = DEFAULT_FLUSH_TIMEOUT
    max_pending: int = 65536

    def __init__(self, producer: Callable[[PushInstance], None] | None = None) -> None:
        self._producer = producer
        self._pending: collections.deque[EventItem] = collections.deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._finished = False
        self._error: BaseException | None = None
        self.closing = threading.Event()

    def produce(self) -> None:
        """Push events until the stream ends or :attr:`closing` is set (runs in a thread)."""
        if self._producer is None:
            raise NotImplementedError("implement produce() or pass a producer")
        self._producer(self)

    def push(self, payload: Payload, ts: int | datetime | None = None) -> bool:
        """Queue one event; returns ``False`` (and drops it) once the instance is closing."""
        item: EventItem = payload if ts is None else (payload, datetime_ns(ts) if isinstance(ts, datetime) else ts)
        with self._cond:
            while len(self._pending) >= self.max_pending and not self.closing.is_set():
                self._cond.wait(0.1)
            if self.closing.is_set():
                return False
            self._pending.append(item)
            self._cond.notify_all()
        return True

    def _run(self) -> None:
        try:
            self.produce()
        except BaseException as exc:  # noqa: BLE001 - handed to the host as the stream's failure
            self._error = exc
        finally:
            with self._cond:
                self._finished = True
                self._cond.notify_all()

    def next_batch(self, events: EventWriter) -> Status | None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"falcoplug-push-{id(self):x}", daemon=True)
            self._thread.start()
        with self._cond:
            if not self._pending and not self._finished:
                self._cond.wait(self.flush_timeout)
            pending, room = self._pending, events.remaining
            taken = min(room, len(pending))
            events.items.extend(pending.popleft() for _ in range(taken))
            if taken:
                self._cond.notify_all()  # wake a producer blocked on max_pending
            if pending or not self._finished:
                return None if taken else TIMEOUT
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return EOF

    def close(self) -> None:
        self.closing.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)


class SourcePlugin(Plugin):
    """The event sourcing capability: declare ``id`` and ``event_source``, implement :meth:`open`.

    ``batch_capacity`` bounds the events of one batch; ``max_event_size`` the bytes of one event's
    payload (an event over it fails the batch with a clear error instead of overrunning the host).
    """

    id: ClassVar[int]
    event_source: ClassVar[str]
    batch_capacity: ClassVar[int] = 1024
    max_event_size: ClassVar[int] = 16 * 1024 * 1024

    @classmethod
    def _source_identity(cls, owner: str) -> tuple[int, str]:
        return check_source(owner, getattr(cls, "id", None), getattr(cls, "event_source", None))

    @classmethod
    def open_params_model(cls) -> ConfigModel | None:
        """How open parameters are parsed: from the annotation of :meth:`open`'s parameter
        (``None``: the raw string)."""
        hint = _parameter_hint(cls, "open")
        if hint is _NO_PARAMETER or hint is str:
            return None
        try:
            return ConfigModel(hint, "open params")
        except TypeError as exc:
            raise PluginDefinitionError(f"plugin class {cls.__qualname__}: open: {exc}", getattr(cls, "name", None)) from None

    def open(self, params: Any) -> SourceInstance:
        """Open a stream; ``params`` is the raw string, or parsed into the annotated type."""
        raise NotImplementedError(f"{type(self).__qualname__} must implement open()")

    def list_open_params(self) -> Iterable[OpenParam | str]:
        """Suggested open parameters (only when overridden)."""
        return ()

    def event_to_string(self, event: Event) -> str:
        """A one-line text for an event this plugin produced (only when overridden)."""
        raise NotImplementedError

    @classmethod
    def check_sourcing(cls) -> None:
        owner = cls.__qualname__
        if not cls.overrides("open", SourcePlugin):
            raise PluginDefinitionError(f"plugin class {owner}: a SourcePlugin must implement open()", cls.name)
        for attr, low, high in (("batch_capacity", 1, 1 << 20), ("max_event_size", 1, (64 << 20) - 38)):
            value = getattr(cls, attr)
            if not isinstance(value, int) or not low <= value <= high:
                raise PluginDefinitionError(f"plugin class {owner}: {attr} must be an int from {low} to {high}", cls.name)
        cls.open_params_model()


def progress_value(progress: Progress | float | int | None) -> tuple[int, str | None]:
    """``(percent * 100 clamped to 0..10000, text)`` as ``plugin_get_progress`` reports it."""
    if progress is None:
        return 0, None
    if isinstance(progress, Progress):
        pct, text = progress.percent, progress.text
    elif isinstance(progress, (int, float)) and not isinstance(progress, bool):
        pct, text = float(progress), None
    else:
        raise TypeError(f"progress() must return a Progress, a number or None, not {type(progress).__name__}")
    return max(0, min(10000, int(round(pct * 100)))), text


def open_params_json(params: Iterable[OpenParam | str]) -> list[dict[str, str]]:
    out = []
    for p in params:
        item = OpenParam(p) if isinstance(p, str) else p
        if not isinstance(item, OpenParam) or not item.value:
            raise TypeError(f"list_open_params() items must be OpenParam or non-empty str, not {item!r:.60}")
        out.append(item.to_json())
    return out
