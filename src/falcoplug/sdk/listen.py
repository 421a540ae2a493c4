"""Capture listening: a plugin told when a capture opens and closes, which may run routines on the
host's thread pool meanwhile.

::

    class Sweeper(CaptureListenPlugin):
        def capture_open(self, capture: Capture) -> None:
            self.routine = capture.routines.subscribe(self.sweep)

        def sweep(self) -> bool:
            ...                                  # one round of work, on a host thread
            return True                          # True: run again; False (or None): done

        def capture_close(self, capture: Capture) -> None:
            ...                                  # the host drops the remaining routines itself

The host calls :meth:`CaptureListenPlugin.capture_open` when a capture opens (live or from a file)
and :meth:`CaptureListenPlugin.capture_close` when it closes, then purges the routines. A routine
is run again and again, each run on one of the host's threads, until it returns a false value,
raises (the error is logged) or is unsubscribed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from .info import PluginDefinitionError
from .plugin import Plugin


class RoutineHost(Protocol):
    """The host's routine vtable: ``subscribe(step) -> handle`` and ``unsubscribe(handle)``, both
    raising with the host's message on failure."""

    def subscribe(self, step: Callable[[], bool]) -> Any: ...
    def unsubscribe(self, handle: Any) -> None: ...


class Routine:
    """A subscribed routine: ``runs`` counts its runs, ``active`` is false once it ended."""

    __slots__ = ("fn", "args", "handle", "active", "runs", "error", "name")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.fn = fn
        self.args = args
        self.handle: Any = None
        self.active = True
        self.runs = 0
        self.error: BaseException | None = None
        self.name = getattr(fn, "__qualname__", repr(fn))

    def __repr__(self) -> str:
        return f"<Routine {self.name} runs={self.runs}{'' if self.active else ' ended'}>"


class Routines:
    """The host's thread pool, during a capture: :meth:`subscribe` and :meth:`unsubscribe`."""

    def __init__(self, host: RoutineHost | None, log: Any, plugin: str) -> None:
        self._host = host
        self._log = log
        self._plugin = plugin
        self._lock = threading.Lock()
        self._routines: list[Routine] = []
        self._closed = False

    def subscribe(self, fn: Callable[..., Any], *args: Any) -> Routine:
        """Run ``fn(*args)`` on the host's thread pool until it returns a false value."""
        if self._host is None:
            raise RuntimeError("the host has no thread pool for routines")
        if self._closed:
            raise RuntimeError("routines can only be subscribed while a capture is open")
        if not callable(fn):
            raise TypeError(f"subscribe() takes a callable, not {type(fn).__name__}")
        routine = Routine(fn, args)
        routine.handle = self._host.subscribe(self._step(routine))
        with self._lock:
            self._routines.append(routine)
        return routine

    def unsubscribe(self, routine: Routine) -> None:
        """Stop a routine (a run in progress finishes); raises with the host's message if the host
        does not know it (it ended, or the capture closed)."""
        if not isinstance(routine, Routine):
            raise TypeError(f"unsubscribe() takes a Routine, not {type(routine).__name__}")
        if self._host is None:
            raise RuntimeError("the host has no thread pool for routines")
        try:  # the host first: a run starting meanwhile must not end the routine on its own
            self._host.unsubscribe(routine.handle)
        finally:
            routine.active = False

    @property
    def active(self) -> list[Routine]:
        with self._lock:
            return [r for r in self._routines if r.active]

    def close(self) -> None:
        """The capture closed: no routine runs plugin code any more."""
        self._closed = True
        with self._lock:
            for routine in self._routines:
                routine.active = False

    def _step(self, routine: Routine) -> Callable[[], bool]:
        log, fn, args = self._log, routine.fn, routine.args

        def step() -> bool:
            if not routine.active:
                return False
            try:
                again = fn(*args)
            except BaseException as exc:  # noqa: BLE001 - a routine's error ends it, never the host
                routine.error = exc
                routine.active = False
                log.error("routine %s failed: %s: %s", routine.name, type(exc).__name__, exc)
                log.debug("routine %s failed", routine.name, exc_info=exc)
                return False
            routine.runs += 1
            if not again:
                routine.active = False
                return False
            return routine.active

        return step


class Capture:
    """What :meth:`CaptureListenPlugin.capture_open` and ``capture_close`` receive: the host's
    thread pool (:attr:`routines`) for this capture."""

    def __init__(self, routines: Routines) -> None:
        self.routines = routines


class CaptureListenPlugin(Plugin):
    """The capture listening capability: implement :meth:`capture_open` (and optionally
    :meth:`capture_close`)."""

    def capture_open(self, capture: Capture) -> None:
        """A capture opened: subscribe routines with ``capture.routines.subscribe(fn)``."""
        raise NotImplementedError

    def capture_close(self, capture: Capture) -> None:
        """The capture closed (the host then purges the routines)."""

    @classmethod
    def check_listening(cls) -> None:
        if not cls.overrides("capture_open", CaptureListenPlugin):
            raise PluginDefinitionError(
                f"plugin class {cls.__qualname__}: a CaptureListenPlugin must implement capture_open(self, capture)",
                getattr(cls, "name", None),
            )
