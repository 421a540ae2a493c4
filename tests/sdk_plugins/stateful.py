"""SDK test plugins of the stateful capabilities: parsing with state tables (accessed and owned),
async events, capture listening. Each is run in-process and built into a library by the tests
(tests/test_sdk_state.py, tests/test_export_state.py), which expect the same results from both.

- ``Counter`` (sdkcount): parses every event, counts per thread into the ``threads`` table (a
  dynamic field) and into a table of its own (``sdkcount.hits``); fields read both.
- ``Probe`` (sdkprobe): runs the Python statements of its config (``{"init": [...], "parse":
  [...]}``) against the tables and logs each result (``<phase>: <statement> => <result>``), to
  test every table operation and error on every host.
- ``Ticker`` (sdkticker): async events from background threads, dump_state, and error paths.
- ``Listener`` (sdklisten): routines on the host's thread pool.
- ``NoTables`` and ``Missing``: declarations the host cannot satisfy.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from falcoplug.sdk import (
    AccessedTable,
    AsyncEventError,
    AsyncPlugin,
    BackgroundTask,
    Capture,
    CaptureListenPlugin,
    Dynamic,
    Emitter,
    Event,
    ExtractPlugin,
    Int64,
    OwnedTable,
    ParsePlugin,
    Private,
    Readonly,
    StateType,
    Table,
    TableAccess,
    TableEntry,
    TableError,
    TableFields,
    UInt8,
    UInt32,
    UInt64,
    counter,
    field,
    field_named,
)


class Fd(TableFields):
    name: str
    fd: int


class Thread(TableFields):
    comm: str
    pid: int
    tid: int
    count: Dynamic[UInt64] = field_named("sdkcount.count")
    file_descriptors: AccessedTable[int, Fd]


class Hits(TableEntry):
    hits: UInt64 = 0
    label: Readonly[str] = ""
    flag: bool = False
    small: UInt8 = 0
    seen: Private[list] = []


class Counter(ParsePlugin, ExtractPlugin):
    """Counts events per thread, in the threads table and in a table of its own"""

    name = "sdkcount"
    version = "0.1.0"
    threads = TableAccess("threads", key=int, fields=Thread)
    hits = OwnedTable("sdkcount.hits", key=Int64, entry=Hits)

    def init(self, config: dict) -> None:
        self.fail_on = config.get("fail_on")
        self.key = config.get("key", 1)
        self.total = 0

    def _key(self, event: Event) -> int:
        return event.tid if event.tid != -1 else self.key

    def parse(self, event: Event) -> None:
        self.total += 1
        if event.num == self.fail_on:
            raise ValueError(f"cannot parse event {event.num}")
        key = self._key(event)
        thread = self.threads.get(key)
        if thread is None:
            thread = self.threads.add(key, comm="made by sdkcount")
        thread.count += 1
        hit = self.hits.get(key) or self.hits.add(key, label=f"t{key}")
        hit.hits += 1
        hit.seen.append(event.num)

    @field("sdkcount.count")
    def count(self, event: Event) -> int | None:
        """The count of this event's thread"""
        thread = self.threads.get(self._key(event))
        return None if thread is None else thread.count

    @field("sdkcount.total")
    def total_parsed(self, event: Event) -> int:
        """Events parsed so far"""
        return self.total

    @field("sdkcount.comm")
    def comm(self, event: Event) -> str | None:
        """The comm of this event's thread"""
        thread = self.threads.get(self._key(event))
        return None if thread is None else thread.comm

    @field("sdkcount.hits")
    def hit_count(self, event: Event) -> int | None:
        """This thread's hits, from the plugin's own table"""
        hit = self.hits.get(self._key(event))
        return None if hit is None else hit.hits

    @field("sdkcount.fds")
    def fds(self, event: Event) -> list[str]:
        """The names of this event's thread's file descriptors"""
        thread = self.threads.get(self._key(event))
        return [] if thread is None else sorted(f"{fd.fd}:{fd.name}" for fd in thread.file_descriptors)

    def metrics(self) -> list:
        return [counter("parsed", self.total)]


class ProbeThread(TableFields):
    comm: str
    tid: int
    uid: int
    cwd: str
    count: Dynamic[int] = field_named("probe.count")
    file_descriptors: AccessedTable[int, Fd]


class Probe(ParsePlugin, CaptureListenPlugin):
    """Runs the statements of its config against the tables and logs the results"""

    name = "sdkprobe"
    version = "0.1.0"

    def init(self, config: dict) -> None:
        self.script: dict[str, list[str]] = config
        self.scope: dict[str, Any] = {
            "self": self, "tables": self.tables, "StateType": StateType, "Dynamic": Dynamic, "UInt64": UInt64,
            "UInt32": UInt32, "Int64": Int64, "Thread": ProbeThread, "Table": Table, "Hits": Hits, "Fd": Fd,
            "TableError": TableError, "TableFields": TableFields, "AccessedTable": AccessedTable,
        }  # fmt: skip
        self.run("init")

    def run(self, phase: str, **names: Any) -> None:
        scope = self.scope | names
        for statement in self.script.get(phase, ()):
            try:
                try:
                    code = compile(statement, "<probe>", "eval")
                except SyntaxError:
                    exec(compile(statement, "<probe>", "exec"), scope)  # noqa: S102
                    result = "ok"
                else:
                    result = repr(eval(code, scope))  # noqa: S307
            except Exception as exc:  # noqa: BLE001 - logged for the test to read
                result = f"{type(exc).__name__}: {exc}"
            self.log.info("%s: %s => %s", phase, statement, result)
            self.scope.update((k, v) for k, v in scope.items() if k not in names)

    def parse(self, event: Event) -> None:
        self.run("parse", event=event)

    def capture_open(self, capture: Capture) -> None:
        self.run("open", capture=capture)

    def capture_close(self, capture: Capture) -> None:
        self.run("close", capture=capture)


