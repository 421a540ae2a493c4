"""State and async throughput: what a parsing plugin that updates a table entry per event costs,
and how many async events per second background threads can inject into a live stream.

Parsing cases, each against the same run without the parser (C source plugin, one extracted field
per event so that the stream is consumed as a filter would consume it):

- ``plugin source``: testsrc (its own source); the parser (tests/plugins/parse_plugin.c) gets an
  entry of the host's ``threads`` table (key fixed, plugin events have no thread), reads a
  dynamic field, writes it + 1 and releases the entry: three host table calls per event;
- ``syscall source``: testsys (ID 0, four thread ids), where the host also keeps a ``threads``
  entry per thread; the parser counts per thread;
- a parser alone (built with NO_EXTRACT): no extractor can see its state, so the inspector parses
  a whole batch, then hands it out (``auto`` mode picks this); with ``noop=1`` it only counts (the
  price of the parse call itself);
- the same plugin also extracting (as parse_plugin.c is by default): an extractor may read parse
  state, so ``auto`` hands events out one at a time, each right after it was parsed (libsinsp's
  exact order); every downstream step then works on one-event batches.

Async: testasync's threads send events as fast as they can (ts -1) into a live syscall stream; the
rate is events delivered by the inspector per second, from the open to the last one.

With ``--vs-libsinsp N``, instead: libsinsp's own test plugins from ``../shared/peers``,
``libtest_syscall_source`` + ``libtest_syscall_parse`` (one event per ``next_batch``; the parser
counts events in a table it owns and, per thread, in a field it adds to ``threads``), N events,
side by side with ``sinsp-bench`` (best of R, interleaved): the event loop in-process against
sinsp-bench's loop, and ``falcoplug run -q`` (process start included) against sinsp-bench's
process.

    python benchmarks/bench_state.py [--events N] [--async-events N] [--runs R] [--json] [--async-only]
    python benchmarks/bench_state.py --vs-libsinsp 1000000 [--runs R]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

from _common import best_of, cbuild, machine, timed

from falcoplug.abi.ffi import fastpath
from falcoplug.framework import Inspector


def run_parse(src: str, name: str, params: str, field: str, parse: str | None, config: str, mode: str) -> tuple[int, float]:
    host = Inspector(parse_mode=mode)
    host.load(src, "")
    if parse is not None:
        host.load(parse, config)
    host.open(name, params)
    plans: dict[str | None, object] = {}

    def loop() -> int:
        n = 0
        for batch in host.batches():
            plan = plans.get(batch.source)
            if plan is None:
                plan = plans[batch.source] = host.plan(batch.source, [field])
            plan.columns(batch)  # type: ignore[attr-defined]
            n += len(batch)
        return n

    try:
        return timed(loop)
    finally:
        host.destroy()


def run_async(sys_lib: str, async_lib: str, threads: int, per_thread: int) -> tuple[int, float]:
    total = threads * per_thread
    host = Inspector(async_queue_size=total)
    host.load(sys_lib, "")
    host.load(async_lib, f"threads={threads},count={per_thread},ts=none")
    timer = threading.Timer(120, host.interrupt)

    def loop() -> int:
        host.open("testsys", "count=1,forever=1")
        delivered = 0
        for batch in host.batches():  # testsys sends one event: every other one is async
            delivered += len(batch)
            if delivered > total:
                host.interrupt()
        return delivered - 1

    timer.start()
    try:
        n, secs = timed(loop)
        queued = {m.name: m.value for m in host.metrics()}["falcoplug.n_async_evts_queued"]
        assert n == total == queued, (n, total, queued)
        return n, secs
    finally:
        timer.cancel()
        host.destroy()


PEERS = Path(__file__).resolve().parent.parent.parent / "shared" / "peers"
LIBS_TEST = PEERS / "plugins" / "libs-test"


def vs_libsinsp(events: int, runs: int) -> None:
    source, parse = LIBS_TEST / "libtest_syscall_source.so", LIBS_TEST / "libtest_syscall_parse.so"
    specs = ["-p", f"{source}||{events}", "-p", str(parse)]

    def in_process() -> tuple[int, float]:
        host = Inspector()
        src = host.load(str(source), "")
        host.load(str(parse), "")
        host.open(src, str(events))
        try:
            return timed(lambda: sum(len(batch) for batch in host.batches()))
        finally:
            host.destroy()

    def sinsp() -> tuple[float, float]:
        t0 = time.perf_counter()
        out = subprocess.run([str(PEERS / "bin" / "sinsp-bench"), *specs], capture_output=True, text=True, check=True)
        found = re.search(r"seconds=([0-9.]+)", out.stdout)
        assert found, out.stdout
        return float(found.group(1)), time.perf_counter() - t0

    def cli() -> float:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "falcoplug", "run", "-q", *specs], check=True, capture_output=True)
        return time.perf_counter() - t0

    loops, procs, ours, clis = [], [], [], []
    for _ in range(runs):  # interleaved, so that both sides see the same machine load
        loop, proc = sinsp()
        loops.append(loop)
        procs.append(proc)
        ours.append(in_process()[1])
        clis.append(cli())
    print(f"# {machine()}; compiled fast path: {fastpath is not None}; best of {runs}, {events} events")
    print(f"{'run':<44} {'falcoplug':>11} {'libsinsp':>10} {'ratio':>7}")
    print(f"{'event loop (in-process / sinsp-bench loop)':<44} {min(ours):>10.3f}s {min(loops):>9.3f}s "
          f"{min(loops) / min(ours):>7.2f}")  # fmt: skip
    print(f"{'whole process (run -q / sinsp-bench)':<44} {min(clis):>10.3f}s {min(procs):>9.3f}s "
          f"{min(procs) / min(clis):>7.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--async-events", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--vs-libsinsp", type=int, metavar="N", help="compare with libsinsp (../shared/peers)")
    parser.add_argument("--async-only", action="store_true", help="only the async cases")
    args = parser.parse_args()
    if args.vs_libsinsp:
        vs_libsinsp(args.vs_libsinsp, args.runs)
        return
    src = str(cbuild.build_plugin("source_plugin"))
    sysgen = str(cbuild.build_plugin("sysgen_plugin"))
    parse = str(cbuild.build_plugin("parse_plugin"))
    parse_only = str(cbuild.build_plugin("parse_plugin", {"NO_EXTRACT": None}))
    async_lib = str(cbuild.build_plugin("async_plugin"))

    sources = {
        "plugin source": (src, "testsrc", f"count={args.events},batch=4096", "test.value"),
        "syscall source": (sysgen, "testsys", f"count={args.events},batch=4096,tids=1:2:3:4", "evt.num"),
    }
    variants = [
        ("no parser", None, "", "auto"),
        ("parser only, noop (batch)", parse_only, "noop=1", "auto"),
        ("parser only, table update (batch)", parse_only, "", "auto"),
        ("parser+extractor, noop (one by one)", parse, "noop=1", "auto"),
        ("parser+extractor, table update (one by one)", parse, "", "auto"),
    ]
    rows = []
    for source, (lib, name, params, field) in ({} if args.async_only else sources).items():
        base = None
        for label, plib, config, mode in variants:
            n, secs = best_of(args.runs, lambda: run_parse(lib, name, params, field, plib, config, mode))
            eps = n / secs
            base = base or eps
            rows.append({"case": f"{source}: {label}", "events": n, "eps": eps, "vs_no_parser": eps / base})
    for threads in (1, 4):
        per = args.async_events // threads
        n, secs = best_of(args.runs, lambda: run_async(sysgen, async_lib, threads, per))
        rows.append({"case": f"async: {threads} thread(s)", "events": n, "eps": n / secs, "vs_no_parser": None})

    if args.json:
        print(json.dumps({"machine": machine(), "fastpath": fastpath is not None, "rows": rows}, indent=2))
        return
    print(f"# {machine()}; compiled fast path: {fastpath is not None}")
    print(f"{'case':<52} {'events':>9} {'events/s':>12} {'vs no parser':>13}")
    for r in rows:
        ratio = "" if r["vs_no_parser"] is None else f"{r['vs_no_parser']:.2f}x"
        print(f"{r['case']:<52} {r['events']:>9} {r['eps']:>12,.0f} {ratio:>13}")


if __name__ == "__main__":
    main()
