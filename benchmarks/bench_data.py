"""Events and alerts as data, measured (issue: columnar API and Dask scale-out).

    python benchmarks/bench_data.py [--events 200000] [--files 16] [--runs 3] [--results benchmarks/RESULTS.md]

1. Arrow export: the bundled k8saudit + json plugins, 10 fields, over ``--events`` audit events
   (the samples repeated): ``falcoplug.data.read`` (record batches) against ``falcoplug run -q``
   with the same ``-o`` fields (extracted, nothing printed; the target's baseline) and against
   ``falcoplug run -o`` writing the lines to /dev/null, all
   as subprocesses measured side by side in one run (best of ``--runs``).
2. Scale-out: ``--files`` files of audit events with the official rules (a log cut in pieces:
   times increase through the files, as in hourly files): ``falcoplug run -r`` (one process)
   against ``falcoplug run -r --cluster local:2`` (cluster start included), one of each in turn
   (best of ``--runs``, and the speed-up of every pair), and the identity of the alerts of both.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from _common import machine
from bench_k8saudit import DATA, RULES, make_log

FIELDS = ["evt.num", "evt.rawtime", "ka.verb", "ka.user.name", "ka.target.resource", "ka.target.namespace",
          "ka.target.name", "ka.response.code", "ka.uri", "jevt.value[/stage]"]  # fmt: skip
PY = sys.executable
FIRST_NS = 1_764_547_200 * 10**9  # 2025-12-01T00:00:00Z: the archive's first event


RATIOS: dict[str, list[float]] = {}  # a cluster case's speed-up in each pair of runs
PEAK_MB: dict[str, float] = {}  # each case's peak RSS: its largest process (a cluster's parent or one of its workers)


@dataclass
class Done:
    seconds: float
    stderr: str
    alerts: list[bytes] | None  # digests of the alert lines (hostname aside), sorted


def timed(cmd: list[str], case: str, alerts: bool = False) -> Done:
    """``cmd`` run and timed, its output in a file (this process stays small: a child's peak RSS
    counts the memory of the process it was forked from)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        err.seek(0)
        stderr = err.read().decode()
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"failed: {' '.join(cmd)}\n{stderr[-2000:]}")
        out.seek(0)
        digests = sorted(map(_alert_digest, out)) if alerts else None
    PEAK_MB[case] = max(PEAK_MB.get(case, 0.0), usage.ru_maxrss / 1024)
    return Done(seconds, stderr, digests)


def _alert_digest(line: bytes) -> bytes:
    alert = json.loads(line)
    alert.pop("hostname", None)
    return hashlib.sha1(json.dumps(alert, sort_keys=True).encode()).digest()


ARROW_SCRIPT = """
import sys, falcoplug.data as fd
rows = 0
for batch in fd.read(["k8saudit", "json"], open=sys.argv[1], fields=sys.argv[2].split(";")):
    rows += batch.num_rows
print(rows)
"""


def arrow_case(log: Path, events: int, runs: int) -> dict[str, float]:
    fmt = "*" + " ".join("%" + f for f in FIELDS)  # "*": every event printed, every field extracted
    run = [PY, "-m", "falcoplug", "run", "-p", f"k8saudit||{log}", "-p", "json", "-o", fmt]
    cases = {
        "falcoplug.data.read (Arrow record batches)": [PY, "-c", ARROW_SCRIPT, str(log), ";".join(FIELDS)],
        "falcoplug run -q -o (same fields)": [*run, "-q"],
        "falcoplug run -o (same fields, lines to /dev/null)": run,
        "falcoplug run --out events.parquet (same fields)": [*run, "--out", str(log.with_suffix(".parquet"))],
    }
    best = {name: min(timed(cmd, name).seconds for _ in range(runs)) for name, cmd in cases.items()}
    return {name: events / seconds for name, seconds in best.items()}


def cluster_case(folder: Path, runs: int, workers: int) -> tuple[dict[str, float], bool, int]:
    base = [PY, "-m", "falcoplug", "run", "-p", f"k8saudit||{folder}", "-p", "json", "-r", str(RULES), "--json"]
    many = f"--cluster local:{workers}"
    # one run of each in turn, so that a noisy minute of the machine falls on both
    pairs = [(timed(base, "one process", alerts=True), timed([*base, "--cluster", f"local:{workers}"], many, alerts=True))
             for _ in range(runs)]  # fmt: skip
    single = min((one for one, _ in pairs), key=lambda d: d.seconds)
    cluster = min((spread for _, spread in pairs), key=lambda d: d.seconds)
    RATIOS[many] = sorted(one.seconds / spread.seconds for one, spread in pairs)
    events = int(single.stderr.split("Events processed: ")[1].split()[0])
    rates = {"one process": events / single.seconds, many: events / cluster.seconds}
    return rates, single.alerts == cluster.alerts, events


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--files", type=int, default=16)
    parser.add_argument("--per-file", type=int, default=12_500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--results", type=Path, default=None, help="append the figures to this Markdown file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "audit.jsonl"
        events = make_log(log, args.events)
        rates = arrow_case(log, events, args.runs)
        folder = Path(tmp) / "archive"
        folder.mkdir()
        written = 0  # the files of a log cut in pieces: times increase through them, as in hourly files
        for i in range(args.files):
            written += make_log(folder / f"audit-{i:02}.jsonl", args.per_file, first_ns=FIRST_NS + written * 1_000_000)
        scale, same, cluster_events = cluster_case(folder, args.runs, args.workers)
    base = rates["falcoplug run -q -o (same fields)"]
    same_work = rates["falcoplug run -o (same fields, lines to /dev/null)"]  # extracts the same fields, and formats and writes them
    lines = [f"### Events and alerts as data ({date.today()}, {machine()})", "",
             f"Arrow export, k8saudit + json, {len(FIELDS)} fields, {events:,} events (best of {args.runs}, subprocesses side by side):", "",
             "| run | events/s | vs `run -q` | vs `run -o` | peak RSS |", "|---|---:|---:|---:|---:|"]  # fmt: skip
    lines += [f"| {name} | {rate:,.0f} | {rate / base:.2f} | {rate / same_work:.2f} | {PEAK_MB[name]:,.0f} MB |"
              for name, rate in rates.items()]  # fmt: skip
    one = scale["one process"]
    lines += ["", f"Official k8s rules over {args.files} files ({cluster_events:,} events), alerts as JSON:", "",
              "| run | events/s | speed-up | peak RSS |", "|---|---:|---:|---:|"]  # fmt: skip
    lines += [f"| {name} | {rate:,.0f} | {rate / one:.2f}x | {PEAK_MB[name]:,.0f} MB |" for name, rate in scale.items()]
    lines += ["", "Speed-up in each pair of runs (one process, then the cluster): "
              + ", ".join(f"{name}: " + ", ".join(f"{r:.2f}x" for r in ratios) for name, ratios in RATIOS.items()) + ".",
              "", f"Alerts identical (as sets, hostname aside): {'yes' if same else 'NO'}.", ""]  # fmt: skip
    text = "\n".join(lines)
    print(text)
    if args.results is not None:
        with args.results.open("a") as out:
            out.write("\n" + text)


if __name__ == "__main__":
    main()