class Ticker(AsyncPlugin):
    """Async events from background threads"""

    name = "sdkticker"
    version = "0.1.0"
    async_events = ["tick", "state"]

    def init(self, config: dict) -> None:
        self.config = config
        self.sent = 0
        self.failed = 0
        self.lock = threading.Lock()
        self.tasks: list[BackgroundTask] = []

    def start_async(self, emit: Emitter) -> None:
        c = self.config
        if c.get("fail_start"):
            raise RuntimeError("cannot start on purpose")
        if c.get("mode") == "run_async":
            super().start_async(emit)
            return
        self.tasks = []
        for t in range(c.get("threads", 1)):
            task = BackgroundTask(self.work, name=f"ticker-{t}", log=self.log)
            task.args = (emit, t, task)
            self.tasks.append(task.start())

    def run_async(self, emit: Emitter, task: BackgroundTask) -> None:
        self.work(emit, 0, task)

    def work(self, emit: Emitter, t: int, task: BackgroundTask) -> None:
        c = self.config
        pace = c.get("pace", 0.0)
        if c.get("boom"):
            raise ValueError(f"task {t} exploded")
        for i in range(c.get("count", 10)):
            if not task.keep_running(pace):
                return
            try:
                emit(c.get("name", "tick"), f"T{t}:{i}", tid=c.get("tid"), ts=c.get("ts"))
                with self.lock:
                    self.sent += 1
            except AsyncEventError as exc:
                with self.lock:
                    self.failed += 1
                    first = self.failed <= 3
                if first:
                    self.log.warning("emit failed: %s", exc)
        hang = c.get("hang", 0.0)
        if hang:
            time.sleep(hang)  # ignores the stop request for a while
            emit("tick", b"late")  # after the reset: refused by the SDK, never reaches the host

    def stop_async(self) -> None:
        if self.config.get("mode") == "run_async":
            super().stop_async()
            return
        for task in self.tasks:
            if not task.stop(self.config.get("stop_timeout", 5.0)):
                self.log.warning("task %s still running", task.name)
        if self.config.get("fail_stop"):
            raise RuntimeError("cannot stop on purpose")

    def dump_state(self, emit: Emitter) -> None:
        for i in range(self.config.get("dump", 0)):
            emit("state", f"S{i}", ts=1000 + i)
        if self.config.get("dumpbad"):
            emit("bogus", b"x")

    def metrics(self) -> list:
        alive = sum(1 for task in self.tasks if task.alive)
        return [counter("sent", self.sent), counter("failed", self.failed), counter("alive", alive)]


class Listener(CaptureListenPlugin):
    """Routines on the host's thread pool"""

    name = "sdklisten"
    version = "0.1.0"

    def init(self, config: dict) -> None:
        self.config = config
        self.open_calls = self.close_calls = self.done = 0
        self.runs: list[int] = []
        self.routines: list[Any] = []
        self.lock = threading.Lock()

    def capture_open(self, capture: Capture) -> None:
        self.open_calls += 1
        if self.config.get("fail_open"):
            raise RuntimeError("cannot open on purpose")
        n = self.config.get("routines", 1)
        self.runs = [0] * n
        self.routines = [capture.routines.subscribe(self.step, i) for i in range(n)]
        self.log.info("open: %d routines", n)

    def step(self, i: int) -> bool:
        c = self.config
        with self.lock:
            self.runs[i] += 1
            runs = self.runs[i]
        if c.get("boom") and runs == 2:
            raise ValueError(f"routine {i} exploded")
        if c.get("steps") and runs >= c["steps"]:
            with self.lock:
                self.done += 1
            return False
        time.sleep(c.get("sleep", 0.001))
        return True

    def capture_close(self, capture: Capture) -> None:
        self.close_calls += 1
        if self.config.get("fail_close"):
            raise RuntimeError("cannot close on purpose")
        if self.config.get("unsub"):
            for routine in self.routines:
                try:
                    capture.routines.unsubscribe(routine)
                    self.log.info("close: unsubscribed %s", routine.active)
                except Exception as exc:  # noqa: BLE001 - logged for the test
                    self.log.info("close: unsubscribe failed: %s", exc)

    def metrics(self) -> list:
        with self.lock:
            runs, done = sum(self.runs), self.done
        return [counter("open_calls", self.open_calls), counter("close_calls", self.close_calls),
                counter("runs", runs), counter("done", done)]  # fmt: skip


class NoTables(AsyncPlugin):
    """Declares a table, but the host gives tables only to parsing and extracting plugins"""

    name = "sdknotables"
    version = "0.1.0"
    async_events = ["tick"]
    threads = TableAccess("threads", key=int, fields=Thread)

    def run_async(self, emit: Emitter, task: BackgroundTask) -> None:
        pass


class Missing(ParsePlugin):
    """Declares a table the host does not have"""

    name = "sdkmissing"
    version = "0.1.0"
    nope = TableAccess("nope", key=int)
    maybe = TableAccess("maybe", key=int, optional=True)

    def parse(self, event: Event) -> None:
        pass
