"""kitchen: an SDK test plugin that uses every feature of the first-generation capabilities.

Config (a dataclass with nested, enum, list and optional members) chooses how many events an
open makes and where plugin code should fail (``fail_in``), to test error paths on every host.
Event i (from 0): payload "<prefix>:<i>", ts 1_700_000_000_000_000_000 + i * 1000.
"""

from __future__ import annotations

import enum
import ipaddress
import logging
from dataclasses import dataclass, field as dc_field
from datetime import datetime, timedelta, timezone
from typing import ClassVar, Optional

from falcoplug.sdk import (
    EOF,
    AbsTime,
    Event,
    EventWriter,
    ExtractPlugin,
    Metric,
    OpenParam,
    Progress,
    RelTime,
    SourceInstance,
    SourcePlugin,
    Status,
    cached_per_event,
    counter,
    field,
    gauge,
    option,
)

BASE_TS = 1_700_000_000_000_000_000
module_log = logging.getLogger(__name__)


class Mode(enum.Enum):
    FAST = "fast"
    SLOW = "slow"


@dataclass
class Limits:
    """Bounds of something."""

    low: int = 0
    high: int = option(100, minimum=0, description="The upper bound")


@dataclass
class KitchenConfig:
    """The kitchen sink's configuration."""

    prefix: str = option("evt", description="What each payload starts with", min_length=1)
    count: int = option(10, minimum=0, maximum=100000, description="Events per open")
    fail_in: str = option("", description="Where plugin code raises (init, open, next_batch, ...)")
    mode: Mode = Mode.FAST
    limits: Limits = dc_field(default_factory=Limits)
    tags: list[str] = dc_field(default_factory=list)
    ratio: Optional[float] = None


class KitchenInstance(SourceInstance):
    def __init__(self, plugin: Kitchen, count: int) -> None:
        self.plugin, self.count, self.next = plugin, count, 0

    def next_batch(self, events: EventWriter) -> Status | None:
        fail = self.plugin.config.fail_in
        if fail == "next_batch" and self.next >= 3:
            raise RuntimeError("next_batch broke at event 3")
        if fail == "bad_payload":
            events.items.append(12345)  # not bytes: the host must refuse it with a clear error
            return None
        if fail == "bad_status":
            return "weird"  # type: ignore[return-value]
        while not events.full and self.next < self.count:
            i = self.next
            events.add(f"{self.plugin.config.prefix}:{i}", ts=BASE_TS + i * 1000)
            self.next += 1
        self.plugin.produced += len(events)
        return EOF if self.next >= self.count else None

    def progress(self) -> Progress:
        if self.plugin.config.fail_in == "progress":
            raise ValueError("no idea")
        return Progress(100.0 * self.next / self.count if self.count else 100.0, f"{self.next} of {self.count}")

    def close(self) -> None:
        self.plugin.closed += 1


