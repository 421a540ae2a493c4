"""Shared pieces of the benchmarks: building the C test plugins and host, timing, machine facts."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import cbuild  # noqa: E402  (the tests' gcc helper)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def best_of(runs: int, fn: Callable[[], tuple[int, float]]) -> tuple[int, float]:
    """Run ``fn`` (returning events, seconds) several times; keep the fastest run."""
    results = [fn() for _ in range(runs)]
    return min(results, key=lambda r: r[1] / max(r[0], 1))


def c_host_bench(lib: Path, config: str, params: str, fields: list[str], extra: list[tuple[Path, str]] = ()) -> dict:
    host = cbuild.build_c_host()
    cmd = [str(host), "bench"]
    for ext_lib, ext_cfg in extra:
        cmd += ["-x", str(ext_lib), ext_cfg]
    cmd += [str(lib), config, params, *fields]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def timed(fn: Callable[[], int]) -> tuple[int, float]:
    t0 = time.perf_counter()
    n = fn()
    return n, time.perf_counter() - t0
