"""threadstats: reads and enriches the host's ``threads`` table, and shares a table of its own.

For syscall events, it counts the events of each thread into dynamic fields it adds to the
``threads`` table (other plugins see them), reads static fields (``comm``, ``pid``) and a
sub-table (``file_descriptors``), and keeps per event type counters in a table it owns,
``threadstats.types``, which other plugins and the host read through the plugin API. While a
capture is open, a routine on the host's thread pool keeps a summary up to date (a metric).

Run it over syscall-like events, for instance falcoplug's test source (tests/plugins/sysgen_plugin.c:
``gcc -shared -fPIC -O2 -Isrc/falcoplug/abi/include tests/plugins/sysgen_plugin.c -o libsysgen.so``)::

    falcoplug run -p './libsysgen.so||count=12,tids=1:2:3:2' -p examples/threadstats.py \\
        -o '%evt.num %threadstats.events %threadstats.comm %threadstats.type_events %threadstats.threads'
"""

from __future__ import annotations

import threading
import time

from falcoplug.sdk import (
    AccessedTable,
    Capture,
    CaptureListenPlugin,
    Dynamic,
    Event,
    ExtractPlugin,
    Int64,
    OwnedTable,
    ParsePlugin,
    Private,
    Readonly,
    RelTime,
    TableEntry,
    TableFields,
    TableAccess,
    UInt64,
    field,
    field_named,
    gauge,
)


class Fd(TableFields):
    """The fields of a thread's ``file_descriptors`` sub-table that this plugin reads."""

    name: str


class Thread(TableFields):
    """The fields of the host's ``threads`` table that this plugin reads and writes."""

    comm: str
    pid: int  # the table's own integer type (int64)
    events: Dynamic[UInt64] = field_named("threadstats.events")  # added by this plugin
    first_ts: Dynamic[UInt64] = field_named("threadstats.first_ts")
    file_descriptors: AccessedTable[int, Fd]


class TypeStats(TableEntry):
    """One event type's counters, shared with other plugins (``threadstats.types``)."""

    events: UInt64 = 0
    last_tid: Readonly[Int64] = -1  # others may read it, not write it
    tids: Private[set] = set()  # this plugin's own (a fresh set per entry)


class ThreadStats(ParsePlugin, ExtractPlugin, CaptureListenPlugin):
    """Per-thread and per-type event counts, in the threads table and a table of its own"""

    name = "threadstats"
    version = "0.1.0"
    contact = "github.com/falcoplug"
    parse_event_sources = ["syscall"]
    extract_event_sources = ["syscall"]

    threads = TableAccess("threads", key=int, fields=Thread)
    types = OwnedTable("threadstats.types", key=UInt64, entry=TypeStats)

    def init(self, config: str) -> None:
        self.total = 0
        self.busiest: tuple[int, int] = (0, 0)  # (event type, events), kept by a routine
        self.lock = threading.Lock()

    # -- parsing: the state ---------------------------------------------------------------------
    def parse(self, event: Event) -> None:
        self.total += 1
        thread = self.threads.get(event.tid)  # None for events without a thread
        if thread is not None:
            thread.events += 1
            if thread.first_ts == 0:
                thread.first_ts = event.ts
        stats = self.types.get(event.type) or self.types.add(event.type)
        stats.events += 1
        stats.last_tid = event.tid
        stats.tids.add(event.tid)

    # -- fields ------------------------------------------------------------------------------------
    @field("threadstats.events")
    def thread_events(self, event: Event) -> int | None:
        """The events of this event's thread so far"""
        thread = self.threads.get(event.tid)
        return None if thread is None else thread.events

    @field("threadstats.comm")
    def comm(self, event: Event) -> str | None:
        """The command name of this event's thread, from the threads table"""
        thread = self.threads.get(event.tid)
        return None if thread is None else thread.comm

    @field("threadstats.age")
    def age(self, event: Event) -> RelTime | None:
        """How long since the first event of this event's thread (ns)"""
        thread = self.threads.get(event.tid)
        return None if thread is None or not thread.first_ts else event.ts - thread.first_ts

    @field("threadstats.fds")
    def fds(self, event: Event) -> int | None:
        """The number of file descriptors of this event's thread"""
        thread = self.threads.get(event.tid)
        return None if thread is None else len(thread.file_descriptors)

    @field("threadstats.fd_names")
    def fd_names(self, event: Event) -> list[str]:
        """The names of the file descriptors of this event's thread"""
        thread = self.threads.get(event.tid)
        return [] if thread is None else sorted(fd.name for fd in thread.file_descriptors)

    @field("threadstats.type_events")
    def type_events(self, event: Event) -> int:
        """The events of this event's type so far"""
        return self.types[event.type].events

    @field("threadstats.type_threads")
    def type_threads(self, event: Event) -> int:
        """How many threads sent events of this event's type so far"""
        return len(self.types[event.type].tids)

    @field("threadstats.threads")
    def thread_count(self, event: Event) -> int:
        """How many threads the threads table holds"""
        return len(self.threads)

    # -- capture listening: a summary kept by a routine on the host's thread pool --------------------
    def capture_open(self, capture: Capture) -> None:
        capture.routines.subscribe(self.summarize)

    def summarize(self) -> bool:
        best = max(((t, s.events) for t, s in self.types.items()), key=lambda p: p[1], default=(0, 0))
        with self.lock:
            self.busiest = best
        time.sleep(0.02)  # a routine runs again as soon as it returns: pace it
        return True  # run again until the capture closes

    def metrics(self) -> list:
        with self.lock:
            busiest_type, busiest_events = self.busiest
        return [gauge("busiest_type", busiest_type), gauge("busiest_events", busiest_events)]
