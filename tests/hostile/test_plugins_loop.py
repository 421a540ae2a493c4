"""Plugins that misbehave in the compiled loop (issue 13, items 8, 10 and 13): a broken nevts gives
its reason, one signal ends a run blocked in extract_fields, and the summary counts what was printed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from cbuild import build_plugin
from loop_support import CORES, open_loop, run

from falcoplug.errors import EventError


@pytest.fixture(scope="module")
def loop_lib() -> str:
    return str(build_plugin("loop_plugin"))


@pytest.mark.parametrize("env", CORES)
def test_nevts_max_gives_the_reason(loop_lib, env):
    result = run(loop_lib, "bad_nevts=1", "-o", "%loop.index", env=env)
    assert result.returncode == 1
    assert "malformed plugin event produced by plugin: 'looptest' (event 2 of the batch is NULL)" in result.stderr
    if env["FALCOPLUG_NO_FASTPATH"] == "0":  # the compiled core hands out the events before the bad one
        assert result.stdout.split() == ["0", "1"]


def test_nevts_max_in_the_api(loop_lib):
    host = open_loop(loop_lib, "bad_nevts=1")
    with pytest.raises(EventError, match=r"event 2 of the batch is NULL"):
        list(host.events())
    host.destroy()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_one_signal_ends_a_run_blocked_in_extract_fields(loop_lib, signum, tmp_path):
    """loop.slow sleeps 300 ms per event (1000 events): one signal must end the run at once."""
    command = [sys.executable, "-m", "falcoplug", "run", "-p", f"{loop_lib}||count=1000,batch=1", "-o", "%loop.slow",
               "--summary"]  # fmt: skip
    mark = tmp_path / "extracting"
    env = {**os.environ, "LOOPTEST_MARK": str(mark)}
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 30
        while not mark.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.4)  # a few events into the extraction loop
        proc.send_signal(signum)
        start = time.monotonic()
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert time.monotonic() - start < 3.0
    assert proc.returncode == 0, err
    assert "Events processed:" in err


def test_summary_counts_what_was_printed(loop_lib):
    from falcoplug.pipeline import Stats

    stats = Stats()
    stats.events, stats.kept = 10, 10
    mark = stats.mark()
    stats.events, stats.kept, stats.alerts = 20, 15, 3
    stats.by_rule["r"] += 3
    stats.restore(mark)  # a batch interrupted before its lines were written
    assert (stats.events, stats.kept, stats.alerts, stats.by_rule["r"]) == (10, 10, 0, 0)
    result = run(loop_lib, "count=100,batch=3", "-q", "--summary")
    assert "Events processed: 100 " in result.stderr
    assert "Events matching the filter" not in result.stderr  # no -f: no such line
    result = run(loop_lib, "count=100,batch=3", "-q", "--summary", "-f", "loop.index < 10")
    assert "Events matching the filter: 10" in result.stderr
