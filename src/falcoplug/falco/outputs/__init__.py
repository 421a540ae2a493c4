"""Falco's alert outputs: every enabled channel gets every alert, through one bounded queue.

The event loop hands each alert to :class:`Outputs`, which puts it in a queue (``outputs_queue.
capacity``; 0 is unbounded) and returns: a worker thread delivers it to each channel in turn. A
channel that fails is reported (the first failure of each kind, then a count) and the others still
get the alert; a full queue drops the alert, counts it and reports the first drop, so a slow
channel never holds the events back by more than the queue. ``output_timeout`` reports a channel
that takes longer than that to take an alert.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence

from .base import Message, Output, OutputError
from .file import FileOutput
from .http import HttpOutput, HttpSettings
from .program import ProgramOutput
from .stdout import StdoutOutput
from .syslog import SyslogOutput

__all__ = [
    "FileOutput", "HttpOutput", "HttpSettings", "Message", "Output", "OutputError", "Outputs",
    "ProgramOutput", "StdoutOutput", "SyslogOutput",
]  # fmt: skip

_STOP = object()


class Outputs:
    """The dispatcher: a queue in front of the channels, and the counts a summary shows."""

    def __init__(self, channels: Sequence[Output], *, capacity: int = 0, timeout_ms: int = 2000,
                 report: Callable[[str], None] = lambda line: None) -> None:  # fmt: skip
        self.channels = list(channels)
        self.capacity = capacity
        self.timeout = timeout_ms / 1000.0 if timeout_ms > 0 else None
        self.report = report
        self.drops = 0  # alerts the full queue refused
        self.failures: Counter[str] = Counter()  # per channel: alerts it could not deliver
        self.delivered = 0
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max(capacity, 0))
        self._reported: set[tuple[str, str]] = set()
        self._slow: set[str] = set()
        self._closed = False
        self._worker = threading.Thread(target=self._run, name="falcoplug-outputs", daemon=True)
        self._worker.start()

    def handle(self, message: Message) -> None:
        """Queue one alert for every channel; never blocks (a full queue drops it)."""
        try:
            self._queue.put_nowait(message)
        except queue.Full:
            if self.drops == 0:
                self.report(f"Outputs queue out of capacity ({self.capacity}): dropping alerts and continuing "
                            "(raise outputs_queue.capacity, or make the outputs faster)")  # fmt: skip
            self.drops += 1

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            assert isinstance(item, Message)
            for channel in self.channels:
                self._deliver(channel, item)
            self.delivered += 1

    def _deliver(self, channel: Output, message: Message) -> None:
        started = time.monotonic()
        try:
            channel.output(message)
        except OutputError as exc:
            self.failures[channel.name] += 1
            key = (channel.name, str(exc))
            if key not in self._reported:
                self._reported.add(key)
                self.report(f"{channel.name} output: {exc}")
        except Exception as exc:  # a channel's bug must not stop the others
            self.failures[channel.name] += 1
            self.report(f"{channel.name} output: unexpected {type(exc).__name__}: {exc}")
        elapsed = time.monotonic() - started
        if self.timeout is not None and elapsed > self.timeout and channel.name not in self._slow:
            self._slow.add(channel.name)
            self.report(f"{channel.name} output: took {elapsed * 1000:.0f} ms for one alert, more than "
                        f"output_timeout ({self.timeout * 1000:.0f} ms)")  # fmt: skip

    def close(self) -> None:
        """Deliver what is queued, then close every channel (once)."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._worker.join()
        for channel in self.channels:
            try:
                channel.close()
            except Exception as exc:
                self.report(f"{channel.name} output: {exc}")

    def summary_lines(self) -> list[str]:
        """What the run summary adds about the outputs (nothing when all went well)."""
        lines = []
        if self.drops:
            lines.append(f"Alerts dropped by the outputs queue: {self.drops}")
        for name, count in sorted(self.failures.items()):
            lines.append(f"Alerts the {name} output failed to deliver: {count}")
        return lines
