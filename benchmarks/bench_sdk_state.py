"""The SDK's stateful capabilities: what a Python parsing plugin that updates a table entry per
event costs, in-process and built into a library, against the same run without it and against
the C test parser; and how many async events per second SDK background tasks inject.

Parsing cases, each the same stream as ``no parser`` (a C source, one extracted field per event,
so that the stream is consumed as a filter would consume it):

- ``C parser``: tests/plugins/parse_plugin.c (``NO_EXTRACT``), get / read / write / release of a
  ``threads`` entry per event: the reference;
- ``SDK noop``: a ParsePlugin whose ``parse`` only counts (the price of the call);
- ``SDK threads entry``: ``entry = self.threads.get(key); entry.count += 1`` (a dynamic field of
  the host's table: get, read, write and release through the table API);
- ``SDK own table``: ``self.counts[key].n += 1`` in a table the plugin owns (no host call);
- each SDK case in-process and built (``falcoplug build``, loaded back through the C adapter).

Parsers only (no extractor reads their state): the inspector parses a whole batch, then hands it
out. ``--one-by-one`` adds the same plugins extracting a field too, which makes the inspector hand
out events one at a time (libsinsp's exact order).

Async: SDK tasks emit as fast as they can (ts None) into a live syscall stream, in-process and
built, against the C test plugin (tests/plugins/async_plugin.c); the rate is events delivered by the
inspector per second, from the open to the last one.

C host: the same built libraries (and the C plugins) driven by a plain C host with C table vtables
(tests/sdk_plugins/state_host.c), as libsinsp drives a plugin: what a parse call and each table
operation cost without falcoplug's Python host in the way, and the async events per second an
SDK library delivers to a C handler.

    python benchmarks/bench_sdk_state.py [--events N] [--async-events N] [--runs R] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from _common import best_of, cbuild, machine, timed

from falcoplug.events import PPME_ASYNCEVENT_E
from falcoplug.framework import Inspector
from falcoplug.sdk import (
    AsyncPlugin,
    BackgroundTask,
    Dynamic,
    Emitter,
    Event,
    ExtractPlugin,
    OwnedTable,
    ParsePlugin,
    TableAccess,
    TableEntry,
    TableFields,
    UInt64,
    field,
    field_named,
)

HERE = Path(__file__).resolve()


class Thread(TableFields):
    count: Dynamic[UInt64] = field_named("bench.count")


class Count(TableEntry):
    n: UInt64 = 0


class SdkParser(ParsePlugin):
    """Counts events per thread: in the threads table, or in a table of its own (config "own"),
    or only in a counter (config "noop")."""

    name = "sdkbenchparse"
    version = "0.1.0"
    threads = TableAccess("threads", key=int, fields=Thread)
    counts = OwnedTable("bench.counts", key=int, entry=Count)

    def init(self, config: str) -> None:
        self.total = 0
        self.mode = config or "threads"
        if self.mode == "noop":
            self.parse = self.parse_noop  # type: ignore[method-assign]
        elif self.mode == "own":
            self.parse = self.parse_own  # type: ignore[method-assign]

    def parse(self, event: Event) -> None:
        tid = event.tid
        key = tid if tid != -1 else 1
        entry = self.threads.get(key)
        if entry is None:
            entry = self.threads.add(key)
        entry.count += 1

    def parse_noop(self, event: Event) -> None:
        self.total += 1

    def parse_own(self, event: Event) -> None:
        tid = event.tid
        key = tid if tid != -1 else 1
        entry = self.counts.get(key)
        if entry is None:
            entry = self.counts.add(key)
        entry.n += 1


class SdkParseExtract(SdkParser, ExtractPlugin):
    """The same, and a field that reads the count back (events are then handed out one by one)."""

    name = "sdkbenchparsex"

    @field("sdkbench.count")
    def count(self, event: Event) -> int:
        """The count of this event's thread."""
        return self.total


class SdkTicker(AsyncPlugin):
    """Threads that send async events as fast as they can (config "threads,count")."""

    name = "sdkbenchasync"
    version = "0.1.0"
    async_events = ["tick"]

    def init(self, config: str) -> None:
        threads, count = config.split(",")
        self.threads, self.count = int(threads), int(count)
        self.tasks: list[BackgroundTask] = []

    def start_async(self, emit: Emitter) -> None:
        self.tasks = [BackgroundTask(self.work, emit).start() for _ in range(self.threads)]

    def work(self, emit: Emitter) -> None:
        for _ in range(self.count):
            emit("tick", b"x")

    def stop_async(self) -> None:
        for task in self.tasks:
            task.stop()


def run_parse(src: str, name: str, params: str, fld: str, parser: str | None, config: str) -> tuple[int, float]:
    host = Inspector()
    host.load(src, "")
    if parser is not None:
        host.load(parser, config)
    host.open(name, params)
    plans: dict[str | None, Any] = {}

    def loop() -> int:
        n = 0
        for batch in host.batches():
            plan = plans.get(batch.source)
            if plan is None:
                plan = plans[batch.source] = host.plan(batch.source, [fld])
            plan.columns(batch)
            n += len(batch)
        return n

    try:
        return timed(loop)
    finally:
        host.destroy()


