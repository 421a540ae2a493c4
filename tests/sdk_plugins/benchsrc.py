"""benchsrc: the logic of tests/plugins/source_plugin.c (testsrc) written with the SDK, for the
benchmarks: event i has payload "<i in decimal>" and ts start_ts + i*1000; test.str is the
payload as a string and test.value the number.

Open parameters: "count=N" (default 10).
"""

from __future__ import annotations

from falcoplug.sdk import Event, ExtractPlugin, IterableInstance, SourcePlugin, field

START_TS = 1700000000000000000


class BenchSource(SourcePlugin, ExtractPlugin):
    """testsrc's logic, in Python"""

    name = "benchsrc"
    version = "0.1.0"
    id = 997
    event_source = "bench"
    batch_capacity = 1024

    def open(self, params: str) -> IterableInstance:
        count = 10
        for item in filter(None, params.split(",")):
            key, _, value = item.partition("=")
            if key != "count":
                raise ValueError(f"unknown open parameter {key!r}")
            count = int(value)
        return IterableInstance((str(i).encode(), START_TS + i * 1000) for i in range(count))

    @field("test.str")
    def str_(self, event: Event) -> str:
        """The payload text."""
        return event.payload.decode()

    @field("test.value")
    def value(self, event: Event) -> int:
        """The number in the payload."""
        return int(event.payload)
