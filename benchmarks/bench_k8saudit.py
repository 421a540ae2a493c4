"""falcoplug's main job, measured: the bundled k8saudit + json plugins and the official Falco rules
for Kubernetes audit events over a large audit log (the bundled samples repeated), in-process and
as built ``.so`` files loaded through the C adapter.

    python benchmarks/bench_k8saudit.py [--events 200000] [--runs 3] [--output benchmarks/RESULTS_k8saudit.md]

The log is the 51 sample audit events repeated, each copy with its own auditID (so no two events
are the same text), written as JSON lines to a temporary file. Cases, for each way of running the
plugins:

* sourcing only: the k8saudit source reads, validates and timestamps every event;
* two-field filter: ``ka.verb=create and ka.target.resource=pods`` (the Go plugins in libsinsp do
  8,500 to 18,000 events/s with such a filter, 25,000 events/s sourcing only);
* official rules, matching: every event goes through the whole ``k8s_audit_rules.yaml`` (48 rules),
  alerts counted, not formatted;
* official rules, alerts: as ``falcoplug run -r`` does, each alert formatted as Falco's text line.
  About 9 in 10 sample events raise an alert, so this case measures alert formatting as much as
  the rules.

Each figure is the best of ``--runs`` runs; MB/s is the size of the log file over the run time.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import machine

from falcoplug.export import build_library
from falcoplug.framework import Inspector
from falcoplug.pipeline import Pipeline, Rules

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "falcoplug" / "plugins" / "data"
RULES = DATA / "rules" / "k8s_audit_rules.yaml"
FILTER = "ka.verb=create and ka.target.resource=pods"


def make_log(path: Path, events: int, first_ns: int | None = None) -> int:
    """Write the samples repeated until ``events`` audit events; returns the number written. With
    ``first_ns``, the events are given increasing times from there (one per millisecond), as a
    real log's are; otherwise they keep the samples' own."""
    lines = []
    for sample in sorted((DATA / "k8s_audit").glob("*.json")):
        for line in sample.read_bytes().splitlines():
            if line.strip() and b'"auditID"' in line:
                lines.append(line)
    audit_id = re.compile(rb'"auditID":"([^"]*)"')
    stage_time = re.compile(rb'"stageTimestamp":"[^"]*"')
    written = 0
    with path.open("wb") as out:
        copy = 0
        while written < events:
            for line in lines:
                line = audit_id.sub(lambda m: b'"auditID":"%s-%07d"' % (m.group(1)[:28], copy), line, count=1)
                if first_ns is not None:
                    line = stage_time.sub(_stamp(first_ns + written * 1_000_000), line, count=1)
                out.write(line)
                out.write(b"\n")
                written += 1
            copy += 1
    return written


def _stamp(ns: int) -> bytes:
    seconds, rest = divmod(ns, 1_000_000_000)
    return b'"stageTimestamp":"%s.%06dZ"' % (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)).encode(), rest // 1000)


def host_for(k8saudit: str, json_lib: str, log: Path) -> Inspector:
    host = Inspector()
    host.load(k8saudit)
    host.load(json_lib)
    host.open("k8saudit", str(log))
    return host


def case_source(k8saudit: str, json_lib: str, log: Path) -> tuple[int, int, float]:
    host = host_for(k8saudit, json_lib, log)
    start = time.perf_counter()
    n = sum(len(batch) for batch in host.batches())
    seconds = time.perf_counter() - start
    host.destroy()
    return n, 0, seconds


def case_filter(k8saudit: str, json_lib: str, log: Path) -> tuple[int, int, float]:
    host = host_for(k8saudit, json_lib, log)
    pipeline = Pipeline(host, condition=FILTER, output_format="%evt.num")
    start = time.perf_counter()
    n = kept = 0
    for batch in host.batches():
        n += len(batch)
        kept += sum(1 for _ in pipeline._matching(batch))
    seconds = time.perf_counter() - start
    host.destroy()
    return n, kept, seconds


def case_match(k8saudit: str, json_lib: str, log: Path) -> tuple[int, int, float]:
    host = host_for(k8saudit, json_lib, log)
    rules = Rules.load(host, [RULES])
    pipeline = Pipeline(host, rules=rules)
    engine = rules.engine
    assert engine is not None
    start = time.perf_counter()
    n = alerts = 0
    for batch in host.batches():
        n += len(batch)
        for values in pipeline._matching(batch):
            alerts += len(engine.match("k8s_audit", values))
    seconds = time.perf_counter() - start
    host.destroy()
    return n, alerts, seconds


def case_alerts(k8saudit: str, json_lib: str, log: Path) -> tuple[int, int, float]:
    host = host_for(k8saudit, json_lib, log)
    pipeline = Pipeline(host, rules=Rules.load(host, [RULES]))
    start = time.perf_counter()
    n = alerts = 0
    for batch in host.batches():
        n += len(batch)
        alerts += len(pipeline.lines(batch))
    seconds = time.perf_counter() - start
    host.destroy()
    return n, alerts, seconds


CASES: list[tuple[str, Callable[[str, str, Path], tuple[int, int, float]]]] = [
    ("sourcing only", case_source),
    (f"two-field filter (`{FILTER}`)", case_filter),
    ("official rules, matching (alerts counted)", case_match),
    ("official rules, alerts formatted (`falcoplug run -r`)", case_alerts),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--output", type=Path, help="write the results as markdown to this file")
    parser.add_argument("--no-built", action="store_true", help="skip the built .so libraries")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="falcoplug-bench-k8saudit-") as tmp:
        tmpdir = Path(tmp)
        log = tmpdir / "audit.log"
        n_events = make_log(log, args.events)
        size_mb = log.stat().st_size / 1e6
        print(f"# {n_events} events, {size_mb:.1f} MB ({machine()})", file=sys.stderr)
        ways = [("in-process", "k8saudit", "json")]
        if not args.no_built:
            k8s_lib = build_library("falcoplug.plugins.k8saudit", tmpdir / "libk8saudit.so")
            json_lib = build_library("falcoplug.plugins.json", tmpdir / "libjson.so")
            ways.append(("built .so (C adapter)", str(k8s_lib), str(json_lib)))
        results = []
        for way, k8s, js in ways:
            for label, case in CASES:
                best = None
                for _ in range(args.runs):
                    n, matched, seconds = case(k8s, js, log)
                    if best is None or seconds < best[2]:
                        best = (n, matched, seconds)
                assert best is not None
                n, matched, seconds = best
                row = {"way": way, "case": label, "events": n, "matched": matched, "seconds": seconds,
                       "events_per_s": n / seconds, "mb_per_s": size_mb / seconds}  # fmt: skip
                results.append(row)
                print(json.dumps(row), file=sys.stderr)

    lines = [
        "## k8saudit + json + the official k8s audit rules (`benchmarks/bench_k8saudit.py`)",
        "",
        f"{time.strftime('%Y-%m-%d')}, {machine()}. {n_events:,} audit events ({size_mb:.1f} MB of JSON lines:",
        "the 51 bundled sample events repeated, each copy with its own auditID), best of "
        f"{args.runs} runs.",
        "",
        "| plugins | case | events/s | MB/s | matched |",
        "|---|---|---:|---:|---:|",
    ]
    for r in results:
        lines.append(f"| {r['way']} | {r['case']} | {r['events_per_s']:,.0f} | {r['mb_per_s']:.1f} | {r['matched']:,} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.output:
        args.output.write_text(text)


if __name__ == "__main__":
    main()
