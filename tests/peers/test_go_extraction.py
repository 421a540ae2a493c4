"""Go SDK plugins are loaded with their extraction called directly (``abi/golang.py``): the Go
runtime sees one CPU while it starts, every thread gets its CPU affinity back, and an
``extract_fields`` call after a pause costs a cgo call, not the wake-up of a sleeping worker."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

import peerhosts
import pytest

from falcoplug.abi.golang import is_go_library
from falcoplug.framework.inspector import Inspector

pytestmark = pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs Linux CPU affinity")


def _threads() -> set[int]:
    return {int(t) for t in os.listdir("/proc/self/task")}


def test_go_libraries_are_told_from_others() -> None:
    assert is_go_library(str(peerhosts.GO_JSON))
    assert is_go_library(str(peerhosts.GO_DUMMY))
    assert not is_go_library(str(peerhosts.C_DUMMY))
    assert not is_go_library(peerhosts.lib("libs-test/libtest_plugin_source.so"))
    assert not is_go_library("/nonexistent/libnothing.so")


def test_loading_a_go_plugin_leaves_every_thread_its_cpus() -> None:
    mask = os.sched_getaffinity(0)
    host = Inspector()
    try:
        host.register(str(peerhosts.GO_JSON))
        assert os.sched_getaffinity(0) == mask
        for tid in _threads():
            assert os.sched_getaffinity(tid) == mask, f"thread {tid} kept the loading CPU"
    finally:
        host.destroy()


# Run in a child so that the Go runtimes start in a process of their own, with the CPUs it is given.
_PAUSED_CALLS = """
import statistics, sys, time
from falcoplug.framework.inspector import Inspector
host = Inspector()
k8s = host.register(sys.argv[1]); k8s.init("")
host.register(sys.argv[2]).init("")
host.open(k8s, sys.argv[3])
batch = next(iter(host.batches()))
plan = host.plan(batch.source, ["jevt.value[/stage]"])
one = batch.head(1)
costs = []
for _ in range(15):
    time.sleep(0.003)  # longer than the 1 ms after which the SDK's worker starts sleeping 10 ms
    start = time.perf_counter()
    plan.columns(one)
    costs.append(time.perf_counter() - start)
print(statistics.median(costs))
"""


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="the Go SDK extracts directly on one CPU anyway")
def test_an_extraction_after_a_pause_costs_a_call_not_a_wake_up(tmp_path) -> None:
    log = tmp_path / "audit.jsonl"
    log.write_text((peerhosts.CAPTURES / "all_k8s_audit.jsonl").read_text())
    args = [str(peerhosts.PLUGINS / "go" / "libk8saudit.so"), str(peerhosts.GO_JSON), str(log)]
    done = subprocess.run([sys.executable, "-c", _PAUSED_CALLS, *args], capture_output=True, text=True,
                          timeout=peerhosts.TIMEOUT, check=True)  # fmt: skip
    median = float(done.stdout.split()[-1])
    # Direct calls take microseconds; the SDK's sleeping worker answers after up to 10 ms (5 on average).
    assert median < 0.002, f"median extract_fields call after a pause: {median * 1e3:.2f} ms"
