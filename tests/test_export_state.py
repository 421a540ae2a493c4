"""The stateful examples and test plugins built into libraries: exactly the symbols of their
capabilities, and the same results as in-process when falcoplug drives them through its C adapter;
a live run recorded and its replay give the same values (examples/dummymax.py, examples/threadstats.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cbuild import build_plugin
from click.testing import CliRunner

from falcoplug.capture import CaptureReader
from falcoplug.cli.main import main
from falcoplug.framework import Inspector
from falcoplug.sdk import describe, load_plugin_class

from sdk_plugins.support import EXAMPLES, SDK_PLUGINS, built, example, exported_symbols

STATEFUL = SDK_PLUGINS / "stateful.py"
FORMAT = "%dummy.value %dummymax.max %dummymax.window %dummymax.count %dummymax.is_max"


def invoke(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


@pytest.mark.parametrize("plugin", ["dummymax", "threadstats", "Counter", "Probe", "Ticker", "Listener"])
def test_exports_exactly_the_symbols_of_the_capabilities(plugin):
    ref = str(EXAMPLES / f"{plugin}.py") if plugin[0].islower() else f"{STATEFUL}:{plugin}"
    lib = example(plugin) if plugin[0].islower() else built(ref, name=f"stateful_{plugin.lower()}")
    expected = {f"plugin_{name}" for name in describe(load_plugin_class(ref)).entry_points}
    assert exported_symbols(lib) == expected


def test_dummymax_exports_parsing_async_and_dump_state():
    symbols = exported_symbols(example("dummymax"))
    assert {"plugin_parse_event", "plugin_get_parse_event_types", "plugin_get_parse_event_sources",
            "plugin_get_async_events", "plugin_get_async_event_sources", "plugin_set_async_event_handler",
            "plugin_dump_state", "plugin_extract_fields"} <= symbols  # fmt: skip
    assert "plugin_capture_open" not in symbols and "plugin_open" not in symbols


# -- dummymax: live, recorded, replayed ------------------------------------------------------------------


def record(tmp_path: Path, dummy: str, dummymax: str) -> tuple[Path, list[str]]:
    path = tmp_path / "run.scap"
    result = invoke(
        "run", "-p", f'{dummy}|{{"jitter":5}}|{{"maxEvents":3000}}', "-p", f'{dummymax}|{{"window_ms":2,"floor":100}}',
        "-w", str(path), "-f", "evt.is_async = false", "-o", FORMAT,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return path, result.stdout.splitlines()


def replay(path: Path, dummy: str, dummymax: str) -> list[str]:
    result = invoke("run", "-R", str(path), "-p", dummy, "-p", dummymax, "-f", "evt.is_async = false", "-o", FORMAT)
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def test_dummymax_replay_gives_the_live_values(tmp_path):
    dummy, dummymax = str(EXAMPLES / "dummy.py"), str(EXAMPLES / "dummymax.py")
    path, live = record(tmp_path, dummy, dummymax)
    assert len(live) == 3000
    # the state recorded at the head of the file, then the window events among the samples
    events = list(CaptureReader(path))
    assert events[0].async_name == "dummymax.state" and events[0].payload == b"0,100,0,100"
    windows = [int(e.payload) for e in events if e.async_name == "dummymax.window"]
    assert windows and windows == list(range(1, len(windows) + 1))
    # the floor came from the config live; on replay (default config) it comes from the dump
    first = live[0].split()
    assert int(first[0]) < 100 and first[1] == "100"
    assert replay(path, dummy, dummymax) == live


def test_dummymax_built_gives_the_same_values(tmp_path):
    dummy, dummymax = str(EXAMPLES / "dummy.py"), str(EXAMPLES / "dummymax.py")
    built_dummy, built_max = str(example("dummy")), str(example("dummymax"))
    path, live = record(tmp_path, built_dummy, built_max)  # live through the C adapter
    assert replay(path, built_dummy, built_max) == live
    assert replay(path, dummy, dummymax) == live  # and in-process


# -- threadstats: the threads table, a sub-table, an owned table, a routine ---------------------------------


def threadstats_run(location: str) -> dict[str, Any]:
    host = Inspector()
    host.load(str(build_plugin("sysgen_plugin")), "")
    plugin = host.load(location, "")
    fds = host.threads.read(host.threads.ensure(2), host.threads.field("file_descriptors"))
    fds.set(3, name="/etc/passwd")
    fds.set(4, name="/tmp/x")
    host.open("testsys", "count=20,batch=3,tids=1:2:3:2:-1,type=5")
    fields = ["evt.num", "threadstats.events", "threadstats.comm", "threadstats.age", "threadstats.fds",
              "threadstats.fd_names", "threadstats.type_events", "threadstats.type_threads", "threadstats.threads"]  # fmt: skip
    rows = []
    for batch in host.batches():
        rows += [row for _, row in host.plan(batch.source, fields).rows(batch)]
    host.close()
    types = host.table("threadstats.types")
    out = {
        "rows": rows,
        "threads": {tid: host.threads.value(tid, "threadstats.events") for tid in (1, 2, 3)},
        "types": [(d.name, int(d.type), d.read_only) for d in types.fields()],
        "type5": types.row(5),
        "metrics": sorted(m.name for m in plugin.metrics()),
    }
    host.destroy()
    return out


def test_threadstats_built_gives_the_same_values():
    inprocess = threadstats_run(str(EXAMPLES / "threadstats.py"))
    assert inprocess == threadstats_run(str(example("threadstats")))
    rows = inprocess["rows"]
    assert rows[1][1:6] == [1, "<NA>", 0, 2, ["/etc/passwd", "/tmp/x"]]
    assert rows[4][1:6] == [None] * 5  # an event without a thread
    assert [r[6] for r in rows] == list(range(1, 21)) and rows[-1][7] == 4 and rows[-1][8] == 3
    assert inprocess["threads"] == {1: 4, 2: 8, 3: 4}
    assert inprocess["types"] == [("events", 8, False), ("last_tid", 4, True)]
    assert inprocess["type5"] == {"events": 20, "last_tid": -1}  # the last event had no thread
    assert inprocess["metrics"] == ["threadstats.busiest_events", "threadstats.busiest_type"]


# -- a C host without Python (as libsinsp drives a plugin) ------------------------------------------------


def state_host(*args: str) -> dict[str, Any]:
    import json
    import subprocess

    import cbuild

    host = cbuild.build_executable(SDK_PLUGINS / "state_host.c", "state_host", libs=("-ldl", "-lpthread"))
    proc = subprocess.run([str(host), *args], capture_output=True, text=True, timeout=120, cwd="/")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_c_host_without_python_drives_tables_and_async_events():
    probe = str(built(f"{STATEFUL}:Probe", name="stateful_probe"))
    script = ('{"init": ["t = tables.access(\'threads\', fields={\'comm\': str, \'n\': Dynamic[UInt64]})"],'
              ' "parse": ["e = t[event.tid]", "e.n += 1", "assert e.comm == f\'proc{event.tid}\'"]}')  # fmt: skip
    got = state_host("parse", probe, script, "400")
    assert got["events"] == 400 and got["count_1"] == 100  # tids 1..4 in turn: entry 1 counted 100 events
    ticker = str(built(f"{STATEFUL}:Ticker", name="stateful_ticker"))
    got = state_host("async", ticker, '{"threads": 4, "count": 2500}', "10000")
    assert got["events"] == 10000

