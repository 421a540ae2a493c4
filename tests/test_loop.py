"""The compiled event loop: host batches from plugins that return one event per next_batch, the
order of delivery around errors, rendering and extraction failures (misbehaving plugins:
tests/hostile/test_plugins_loop.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cbuild import build_plugin
from loop_support import CORES, open_loop, run

from falcoplug.abi.ffi import fastpath
from falcoplug.errors import PluginError
from falcoplug.framework import Inspector


@pytest.fixture(scope="module")
def loop_lib() -> str:
    return str(build_plugin("loop_plugin"))


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


def _quiet_cases() -> list[tuple[list[str], str, str, str]]:
    """(the run's plugins and condition, its -o format, its summary's failure line, its --strict error)."""
    src, ext = str(build_plugin("source_plugin")), str(build_plugin("extractor_plugin"))
    c_plugins = ["-p", f"{src}|{{}}|count=20", "-p", ext]
    kitchen = ["-p", f'{Path(__file__).parent / "sdk_plugins" / "kitchen.py"}|{{"count": 8}}|']
    c_case = ("*%evt.num %ext.fail", "Extraction failures: 4", "ext.fail failed")
    return [
        (c_plugins, *c_case),  # the compiled core's columns
        ([*c_plugins, "-f", "evt.num > 0"], *c_case),
        # an in-process plugin and a condition on its fields: event by event
        ([*kitchen, "-f", "kitchen.num >= 0"], "*%kitchen.num %kitchen.boom", "kitchen kitchen.boom (ValueError): 1", "boom at 3"),
    ]


@pytest.mark.parametrize("case", range(3), ids=["columns", "filtered", "python"])
def test_quiet_with_a_format_still_extracts_its_fields(case: int):
    """-q -o prints nothing yet extracts the format's fields (what they cost; with --strict, a check
    that every one extracts): a failing field is counted, and fatal with --strict; -q alone
    extracts nothing."""
    args, fmt, failures, error = _quiet_cases()[case]
    base = [sys.executable, "-m", "falcoplug", "run", *args, "-q"]
    quiet = subprocess.run([*base, "-o", fmt, "--summary"], capture_output=True, text=True, timeout=60)
    assert quiet.returncode == 0 and quiet.stdout == "", quiet.stderr
    assert failures in quiet.stderr
    strict = subprocess.run([*base, "-o", fmt, "--strict"], capture_output=True, text=True, timeout=60)
    assert strict.returncode == 1 and error in strict.stderr
    nothing = subprocess.run([*base, "--strict", "--summary"], capture_output=True, text=True, timeout=60)
    assert nothing.returncode == 0 and "Extraction failures" not in nothing.stderr, nothing.stderr


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