class Kitchen(SourcePlugin, ExtractPlugin):
    """Every feature of the SDK in one plugin"""

    name = "kitchen"
    version = "1.2.3-beta.1"
    contact = "falcoplug tests"
    id = 991
    event_source = "kitchen"
    batch_capacity = 7

    def init(self, config: KitchenConfig) -> None:
        if config.fail_in == "init":
            raise RuntimeError("init refused on purpose")
        self.config = config
        self.produced = 0
        self.closed = 0
        self.log.info("kitchen ready with prefix %s", config.prefix)
        module_log.debug("module logger works too")

    def set_config(self, config: KitchenConfig) -> None:
        self.config = config
        self.log.info("prefix is now %s", config.prefix)

    def metrics(self) -> list[Metric]:
        return [counter("events", self.produced), gauge("temperature", -3), gauge("ratio", 0.5)]

    def open(self, params: str) -> KitchenInstance:
        if self.config.fail_in == "open":
            raise FileNotFoundError(f"cannot open {params!r}")
        count = int(params) if params.strip() else self.config.count
        return KitchenInstance(self, count)

    def list_open_params(self) -> list[OpenParam | str]:
        return [OpenParam("5", "five events"), "10", OpenParam("a;b", "two", separator=";")]

    def event_to_string(self, event: Event) -> str:
        return f"kitchen event {self.index(event)}"

    @cached_per_event
    def index(self, event: Event) -> int:
        self.parses = getattr(self, "parses", 0) + 1
        return int(event.payload.split(b":")[1])

    @field("kitchen.num", display="Number", properties=["info"])
    def num(self, event: Event) -> int:
        """The event's index."""
        return self.index(event)

    @field("kitchen.text", add_output=True)
    def text(self, event: Event) -> str:
        """The payload as text."""
        return event.payload.decode()

    @field("kitchen.even")
    def even(self, event: Event) -> bool:
        """Whether the index is even."""
        return self.index(event) % 2 == 0

    @field("kitchen.when")
    def when(self, event: Event) -> datetime:
        """The event time, as a datetime."""
        return datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc) + timedelta(microseconds=self.index(event))

    @field("kitchen.when_ns")
    def when_ns(self, event: Event) -> AbsTime:
        """The event time, in nanoseconds."""
        return event.ts

    @field("kitchen.age")
    def age(self, event: Event) -> timedelta:
        """A duration."""
        return timedelta(milliseconds=self.index(event))

    @field("kitchen.age_ns")
    def age_ns(self, event: Event) -> RelTime:
        """A duration in nanoseconds."""
        return self.index(event) * 7

    @field("kitchen.addr")
    def addr(self, event: Event) -> ipaddress.IPv4Address:
        """An IPv4 address."""
        return ipaddress.IPv4Address(f"10.0.0.{self.index(event) % 256}")

    @field("kitchen.addr6")
    def addr6(self, event: Event) -> ipaddress.IPv6Address:
        """An IPv6 address."""
        return ipaddress.IPv6Address(f"2001:db8::{self.index(event):x}")

    @field("kitchen.net")
    def net(self, event: Event) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        """A network."""
        i = self.index(event)
        return ipaddress.ip_network(f"10.{i % 256}.0.0/16") if i % 2 else ipaddress.ip_network("2001:db8::/32")

    @field("kitchen.list")
    def numbers(self, event: Event) -> list[int]:
        """0 .. index % 4 (empty for multiples of 4)."""
        return list(range(self.index(event) % 4))

    @field("kitchen.words")
    def words(self, event: Event) -> list[str]:
        """Words."""
        return ["a", "bb", "ccc"][: 1 + self.index(event) % 3]

    @field("kitchen.addrs")
    def addrs(self, event: Event) -> list[ipaddress.IPv4Address]:
        """A list of addresses."""
        return [ipaddress.IPv4Address("127.0.0.1"), ipaddress.IPv4Address(self.index(event))]

    @field("kitchen.flags")
    def flags(self, event: Event) -> list[bool]:
        """A list of booleans."""
        return [True, False, self.index(event) % 2 == 1]

    @field("kitchen.key")
    def key(self, event: Event, name: str) -> str:
        """A required key argument."""
        return f"{name}={self.index(event)}"

    @field("kitchen.idx")
    def idx(self, event: Event, factor: int) -> int:
        """A required index argument."""
        return self.index(event) * factor

    @field("kitchen.opt")
    def opt(self, event: Event, name: Optional[str] = None) -> str:
        """An optional key argument."""
        return name or "none"

    @field("kitchen.either")
    def either(self, event: Event, arg: int | str) -> str:
        """An index or a key."""
        return f"{type(arg).__name__}:{arg}"

    @field("kitchen.odd")
    def odd(self, event: Event) -> int | None:
        """The index, for odd events only."""
        i = self.index(event)
        return i if i % 2 else None

    @field("kitchen.boom")
    def boom(self, event: Event) -> int:
        """Raises for event index 3."""
        if self.index(event) == 3:
            raise ValueError("boom at 3")
        return 1

    @field("kitchen.wrong")
    def wrong(self, event: Event) -> int:
        """Returns a str for odd indexes, in spite of its annotation."""
        i = self.index(event)
        return i if i % 2 == 0 else "not a number"  # type: ignore[return-value]

    @field("kitchen.negative")
    def negative(self, event: Event) -> int:
        """-1: does not fit a uint64."""
        return -1

    @field("kitchen.src")
    def src(self, event: Event) -> str:
        """The event source and number the host gave."""
        return f"{event.source}#{event.num}"

    unused: ClassVar[int] = 0
