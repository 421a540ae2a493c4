"""SDK plugins that misbehave on purpose, for the hostile-input tests (``file.py:Class`` specs)."""

from __future__ import annotations

from collections.abc import Iterator

from falcoplug.sdk.source import Status
from falcoplug.sdk import EOF, Event, EventWriter, ExtractPlugin, IterableInstance, SourceInstance, SourcePlugin, field


class BadFields(SourcePlugin, ExtractPlugin):
    """Events 1..N; each field fails in its own way, on every event."""

    name = "boom"
    version = "0.1.0"
    id = 990
    event_source = "boom"

    def open(self, params: str) -> IterableInstance:
        return IterableInstance(self._events(int(params or 3)))

    def _events(self, n: int) -> Iterator[bytes]:
        for i in range(1, n + 1):
            yield str(i).encode()

    @field("boom.ok")
    def ok(self, event: Event) -> int:
        "The payload as a number."
        return int(event.payload)

    @field("boom.raise")
    def raises(self, event: Event) -> int:
        "Raises."
        raise ValueError("boom")

    @field("boom.wrong")
    def wrong(self, event: Event) -> int:
        "A str for an int field."
        return "abc"  # type: ignore[return-value]

    @field("boom.negative")
    def negative(self, event: Event) -> int:
        "A negative uint64."
        return -1

    @field("boom.scalar")
    def scalar(self, event: Event) -> list[int]:
        "A scalar for a list field."
        return 5  # type: ignore[return-value]


class _Overfill(SourceInstance):
    def __init__(self) -> None:
        self.sent = False

    def next_batch(self, events: EventWriter) -> Status | None:
        if self.sent:
            return EOF
        self.sent = True
        events.items.extend([b"x"] * (events.capacity + 5))  # behind the writer's back
        return None


class Overfill(SourcePlugin):
    """next_batch appends more events than the batch holds, bypassing ``add``."""

    name = "overfill"
    version = "0.1.0"
    id = 991
    event_source = "overfill"

    def open(self, params: str) -> SourceInstance:
        return _Overfill()


class _Interrupting(SourceInstance):
    def next_batch(self, events: EventWriter) -> None:
        raise KeyboardInterrupt


class Interrupting(SourcePlugin):
    """Plugin code raising KeyboardInterrupt (not a real Ctrl-C)."""

    name = "interrupting"
    version = "0.1.0"
    id = 992
    event_source = "interrupting"

    def open(self, params: str) -> SourceInstance:
        return _Interrupting()
