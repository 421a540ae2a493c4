"""Sourcing: libscap's batch semantics, event checks and fixes, numbering, and the generic fields."""

from __future__ import annotations

import threading
import time

import pytest
from cbuild import build_plugin, cstr

from falcoplug.abi.ffi import fastpath
from falcoplug.errors import EventError, PluginError
from falcoplug.events import NO_TID, encode_plugin_event
from falcoplug.framework import Inspector


@pytest.fixture(scope="module")
def source_lib() -> str:
    return str(build_plugin("source_plugin"))


def open_source(lib: str, params: str, config: str = "{}") -> Inspector:
    host = Inspector(hostname="testhost")
    host.load(lib, config)
    host.open("testsrc", params)
    return host


def test_events_are_numbered_and_fixed(source_lib):
    host = open_source(source_lib, "count=5,batch=2")
    events = list(host.events())
    assert [e.num for e in events] == [1, 2, 3, 4, 5]
    assert [e.payload for e in events] == [b"0", b"1", b"2", b"3", b"4"]
    assert all(e.plugin_id == 999 and e.tid == NO_TID and e.source == "test" for e in events)
    assert [e.ts for e in events] == [1700000000000000000 + i * 1000 for i in range(5)]
    assert events[0].data == encode_plugin_event(b"0", ts=1700000000000000000, plugin_id=999)


def test_host_batches_gather_the_plugin_batches(source_lib):
    host = open_source(source_lib, "count=7,batch=3")
    assert [len(b) for b in host.batches()] == ([7] if fastpath is not None else [3, 3, 1])


def test_last_batch_is_delivered_with_eof(source_lib):
    host = open_source(source_lib, "count=4,batch=4,eof_with_batch=1")
    assert [e.num for e in host.events()] == [1, 2, 3, 4]


def test_timeouts_retry_without_spinning(source_lib):
    host = open_source(source_lib, "count=2,timeouts=5")
    start_cpu, start = time.process_time(), time.perf_counter()
    assert len(list(host.events())) == 2
    # five empty timeouts cost a few sleeps, not a busy loop
    assert time.perf_counter() - start >= 0.0005 * 5
    assert time.process_time() - start_cpu < 0.5


def test_ts_now_is_stamped(source_lib):
    """ts = UINT64_MAX becomes the wall clock in microseconds times 1000, as libscap stamps it."""
    before = time.time_ns() // 1000 * 1000
    host = open_source(source_lib, "count=2,tsnow=1")
    stamps = [e.ts for e in host.events()]
    assert all(before <= ts <= time.time_ns() and ts % 1000 == 0 for ts in stamps)


@pytest.mark.parametrize("env", [{}, {"FALCOPLUG_NO_FASTPATH": "1"}], ids=["compiled", "abi"])
def test_ts_now_has_microsecond_resolution_in_both_cores(source_lib, env):
    """The compiled loop and the Python fallback stamp alike: the last three digits are 000."""
    import os
    import subprocess
    import sys

    args = [sys.executable, "-m", "falcoplug", "run", "-p", f"{source_lib}||count=50,batch=7,tsnow=1", "-o", "*%evt.rawtime"]
    out = subprocess.run(args, capture_output=True, text=True, check=True, env={**os.environ, **env}).stdout
    stamps = [int(line) for line in out.split()]
    assert len(stamps) == 50 and all(ts % 1000 == 0 for ts in stamps) and stamps == sorted(stamps)


def test_failure_raises_with_the_last_error_after_the_batch(source_lib):
    host = open_source(source_lib, "count=10,batch=4,fail_at=6")
    seen = []
    with pytest.raises(PluginError, match="plugin testsrc: failed at event 6"):
        for event in host.events():
            seen.append(event.num)
    assert seen[:4] == [1, 2, 3, 4]


def test_open_failure(source_lib):
    host = Inspector()
    host.load(source_lib, "{}")
    with pytest.raises(PluginError, match="could not open plugin testsrc: .*nosuchkey"):
        host.open("testsrc", "nosuchkey=1")


def test_input_must_have_sourcing(source_lib):
    host = Inspector()
    host.load(str(build_plugin("extractor_plugin")), "")
    with pytest.raises(PluginError, match="plugin testext has not event sourcing capabilities and cannot be used as input"):
        host.open("testext", "")
    with pytest.raises(PluginError, match="plugin nope does not exist"):
        host.open("nope", "")


