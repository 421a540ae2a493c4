"""Framework core throughput: a C source plugin driven by falcoplug vs the same plugin in a C loop.

Cases (the framework-core issue): (a) sourcing only, (b) sourcing plus one string field, (c) plus
three fields of one plugin. Each is run through falcoplug's inspector (batches, numbering, batch
extraction) and through the plain C host (tests/c_host/host.c) as the floor, in the same run.

    python benchmarks/bench_framework.py [--events N] [--batch B] [--json]
"""

from __future__ import annotations

import argparse
import json

from _common import best_of, c_host_bench, cbuild, machine, timed

from falcoplug.abi.ffi import fastpath
from falcoplug.framework import Inspector

CASES = {
    "a: sourcing only": [],
    "b: + 1 string field": ["test.str"],
    "c: + 3 fields": ["test.str", "test.value", "test.even"],
}


def run_falcoplug(lib: str, params: str, fields: list[str]) -> tuple[int, float]:
    host = Inspector()
    host.load(lib)
    host.open("testsrc", params)
    plan = host.plan("test", fields) if fields else None

    def loop() -> int:
        n = 0
        for batch in host.batches():
            if plan is not None:
                plan.columns(batch)
            n += len(batch)
        return n

    try:
        return timed(loop)
    finally:
        host.destroy()


def run_events(lib: str, params: str) -> tuple[int, float]:
    """The convenient path: one Event object per event, one field read through ``event[name]``."""
    host = Inspector()
    host.load(lib)
    host.open("testsrc", params)

    def loop() -> int:
        n = 0
        for event in host.events():
            event.num
            n += 1
        return n

    try:
        return timed(loop)
    finally:
        host.destroy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    lib = str(cbuild.build_plugin("source_plugin"))
    params = f"count={args.events},batch={args.batch}"
    rows = []
    for case, fields in CASES.items():
        n, secs = best_of(args.runs, lambda: run_falcoplug(lib, params, fields))
        c = max((c_host_bench(lib, "{}", params, fields) for _ in range(args.runs)), key=lambda r: r["events_per_sec"])
        rows.append({"case": case, "events": n, "falcoplug_eps": n / secs, "c_eps": c["events_per_sec"],
                     "ratio": c["events_per_sec"] / (n / secs)})  # fmt: skip
    n, secs = best_of(args.runs, lambda: run_events(lib, params))
    c = c_host_bench(lib, "{}", params, [])
    rows.append({"case": "d: Event objects", "events": n, "falcoplug_eps": n / secs, "c_eps": c["events_per_sec"],
                 "ratio": c["events_per_sec"] / (n / secs)})  # fmt: skip
    if args.json:
        print(json.dumps({"machine": machine(), "fastpath": fastpath is not None, "rows": rows}, indent=2))
        return
    print(f"machine: {machine()}; fast path: {'compiled' if fastpath is not None else 'ABI mode'}")
    print(f"{'case':24} {'events':>10} {'falcoplug ev/s':>16} {'C loop ev/s':>14} {'C/falcoplug':>12}")
    for r in rows:
        print(f"{r['case']:24} {r['events']:>10} {r['falcoplug_eps']:>16,.0f} {r['c_eps']:>14,.0f} {r['ratio']:>12.2f}")


if __name__ == "__main__":
    main()
