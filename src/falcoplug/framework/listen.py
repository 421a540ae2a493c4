"""Capture listening: the thread pool that runs the routines plugins subscribe.

libsinsp runs each subscribed routine on its thread pool again and again until it returns false
or is unsubscribed; closing the capture purges the pool. :class:`RoutinePool` does the same with
a few Python threads (the routine itself is C, called without the GIL held). A routine is a
callable returning a bool; the C adapter wraps the plugin's function and state into one.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("falcoplug.routines")


@dataclass(eq=False)
class Routine:
    id: int
    step: Callable[[], bool]
    name: str = ""
    enabled: bool = True
    runs: int = 0
    error: BaseException | None = field(default=None, repr=False)


class RoutinePool:
    """Routines run in turn by ``workers`` threads, started on the first subscription."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or max(2, min(4, os.cpu_count() or 2))
        self._cond = threading.Condition()
        self._ready: deque[Routine] = deque()
        self._routines: dict[int, Routine] = {}
        self._running: set[int] = set()
        self._threads: list[threading.Thread] = []
        self._ids = itertools.count(1)
        self._stopping = False
        self._local = threading.local()
        self.completed = 0  # routines that ended by returning false

    # -- subscription ------------------------------------------------------------------------------
    def subscribe(self, step: Callable[[], bool], name: str = "") -> int:
        with self._cond:
            if self._stopping:
                raise RuntimeError("the routine pool is shut down")
            routine = Routine(next(self._ids), step, name)
            self._routines[routine.id] = routine
            self._ready.append(routine)
            self._start_workers()
            self._cond.notify()
            return routine.id

    def unsubscribe(self, routine_id: int) -> bool:
        """Stop a routine (it is not run again; a run in progress finishes). False if unknown."""
        with self._cond:
            routine = self._routines.pop(routine_id, None)
            if routine is None:
                return False
            routine.enabled = False
            try:
                self._ready.remove(routine)
            except ValueError:
                pass
            self._cond.notify_all()
            return True

    def purge(self, timeout: float | None = None) -> None:
        """Drop every routine and wait until none is running (unless called from a routine)."""
        with self._cond:
            for routine in self._routines.values():
                routine.enabled = False
            self._routines.clear()
            self._ready.clear()
            if getattr(self._local, "worker", False):
                return
            deadline = None if timeout is None else time.monotonic() + timeout
            while self._running:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    log.warning("routines still running after purge timeout: %s", sorted(self._running))
                    return
                self._cond.wait(remaining)

    def shutdown(self) -> None:
        """Purge, then stop the worker threads."""
        self.purge()
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join()
        with self._cond:
            self._threads.clear()
            self._stopping = False

    def __len__(self) -> int:
        return len(self._routines)

    def is_subscribed(self, routine_id: int) -> bool:
        return routine_id in self._routines

    # -- workers -----------------------------------------------------------------------------------
    def _start_workers(self) -> None:
        while len(self._threads) < self.workers:
            thread = threading.Thread(target=self._work, name=f"falcoplug-routine-{len(self._threads)}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _next(self) -> Routine | None:
        with self._cond:
            while not self._ready and not self._stopping:
                self._cond.wait()
            if self._stopping:
                return None
            routine = self._ready.popleft()
            self._running.add(routine.id)
            return routine

    def _work(self) -> None:
        self._local.worker = True
        while True:
            routine = self._next()
            if routine is None:
                return
            try:
                again = bool(routine.step())
            except BaseException as exc:  # a broken routine stops, the pool goes on
                log.error("routine %s failed: %s", routine.name or routine.id, exc)
                routine.error, again = exc, False
            routine.runs += 1
            with self._cond:
                self._running.discard(routine.id)
                if again and routine.enabled:
                    self._ready.append(routine)
                elif self._routines.pop(routine.id, None) is not None:
                    self.completed += 1
                self._cond.notify_all()
            time.sleep(0)  # let the event loop have the GIL between runs
