"""Python plugins for ``falcoplug check``'s tests: one well-behaved base and one subclass per fault.

Each is a sourcing + extraction plugin ("n=<i>" payloads, open params: the number of events);
name them as ``tests/sdk_plugins/check_broken.py:ClassName``.
"""

from __future__ import annotations

import os
import time

from falcoplug.sdk import Event, ExtractPlugin, IterableInstance, SourcePlugin, field

_KEPT: list[bytes] = []


class CheckBase(SourcePlugin, ExtractPlugin):
    """A plugin that follows every rule"""

    name = "pychk"
    version = "1.2.0"
    contact = "https://example.com/pychk"
    id = 999
    event_source = "pychksrc"

    def init(self, config: str) -> None:
        self.produced = 0

    def open(self, params: str) -> IterableInstance:
        count = int(params) if params.strip().isdigit() else 20
        return IterableInstance(self._events(count))

    def _events(self, count: int):  # noqa: ANN202 - a generator of payloads
        for i in range(1, count + 1):
            self.produced += 1
            yield f"n={i}".encode()

    def event_to_string(self, event: Event) -> str:
        return event.payload.decode("utf-8", "replace")

    def number(self, event: Event) -> int | None:
        payload = event.payload
        if payload.startswith(b"n=") and payload[2:].isdigit():
            return int(payload[2:])
        return None

    @field("pychk.n")
    def n(self, event: Event) -> int | None:
        """The number after n="""
        return self.number(event)


class CheckGood(CheckBase):
    """A plugin that follows every rule"""

    @field("pychk.extra")
    def extra(self, event: Event) -> str | None:
        """extra-<n>"""
        n = self.number(event)
        return None if n is None else f"extra-{n}"


class CheckCrash(CheckGood):
    """Aborts the process on a payload that is not n=<i>"""

    @field("pychk.text")
    def text(self, event: Event) -> str | None:
        """The payload"""
        if event.payload and self.number(event) is None:
            os.abort()
        return event.payload.decode()


class CheckHang(CheckGood):
    """Never returns on an empty payload"""

    @field("pychk.text")
    def text(self, event: Event) -> str | None:
        """The payload"""
        while not event.payload:
            time.sleep(1)
        return event.payload.decode("utf-8", "replace")


class CheckLeak(CheckGood):
    """Keeps 256 KiB per call"""

    @field("pychk.text")
    def text(self, event: Event) -> str | None:
        """The payload"""
        _KEPT.append(b"x" * (256 * 1024))  # written, so resident (bytes(n) may stay untouched zero pages)
        return event.payload.decode("utf-8", "replace")


class CheckNondet(CheckGood):
    """A field from state kept aside: the events produced so far (0 on replay)"""

    @field("pychk.seen")
    def seen(self, event: Event) -> int:
        """Events produced so far"""
        return self.produced


class CheckDropped(CheckBase):
    """Version 1.3.0 without pychk.extra: a removed field with a minor bump"""

    version = "1.3.0"


class CheckStolenId(CheckGood):
    """Uses cloudtrail's registered ID"""

    name = "notcloudtrail"
    id = 2


class CheckBalloon(CheckGood):
    """Allocates without bound on an empty payload"""

    @field("pychk.text")
    def text(self, event: Event) -> str | None:
        """The payload"""
        hoard = []
        while not event.payload:
            hoard.append(bytes(range(256)) * 4096)  # 1 MiB, written
        return event.payload.decode("utf-8", "replace")
