"""dummymax: fields that depend on state, kept reproducible by parsing and async events.

For the events of the dummy source (examples/dummy.py), it tracks the largest sample of the
current *window*. A background task starts a new window every ``window_ms`` milliseconds by
sending an async event; the plugin's state changes only when it **parses** an event (a sample,
or a window event), never when a thread decides something. So the state at each event depends
only on the stream of events, and a capture holds that stream: the window events are recorded
with the samples, and ``dump_state`` writes the state the recording starts from at its head.
Replaying the capture gives the very values of the live run, even with another configuration::

    falcoplug run -p 'examples/dummy.py|{"jitter":5}|{"maxEvents":2000}' \\
        -p 'examples/dummymax.py|{"window_ms":5,"floor":100}' -w run.scap \\
        -f 'evt.is_async = false' -o '%dummy.value %dummymax.max %dummymax.window %dummymax.count'
    falcoplug run -R run.scap -p examples/dummy.py -p examples/dummymax.py \\
        -f 'evt.is_async = false' -o '%dummy.value %dummymax.max %dummymax.window %dummymax.count'

(``floor``, the least maximum a window reports, comes back from the dump on replay.)
"""

from __future__ import annotations

from dataclasses import dataclass

from falcoplug.sdk import (
    AsyncPlugin,
    BackgroundTask,
    Emitter,
    Event,
    ExtractPlugin,
    ParsePlugin,
    counter,
    field,
    option,
)

DUMMY_ID = 3  # the dummy plugin's event source ID (Falco's plugin registry)
WINDOW = "dummymax.window"
STATE = "dummymax.state"


@dataclass
class Config:
    window_ms: int = option(50, minimum=1, maximum=3_600_000, description="How often a new window starts (ms)")
    floor: int = option(0, minimum=0, description="The least maximum a window reports")


class DummyMax(ParsePlugin, ExtractPlugin, AsyncPlugin):
    """The largest dummy sample of the current window, reproducible on replay"""

    name = "dummymax"
    version = "0.1.0"
    contact = "github.com/falcoplug"
    parse_event_sources = ["dummy"]
    parse_event_types = [322, 402]  # samples, and this plugin's own async events
    extract_event_sources = ["dummy"]
    async_events = [WINDOW, STATE]
    async_event_sources = ["dummy"]

    def init(self, config: Config) -> None:
        self.window_ms = config.window_ms
        # The state: only parse() changes it.
        self.window, self.max, self.count, self.floor = 0, config.floor, 0, config.floor
        self.windows_sent = 0

    # -- the state, from the stream ------------------------------------------------------------
    def parse(self, event: Event) -> None:
        if event.is_plugin_event:
            self.max = max(self.max, int(event.payload))
            self.count += 1
        elif event.async_name == WINDOW:
            self.window, self.max, self.count = int(event.async_data), self.floor, 0
        elif event.async_name == STATE:  # the head of a capture: the state the recording starts from
            self.window, self.max, self.count, self.floor = (int(x) for x in event.async_data.split(b","))

    # -- async events: a new window now and then, and the state at the head of a capture ------------
    def run_async(self, emit: Emitter, task: BackgroundTask) -> None:
        while True:
            self.windows_sent += 1
            emit(WINDOW, str(self.windows_sent))
            if not task.keep_running(self.window_ms / 1000):
                return

    def dump_state(self, emit: Emitter) -> None:
        # The host writes these events as they are: the dummy plugin's ID makes a replay give them
        # to the dummy source, with the samples (live events get the open source's ID anyway).
        emit(STATE, f"{self.window},{self.max},{self.count},{self.floor}", plugin_id=DUMMY_ID)

    # -- fields: read the state as parsing left it for this event -----------------------------------
    @field("dummymax.max", display="Window maximum")
    def maximum(self, event: Event) -> int:
        """The largest sample of the current window, up to this event (at least the floor)"""
        return self.max

    @field("dummymax.window")
    def current_window(self, event: Event) -> int:
        """The number of the current window (0 before the first window event)"""
        return self.window

    @field("dummymax.count")
    def window_count(self, event: Event) -> int:
        """How many samples the current window has seen, this one included"""
        return self.count

    @field("dummymax.is_max")
    def is_max(self, event: Event) -> bool:
        """Whether this sample is the maximum of its window so far"""
        return int(event.payload) == self.max

    def metrics(self) -> list:
        return [counter("windows_sent", self.windows_sent)]
