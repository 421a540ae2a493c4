"""The compiled event loop: host batches from plugins that return one event per next_batch, the
order of delivery around errors, a broken nevts, and signals while a plugin is blocked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from cbuild import build_plugin

from falcoplug.abi.ffi import fastpath
from falcoplug.errors import EventError, PluginError
from falcoplug.framework import Inspector

CORES = [pytest.param({"FALCOPLUG_NO_FASTPATH": "0"}, id="compiled"), pytest.param({"FALCOPLUG_NO_FASTPATH": "1"}, id="abi")]


@pytest.fixture(scope="module")
def loop_lib() -> str:
    return str(build_plugin("loop_plugin"))


def open_loop(lib: str, params: str) -> Inspector:
    host = Inspector()
    host.load(lib, "")
    host.open("looptest", params)
    return host


def run(lib: str, params: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "falcoplug", "run", "-p", f"{lib}||{params}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})})


@pytest.mark.skipif(fastpath is None, reason="host batches are gathered by the compiled core")
def test_one_event_per_next_batch_fills_host_batches(loop_lib):
    host = open_loop(loop_lib, "count=20000,batch=1")
    plan = host.plan("looptest", ["loop.index", "evt.num"])
    sizes, rows = [], []
    for batch in host.batches():
        sizes.append(len(batch))
        rows += [row for _, row in plan.rows(batch)]
    assert sizes[0] > 1000 and sum(sizes) == 20000
    assert rows == [[i, i + 1] for i in range(20000)]
    host.destroy()


def test_events_before_a_failure_are_delivered_first(loop_lib):
    host = open_loop(loop_lib, "count=100,batch=1,fail_at=5")
    seen = []
    with pytest.raises(PluginError, match="failed at 5"):
        for event in host.events():
            seen.append(event.num)
    assert seen == [1, 2, 3, 4, 5]
    host.destroy()


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


@pytest.mark.parametrize("star", ["*", ""], ids=["na", "require_all"])
def test_batch_rendering_is_the_per_event_rendering(star: str):
    """A format of plain fields is rendered a batch at a time from columns: the same text as the
    per-event path (taken here with a condition that keeps every event); without a leading ``*``,
    events with a missing value are left out on both paths."""
    from falcoplug.pipeline import Pipeline

    fmt = star + ("{%evt.num} %ext.u64 %ext.str %8ext.str %ext.bool %ext.ip4 %ext.ip6 %ext.net %ext.list.u64 "
                  "%ext.list.str %ext.list.ip %ext.odd %ext.fail %ext.key[k] %3ext.idx[2] %evt.source")  # fmt: skip
    texts = []
    for condition in (None, "evt.num > 0"):
        host = Inspector()
        host.load(str(build_plugin("source_plugin")), "{}")
        host.load(str(build_plugin("extractor_plugin")), "")
        host.open("testsrc", "count=40,batch=7")
        pipeline = Pipeline(host, output_format=fmt, condition=condition)
        pipeline.prepare()
        texts.append([line for batch in host.batches() for line in pipeline.lines(batch)])
        if condition is None:
            assert pipeline._state(None).render is not None  # the batch path was taken
        host.destroy()
    assert texts[0] == texts[1]
    if star:
        assert len(texts[0]) == 40
        assert texts[0][5].startswith("{6} 10 v5 v5       false 10.0.0.5 ")
    else:  # only events where ext.odd and ext.fail both have a value
        assert 0 < len(texts[0]) < 40 and not any("<NA>" in line for line in texts[0])


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


@pytest.mark.parametrize("env", CORES)
def test_failing_extract_fields_calls_are_reported(env):
    """ext.fail's call returns FAILURE for every 5th event: <NA>, one warning, counted; fatal with --strict."""
    src, ext = str(build_plugin("source_plugin")), str(build_plugin("extractor_plugin"))
    base = [sys.executable, "-m", "falcoplug", "run", "-p", f"{src}|{{}}|count=20", "-p", ext, "-o", "*%evt.num %ext.fail"]
    envs = {**os.environ, **env}
    result = subprocess.run([*base, "--summary"], capture_output=True, text=True, timeout=60, env=envs)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:2] == ["1 <NA>", "2 ok1"]
    assert "Extraction failures: 4" in result.stderr
    assert result.stderr.count("extraction of field ext.fail failed: extract_fields returned FAILURE") == 1
    strict = subprocess.run([*base, "--strict"], capture_output=True, text=True, timeout=60, env=envs)
    assert strict.returncode == 1 and "ext.fail failed" in strict.stderr


def test_max_events_with_a_filter_counts_matching_events(loop_lib):
    """As libsinsp's -n: with -f, N events that match (peer-diffs #3)."""
    result = run(loop_lib, "count=200,batch=7", "-f", "loop.index > 50", "-n", "3", "-o", "%loop.index", "--summary")
    assert result.stdout.split() == ["51", "52", "53"]
    assert "Events matching the filter: 3" in result.stderr


@pytest.mark.skipif(fastpath is None, reason="the compiled text output needs the compiled core")
@pytest.mark.parametrize("star", ["*", ""], ids=["na", "require_all"])
def test_compiled_text_is_the_python_text(star: str):
    """The compiled core's text of a batch equals the Python renderer's lines: numbers, strings,
    booleans, times, <NA>, failing calls, widths that pad and cut (counting characters), braces;
    without a leading ``*``, no line for an event with a missing value (as libsinsp)."""
    from falcoplug.pipeline import Pipeline

    fmt = star + ("{%evt.num} %ext.u64 %ext.str %8ext.str %2ext.str %ext.bool %ext.rel %ext.abs %ext.odd %ext.fail "
           "%ext.key[é€] %4ext.key[é€] %3ext.idx[2] %5evt.num|")  # fmt: skip
    host = Inspector()
    host.load(str(build_plugin("source_plugin")), "{}")
    host.load(str(build_plugin("extractor_plugin")), "")
    host.open("testsrc", "count=40,batch=7")
    compiled, python = Pipeline(host, output_format=fmt), Pipeline(host, output_format=fmt)
    compiled.prepare()
    python.prepare()
    texts, lines = [], []
    for batch in host.batches():
        texts.append(compiled.text(batch))
        lines += python.lines(batch)
    host.destroy()
    assert None not in texts
    assert "".join(texts) == "".join(line + "\n" for line in lines)
    if star:
        assert len(lines) == 40
        assert lines[10].startswith("{11} 20 v10 v10      v1 false 10000 1700000000000000010 <NA> <NA> é€=10 é€=1 12  11   |")
    else:  # only events where ext.odd and ext.fail both have a value
        assert 0 < len(lines) < 40 and not any("<NA>" in line for line in lines)
