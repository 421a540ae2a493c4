"""Throughput of the .scap reader and writer (falcoplug.capture).

    python benchmarks/bench_capture.py [--events N] [--payload BYTES] [--json]

Writes N plugin events with ``CaptureWriter.write_batch`` and reads them back with
``CaptureReader.batches()`` (the fast path) and by iterating ``Event`` objects, plain and gzip.
Prints events/s and MB/s (MB of uncompressed capture) for the best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path
import json
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial

from falcoplug.capture import CaptureReader, CaptureWriter
from falcoplug.events import EventBatch, encode_plugin_event


@dataclass
class Result:
    case: str
    events: int
    seconds: float
    capture_bytes: int
    file_bytes: int

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds

    @property
    def mb_per_s(self) -> float:
        return self.capture_bytes / self.seconds / 1e6


_VERBS = (b"get", b"list", b"watch", b"create", b"delete")


def make_payload(i: int, size: int, noise: bytes) -> bytes:
    """A JSON-like audit record: repetitive keys, varying values, so gzip ratios look like real logs."""
    head = b'{"n":%d,"verb":"%s","user":"user%d","uri":"/api/v1/namespaces/ns%d/pods/' % (
        i,
        _VERBS[i % len(_VERBS)],
        i % 97,
        i % 13,
    )
    start = (i * 104729) % (len(noise) - size)
    return (head + noise[start : start + size])[: max(size - 2, 0)] + b'"}'


def make_batches(n: int, payload: int, batch_size: int, plugin_id: int = 1) -> list[EventBatch]:
    """Plugin events with payloads of about ``payload`` bytes (sizes vary by +-25%)."""
    noise = random.Random(0).randbytes(1 << 16).hex().encode()
    batches: list[EventBatch] = []
    events: list[bytes] = []
    for i in range(n):
        size = payload + (i * 7919) % (payload // 2 + 1) - payload // 4
        body = make_payload(i, size, noise)
        events.append(encode_plugin_event(body, ts=1_700_000_000_000_000_000 + i, plugin_id=plugin_id))
        if len(events) == batch_size:
            batches.append(EventBatch.from_events(events))
            events = []
    if events:
        batches.append(EventBatch.from_events(events))
    return batches


def best_of(repeat: int, run: Callable[[], Result]) -> Result:
    return min((run() for _ in range(repeat)), key=lambda r: r.seconds)


def bench_write(path: str, batches: list[EventBatch], compress: bool, level: int) -> Result:
    start = time.perf_counter()
    with CaptureWriter(path, compress=compress, compresslevel=level) as writer:
        for batch in batches:
            writer.write_batch(batch)
    seconds = time.perf_counter() - start
    name = f"write_batch gzip-{level}" if compress else "write_batch plain"
    return Result(name, writer.events_written, seconds, writer.bytes_written, os.path.getsize(path))


def bench_read_batches(path: str, capture_bytes: int, label: str) -> Result:
    start = time.perf_counter()
    count = 0
    with CaptureReader(path) as reader:
        for batch in reader.batches():
            count += len(batch.offsets)
    seconds = time.perf_counter() - start
    return Result(f"batches() {label}", count, seconds, capture_bytes, os.path.getsize(path))


def bench_read_events(path: str, capture_bytes: int, label: str) -> Result:
    start = time.perf_counter()
    count = 0
    with CaptureReader(path) as reader:
        for _event in reader:
            count += 1
    seconds = time.perf_counter() - start
    return Result(f"iterate Events {label}", count, seconds, capture_bytes, os.path.getsize(path))


def bench_replay(path: str, capture_bytes: int, label: str, fields: list[str]) -> Result:
    """Replay through the inspector (sources mapped by the test source plugin, ID 999), extracting
    ``fields`` with the C test extractor plugin."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    import cbuild

    from falcoplug.framework import Inspector

    host = Inspector()
    host.load(str(cbuild.build_plugin("source_plugin")), "{}")
    host.load(str(cbuild.build_plugin("extractor_plugin")), "")
    start = time.perf_counter()
    count = 0
    host.open_capture(path)
    plan = None
    for batch in host.batches():
        if fields:
            plan = plan or host.plan(batch.source, fields)
            plan.columns(batch)
        count += len(batch)
    seconds = time.perf_counter() - start
    host.destroy()
    name = f"replay {label}" + (f" + {','.join(fields)}" if fields else "")
    return Result(name, count, seconds, capture_bytes, os.path.getsize(path))


def machine() -> dict[str, object]:
    return {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--payload", type=int, default=100, help="mean payload size in bytes")
    parser.add_argument("--batch-size", type=int, default=4096, help="events per batch given to write_batch")
    parser.add_argument("--gzip-level", type=int, default=6, help="zlib level (libscap uses 6)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the best is kept")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)

    batches = make_batches(args.events, args.payload, args.batch_size)
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        for compress in (False, True):
            label = "gzip" if compress else "plain"
            path = os.path.join(tmp, "bench.scap" + (".gz" if compress else ""))
            written = best_of(args.repeat, partial(bench_write, path, batches, compress, args.gzip_level))
            results.append(written)
            results.append(
                best_of(args.repeat, partial(bench_read_batches, path, written.capture_bytes, label))
            )
            results.append(
                best_of(args.repeat, partial(bench_read_events, path, written.capture_bytes, label))
            )
            if not compress:
                replay_path = os.path.join(tmp, "replay.scap")
                with CaptureWriter(replay_path) as writer:
                    for batch in make_batches(args.events, args.payload, args.batch_size, plugin_id=999):
                        writer.write_batch(batch)
                for fields in ([], ["ext.str"]):
                    results.append(best_of(args.repeat, partial(bench_replay, replay_path, written.capture_bytes, label, fields)))

    if args.json:
        rows = [asdict(r) | {"events_per_s": r.events_per_s, "mb_per_s": r.mb_per_s} for r in results]
        print(json.dumps({"machine": machine(), "args": vars(args), "results": rows}, indent=2))
        return 0
    print(f"{args.events} plugin events, ~{args.payload} B payloads, best of {args.repeat}; {machine()}")
    print(f"{'case':<24} {'events/s':>12} {'MB/s':>9} {'seconds':>9} {'file MB':>9}")
    for r in results:
        print(
            f"{r.case:<24} {r.events_per_s:>12,.0f} {r.mb_per_s:>9.1f} {r.seconds:>9.3f} {r.file_bytes / 1e6:>9.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
