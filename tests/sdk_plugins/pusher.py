"""pusher: events pushed from a background thread (PushInstance), with pauses that make batches
time out; open params: the number of events."""

from __future__ import annotations

import time

from falcoplug.sdk import Event, ExtractPlugin, PushInstance, SourcePlugin, field


class Ticker(PushInstance):
    flush_timeout = 0.005

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count

    def produce(self) -> None:
        for i in range(self.count):
            if self.closing.is_set():
                return
            if i % 10 == 5:
                time.sleep(0.02)  # longer than the flush timeout: the host sees TIMEOUT
            self.push(f"tick {i}", ts=1_000_000 + i)


class Pusher(SourcePlugin, ExtractPlugin):
    """Events from a producer thread"""

    name = "pusher"
    version = "0.1.0"
    id = 996
    event_source = "pusher"

    def open(self, params: str) -> Ticker:
        return Ticker(int(params or "30"))

    @field("pusher.n")
    def n(self, event: Event) -> int:
        """The tick number."""
        return int(event.payload.split()[1])
