"""Syscall events decoded with the event table: falcoplug vs libsinsp on the same capture.

A capture of syscall exit events (openat, read, kill, chmod, in turn) is written with falcoplug's
writer; then ``falcoplug run -R`` and libsinsp (``sinsp-bench -r``, when ../shared/peers is there)
read it with the same filter over decoded fields, side by side. Prints events/s for each.

    python benchmarks/bench_syscall.py [N]
"""

from __future__ import annotations

import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner

from falcoplug.capture.writer import write_events
from falcoplug.cli.main import main
from falcoplug.events import encode_event

PEERS = Path(__file__).resolve().parents[2] / "shared" / "peers"
FILTER = "evt.type in (openat, chmod) and evt.failed = true and evt.arg.name startswith /etc"
TEMPLATES = [
    (307, [struct.pack("<qq", -13, -100)[:8], struct.pack("<q", -100), b"/etc/shadow\0", struct.pack("<III", 2, 0o644, 0)[:4],
           struct.pack("<I", 0o644), struct.pack("<I", 0), struct.pack("<Q", 0)]),
    (7, [struct.pack("<q", 3), b"abc", struct.pack("<q", 4), struct.pack("<I", 3)]),
    (129, [struct.pack("<q", 0), struct.pack("<q", 1234), bytes([9])]),
    (315, [struct.pack("<q", -2), b"/etc/passwd\0", struct.pack("<I", 0o100644)]),
]  # fmt: skip


def main_bench(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "syscall.scap"
        events = (encode_event(t, p, ts=1_700_000_000_000_000_000 + i, tid=42)
                  for i, (t, p) in ((i, TEMPLATES[i % len(TEMPLATES)]) for i in range(n)))  # fmt: skip
        write_events(path, list(events))
        start = time.perf_counter()
        result = CliRunner().invoke(main, ["run", "-R", str(path), "-f", FILTER, "-q"])
        elapsed = time.perf_counter() - start
        assert result.exit_code == 0, result.output
        print(f"falcoplug run -R -f: {n / elapsed:,.0f} events/s ({elapsed:.2f} s)")
        bench = PEERS / "bin" / "sinsp-bench"
        if bench.exists():
            done = subprocess.run([str(bench), "-r", str(path), "-f", FILTER], capture_output=True, text=True)
            print(f"sinsp-bench -r -f: {done.stdout.strip()}")


if __name__ == "__main__":
    main_bench(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