def test_progress_and_open_params(source_lib):
    host = open_source(source_lib, "count=20000,batch=5000")
    batches = host.batches()
    next(batches)  # a host batch: 8192 events at most, so two plugin batches (one without the core)
    pct, text = host.progress()
    assert (pct, text) == ((50.0, "10000/20000") if fastpath is not None else (25.0, "5000/20000"))
    assert host.input.list_open_params()[0]["value"]


def broken_host(**defines: object) -> Inspector:
    host = Inspector()
    host.load(str(build_plugin("broken_plugin", defines)), "")
    host.open("broken", "")
    return host


@pytest.mark.parametrize(
    ("defines", "message"),
    [
        ({"EVT_WRONG_TYPE": None}, r"^malformed plugin event produced by plugin: 'broken'$"),
        ({"EVT_NPARAMS3": None}, r"^malformed plugin event produced by plugin: 'broken'$"),
        ({"EVT_WRONG_ID": None}, r"^unexpected plugin ID in plugin event: plugin='broken', expected_id=998, actual_id=12345$"),
        ({"EVT_BAD_LEN": 1}, r"^malformed plugin event produced by plugin: 'broken' \(event length 20\)$"),
        ({"EVT_BAD_LEN": 2}, r"^malformed plugin event produced by plugin: 'broken' \(parameter lengths"),
        ({"NULL_EVTS": None}, r"malformed plugin event produced by plugin: 'broken' \(next_batch returned 1 events and a NULL array\)"),
        ({"ZERO_ID_PLUGIN_EMITS_322": None}, r"^malformed plugin event produced by plugin \(no ID\): 'broken'$"),
    ],
)
def test_malformed_events(defines, message):
    with pytest.raises(EventError, match=message):
        list(broken_host(**defines).events())


def test_zero_size_batch_with_success():
    with pytest.raises(PluginError, match="^unexpected 0 size event returned by plugin broken$"):
        list(broken_host(ZERO_BATCH=None).events())


def test_events_with_the_own_id_are_accepted():
    assert [e.plugin_id for e in broken_host(EVT_OWN_ID=None).events()] == [998, 998]


def test_next_batch_failure_message():
    host = broken_host(NEXT_FAIL=None)
    with pytest.raises(PluginError, match="^plugin broken: next failed on purpose$"):
        list(host.events())


def test_id0_plugin_events_belong_to_syscall():
    events = list(broken_host(ZERO_ID_EMITS_GENERIC=None).events())
    assert [(e.type, e.source) for e in events] == [(0, "syscall"), (0, "syscall")]
    assert events[0]["evt.source"] == "syscall"


def test_generic_fields(source_lib):
    host = open_source(source_lib, "count=3")
    events = list(host.events())
    e = events[2]
    assert e["evt.num"] == 3
    assert e["evt.rawtime"] == 1700000000000002000
    assert e["evt.rawtime.s"] == 1700000000 and e["evt.rawtime.ns"] == 2000
    assert e["evt.reltime"] == 2000 and e["evt.reltime.s"] == 0 and e["evt.reltime.ns"] == 2000
    assert e["evt.time.iso8601"] == "2023-11-14T22:13:20.000002000+0000"
    assert e["evt.time"].endswith(":13:20.000002000") and e["evt.time.s"].endswith(":13:20")
    assert e["evt.datetime"].endswith(":13:20.000002000") and len(e["evt.datetime.s"]) == 19
    assert e["evt.pluginname"] == "testsrc"
    assert e["evt.plugininfo"] == '{"value": 2}'
    assert e["evt.source"] == "test"
    assert e["evt.is_async"] is False
    assert e["evt.asynctype"] is None
    assert e["evt.hostname"] == "testhost"


def test_plugininfo_fallback():
    host = broken_host(EVENT_TO_STRING=cstr(""))
    assert [e["evt.plugininfo"] for e in host.events()] == ["datalen=1 data=0", "datalen=1 data=1"]


def test_two_independent_inspectors_can_run_in_threads(source_lib):
    results: dict[int, int] = {}

    def run(k: int) -> None:
        host = open_source(source_lib, "count=20000,batch=100")
        results[k] = sum(1 for _ in host.events())

    threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {0: 20000, 1: 20000}
