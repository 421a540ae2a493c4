"""Several live sources at once, as Falco runs them: one inspector per source, each in its thread.

Falco gives every enabled event source its own ``sinsp`` inspector (with its own instances of the
plugins) and its own thread, which reads, parses, filters and extracts; only the results meet.
:class:`MultiSource` does the same with :class:`~falcoplug.framework.inspector.Inspector` objects
whose input is already open:

- with ``process``, each source's thread calls ``process(batch)`` on its batches and the items it
  returns (alerts, output lines...) come out of the iterator tagged with their source, in the
  order the threads produce them;
- without it, the batches themselves come out, tagged with their source; a source's thread then
  waits until the consumer asks for the next item before reading on, so that an inspector's
  plugins are never called from two threads at once (the consumer extracts, the thread parses).

An error in a source's thread stops every source and is raised by the iterator.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .inspector import Inspector, SourcedBatch

_POLL = 0.05  # how often a blocked thread looks at the stop flag, in seconds


@dataclass(frozen=True)
class _Done:
    inspector: Inspector


@dataclass(frozen=True)
class _Failed:
    inspector: Inspector
    error: BaseException


class MultiSource:
    """Iterate over several open inspectors at once; yields ``(source, item)``."""

    def __init__(
        self,
        inspectors: Sequence[Inspector],
        process: Callable[[SourcedBatch], Iterable[Any]] | None = None,
        *,
        queue_size: int = 64,
    ) -> None:
        self.inspectors = list(inspectors)
        self.process = process
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._acks: set[threading.Event] = set()
        self._lock = threading.Lock()
        self._started = False

    # -- the source threads ----------------------------------------------------------------------
    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, inspector: Inspector) -> None:
        try:
            for batch in inspector.batches():
                if self._stop.is_set():
                    break
                if self.process is not None:
                    for item in self.process(batch):
                        if not self._put((batch.source, item, None)):
                            return
                    continue
                ack = threading.Event()
                with self._lock:
                    self._acks.add(ack)
                if not self._put((batch.source, batch, ack)):
                    return
                while not ack.wait(_POLL):  # the consumer is still working on this batch
                    if self._stop.is_set():
                        return
                with self._lock:
                    self._acks.discard(ack)
        except BaseException as exc:
            self._put(_Failed(inspector, exc))
        finally:
            self._put(_Done(inspector))

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        for i, inspector in enumerate(self.inspectors):
            name = inspector.input.name if inspector.input is not None else str(i)
            thread = threading.Thread(target=self._run, args=(inspector,), name=f"falcoplug-source-{name}", daemon=True)
            self._threads.append(thread)
            thread.start()

    # -- the consumer ----------------------------------------------------------------------------
    def __iter__(self) -> Iterator[tuple[str | None, Any]]:
        self.start()
        running = len(self._threads)
        ack: threading.Event | None = None
        try:
            while running:
                if ack is not None:
                    ack.set()  # the consumer is done with the previous batch
                    ack = None
                item = self._queue.get()
                if isinstance(item, _Done):
                    running -= 1
                    continue
                if isinstance(item, _Failed):
                    raise item.error
                source, value, ack = item
                yield source, value
        finally:
            if ack is not None:
                ack.set()
            self.stop()

    def stop(self) -> None:
        """Ask every source thread to stop and wait for them (the inspectors stay open)."""
        self._stop.set()
        for inspector in self.inspectors:
            inspector.interrupt()
        with self._lock:
            for ack in self._acks:
                ack.set()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join()

    def __enter__(self) -> MultiSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
