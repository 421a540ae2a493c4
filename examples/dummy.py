"""dummy: a port of the official Go ``dummy`` plugin (falcosecurity/plugins, plugins/dummy) to the
falcoplug Python SDK, as of its 0.11 releases (open params ``{"start": N, "maxEvents": N}``; the
version declared is the official 0.11.4's).

It generates synthetic events: each event's payload is a sample, as decimal text, that grows by
1 plus a random jitter from 0 to ``jitter`` at every event. With ``{"jitter": 0}`` the events are
those of the official plugin: the samples start + 1, start + 2, ...

Run it in falcoplug, or build it into a library that Falco loads::

    falcoplug run -p 'examples/dummy.py|{"jitter":0}|{"maxEvents":5}'
    falcoplug build examples/dummy.py -o libdummy.so
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass

from falcoplug.sdk import Event, ExtractPlugin, IterableInstance, OpenParam, SourcePlugin, field, option


@dataclass
class DummyConfig:
    jitter: int = option(10, minimum=0, title="Sample jitter",
                         description="A random amount added to the sample of each event (Default: 10)")  # fmt: skip


@dataclass
class DummyParams:
    """Open parameters, as a JSON object; "" means all defaults."""

    start: int = option(1, minimum=0, description="The initial value of the sample")
    max_events: int = option(20, minimum=0, alias="maxEvents", description="The number of events before EOF")


class DummyPlugin(SourcePlugin, ExtractPlugin):
    """Reference plugin for educational purposes"""

    name = "dummy"
    version = "0.11.4"
    contact = "github.com/falcosecurity/plugins"
    id = 3
    event_source = "dummy"

    def init(self, config: DummyConfig) -> None:
        self.config = config
        self.rand = random.Random(time.time_ns())

    def open(self, params: DummyParams) -> IterableInstance:
        return IterableInstance(self._samples(params))

    def _samples(self, params: DummyParams) -> Iterator[tuple[bytes, int]]:
        # Increment the sample by 1 plus a jitter in [0, jitter], as the Go plugin does.
        sample, jitter, rand = params.start, self.config.jitter, self.rand
        for _ in range(params.max_events):
            sample += 1 + (rand.randint(0, jitter) if jitter else 0)
            yield str(sample).encode(), time.time_ns()

    def list_open_params(self) -> list[OpenParam]:
        return [
            OpenParam(f'{{"start": 1, "maxEvents": {n}}}', f"Generates a maximum of {n} events")
            for n in (10, 100, 1000, 10000, 100000, 1000000)
        ]

    def event_to_string(self, event: Event) -> str:
        return f'{{"sample": "{event.payload.decode()}"}}'

    @field("dummy.divisible")
    def divisible(self, event: Event, divisor: int) -> int:
        """Return 1 if the value is divisible by the provided divisor, 0 otherwise"""
        return 1 if self.value(event) % divisor == 0 else 0

    @field("dummy.value")
    def value(self, event: Event) -> int:
        """The sample value in the event"""
        return int(event.payload)

    @field("dummy.strvalue")
    def strvalue(self, event: Event) -> str:
        """The sample value in the event, as a string"""
        return event.payload.decode()