def run_async(sys_lib: str, async_lib: str, config: str, total: int) -> tuple[int, float]:
    host = Inspector(async_queue_size=total)
    host.load(sys_lib, "")
    host.load(async_lib, config)
    timer = threading.Timer(120, host.interrupt)

    def loop() -> int:
        host.open("testsys", "count=1,forever=1")
        seen = 0
        for batch in host.batches():
            data = batch.events.data
            for off in batch.events.offsets:
                seen += data[off + 20] | (data[off + 21] << 8) == PPME_ASYNCEVENT_E
            if seen >= total:
                host.interrupt()
        return seen

    timer.start()
    try:
        return timed(loop)
    finally:
        timer.cancel()
        host.destroy()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--async-events", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--one-by-one", action="store_true", help="also the parsers that extract a field")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from falcoplug.export import build_library

    out = Path(tempfile.mkdtemp(prefix="falcoplug-bench-"))
    ref = f"{HERE}:SdkParser"
    sdk = {"in-process": ref, "built": str(build_library(ref, out / "libsdkbenchparse.so"))}
    ref_x = f"{HERE}:SdkParseExtract"
    sdk_x = {"in-process": ref_x, "built": str(build_library(ref_x, out / "libsdkbenchparsex.so"))}
    ref_a = f"{HERE}:SdkTicker"
    sdk_a = {"in-process": ref_a, "built": str(build_library(ref_a, out / "libsdkbenchasync.so"))}
    src = str(cbuild.build_plugin("source_plugin"))
    sysgen = str(cbuild.build_plugin("sysgen_plugin"))
    c_parse = str(cbuild.build_plugin("parse_plugin", {"NO_EXTRACT": None}))
    c_async = str(cbuild.build_plugin("async_plugin"))

    sources = {
        "plugin source": (src, "testsrc", f"count={args.events},batch=4096", "test.value"),
        "syscall source": (sysgen, "testsys", f"count={args.events},batch=4096,tids=1:2:3:4", "evt.num"),
    }
    variants: list[tuple[str, str | None, str]] = [("no parser", None, ""), ("C parser, threads entry", c_parse, "")]
    for how, lib in sdk.items():
        variants += [(f"SDK {how}, noop", lib, "noop"), (f"SDK {how}, threads entry", lib, "threads"),
                     (f"SDK {how}, own table", lib, "own")]  # fmt: skip
    if args.one_by_one:
        for how, lib in sdk_x.items():
            variants.append((f"SDK {how} + field, threads entry (one by one)", lib, "threads"))
    rows = []
    for source, (lib, name, params, fld) in sources.items():
        base = None
        for label, parser, config in variants:
            n, secs = best_of(args.runs, lambda: run_parse(lib, name, params, fld, parser, config))
            eps = n / secs
            base = base or eps
            rows.append({"case": f"{source}: {label}", "events": n, "eps": eps, "ns_per_event": 1e9 / eps,
                         "vs_no_parser": eps / base})  # fmt: skip
    for threads in (1, 4):
        per = args.async_events // threads
        total = per * threads
        cases = [("C", c_async, f"threads={threads},count={per},ts=none")]
        cases += [(f"SDK {how}", lib, f"{threads},{per}") for how, lib in sdk_a.items()]
        for label, lib, config in cases:
            n, secs = best_of(args.runs, lambda: run_async(sysgen, lib, config, total))
            rows.append({"case": f"async, {threads} thread(s): {label}", "events": n, "eps": n / secs,
                         "ns_per_event": 1e9 * secs / max(n, 1), "vs_no_parser": None})  # fmt: skip

    state_host = str(cbuild.build_executable(cbuild.TESTS_DIR / "sdk_plugins" / "state_host.c", "state_host",
                                             libs=("-ldl", "-lpthread")))  # fmt: skip
    n = args.events
    c_cases = [
        ("parse", "C parser, noop", c_parse, "noop=1"), ("parse", "C parser, threads entry", c_parse, ""),
        ("parse", "SDK built, noop", sdk["built"], "noop"), ("parse", "SDK built, threads entry", sdk["built"], "threads"),
        ("parse", "SDK built, own table", sdk["built"], "own"),
        ("async", "C, 1 thread", c_async, f"threads=1,count={n},ts=none"),
        ("async", "SDK built, 1 thread", sdk_a["built"], f"1,{n}"),
        ("async", "SDK built, 4 threads", sdk_a["built"], f"4,{n // 4}"),
    ]  # fmt: skip
    for kind, label, lib, config in c_cases:
        runs = []
        for _ in range(args.runs):
            out = subprocess.run([state_host, kind, lib, config, str(n)], check=True, capture_output=True, text=True)
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        if kind == "parse":
            best = min(r["ns_per_event"] for r in runs)
            rows.append({"case": f"C host, parse: {label}", "events": n, "eps": 1e9 / best, "ns_per_event": best,
                         "vs_no_parser": None})  # fmt: skip
        else:
            best = max(r["events_per_sec"] for r in runs)
            rows.append({"case": f"C host, async: {label}", "events": runs[0]["events"], "eps": best,
                         "ns_per_event": 1e9 / best, "vs_no_parser": None})  # fmt: skip

    if args.json:
        print(json.dumps({"machine": machine(), "rows": rows}, indent=2))
        return
    print(f"# {machine()}")
    print(f"{'case':<62} {'events':>9} {'events/s':>12} {'ns/event':>9} {'vs no parser':>13}")
    for r in rows:
        ratio = "" if r["vs_no_parser"] is None else f"{r['vs_no_parser']:.2f}x"
        print(f"{r['case']:<62} {r['events']:>9} {r['eps']:>12,.0f} {r['ns_per_event']:>9,.0f} {ratio:>13}")


if __name__ == "__main__":
    main()
