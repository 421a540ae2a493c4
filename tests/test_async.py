"""Async events: the handler's checks and messages, the merge into the stream in timestamp order,
live-only delivery, dump_state, and many threads sending at once (tests/plugins/async_plugin.c)."""

from __future__ import annotations

import collections
import logging
import threading
import time

import pytest
from cbuild import build_plugin, cstr

from falcoplug.abi import async_events
from falcoplug.abi.ffi import fastpath, ffi
from falcoplug.capture import CaptureWriter
from falcoplug.errors import PluginError
from falcoplug.events import NO_TID, PPME_ASYNCEVENT_E, encode_async_event
from falcoplug.filter import compile_filter
from falcoplug.framework import Inspector
from falcoplug.framework import inspector as inspector_module
from falcoplug.framework.async_queue import AsyncQueue, drain, merge, new_async_queue
from falcoplug.events import EventBatch, encode_plugin_event

Row = collections.namedtuple("Row", "num type ts tid plugin_id source name payload")


@pytest.fixture(autouse=True, params=["compiled", "python"])
def queue_kind(request, monkeypatch) -> str:
    """Every test of this module twice, side by side in one process: with the compiled queue (C
    plugins' events checked and queued in C, abi/c/async.c) and with the Python queue (every event
    through the Python handler), which is also the path without the fast path."""
    if request.param == "compiled" and fastpath is None:
        pytest.skip("the compiled fast path is not built")
    if request.param == "python":
        monkeypatch.setattr(inspector_module, "new_async_queue", AsyncQueue)
    return request.param


@pytest.fixture(scope="module")
def libs() -> dict[str, str]:
    return {
        "sys": str(build_plugin("sysgen_plugin")),
        "gen": str(build_plugin("sysgen_plugin", {"PLUGIN_ID": 777, "EVENT_SOURCE": cstr("gen")})),
        "async": str(build_plugin("async_plugin")),
    }


def live(host: Inspector, expect_async: int, timeout: float = 20.0) -> list[Row]:
    """Read the open input until ``expect_async`` async events came (or the input ended)."""
    timer = threading.Timer(timeout, host.interrupt)
    timer.start()
    rows, seen = [], 0
    try:
        for batch in host.batches():
            for e in batch:
                name = e.async_name
                rows.append(Row(e.num, e.type, e.ts, e.tid, e.plugin_id, e.source, name, e.payload if e.plugin_id is not None else None))
                seen += name is not None
            if seen >= expect_async:
                host.interrupt()
    finally:
        timer.cancel()
    return rows


def async_host(libs, source: str, config: str, params: str, **kwargs) -> tuple[Inspector, object, list[str]]:
    host = Inspector(**kwargs)
    host.load(libs[source], "")
    messages: list[str] = []
    plugin = host.register(libs["async"])
    plugin.owner.logger = lambda c, m, s: messages.append(m)
    plugin.init(config)
    host.open("testsys", params)
    return host, plugin, messages


def test_async_events_enter_a_syscall_stream(libs):
    host, plugin, _ = async_host(libs, "sys", "count=5,ts=none", "count=3,forever=1")
    rows = live(host, 5)
    asyncs = [r for r in rows if r.type == PPME_ASYNCEVENT_E]
    assert [r.payload for r in asyncs] == [f"T0:{i}".encode() for i in range(5)]
    assert {(r.name, r.source, r.plugin_id, r.tid) for r in asyncs} == {("tick", "syscall", 0, NO_TID)}
    assert all(r.ts != NO_TID and r.ts > 0 for r in asyncs)  # ts -1 is stamped when taken
    assert [r.num for r in rows] == list(range(1, len(rows) + 1))
    assert plugin.async_running
    host.close()
    assert not plugin.async_running


def test_async_events_on_a_plugin_source_take_its_id(libs):
    host, _, _ = async_host(libs, "gen", "count=4,ts=none", "count=2,forever=1")
    rows = live(host, 4)
    asyncs = [r for r in rows if r.type == PPME_ASYNCEVENT_E]
    assert len(asyncs) == 4 and {(r.plugin_id, r.source) for r in asyncs} == {(777, "gen")}
    batch_fields = ["evt.is_async", "evt.asynctype", "evt.source"]
    host.close()
    host.open("testsys", "count=1,forever=1")
    for batch in host.batches():
        plan = host.plan(batch.source, batch_fields)
        values = [row for _, row in plan.rows(batch)]
        if [True, "tick", "gen"] in values:
            host.interrupt()
    host.destroy()


def test_fields_and_filters_see_async_names(libs):
    host, _, _ = async_host(libs, "sys", "count=1,ts=none", "count=1,forever=1")
    for batch in host.batches():
        for event in batch:
            if event.type == PPME_ASYNCEVENT_E:
                assert event["evt.type"] == "tick" and event["evt.asynctype"] == "tick" and event["evt.is_async"]
                flt = compile_filter("evt.type = tick and evt.is_async = true", host.resolver("syscall"))
                assert flt.test(lambda f: host.field_value(event, f.text))
                host.interrupt()
            else:
                assert event["evt.asynctype"] is None and event["evt.is_async"] is False
    assert "tick" in host.async_event_names()
    host.destroy()


def test_async_events_are_merged_in_timestamp_order(libs):
    # source events at 1e12 + 1000*i; async events at 1e12 + 500 + 2000*i, queued while the
    # source sleeps before each one-event batch
    host, _, _ = async_host(libs, "sys", "count=5,ts=fixed,base=1000000000500,step=2000",
                            "count=12,batch=1,sleep_us=20000")  # fmt: skip
    rows = live(host, 99)  # to the end of the input
    ts = [r.ts - 1_000_000_000_000 for r in rows]
    assert ts == sorted(ts) and len(rows) == 17
    assert [t for t, r in zip(ts, rows) if r.type == PPME_ASYNCEVENT_E] == [500, 2500, 4500, 6500, 8500]


def test_events_far_in_the_future_are_dropped(libs, caplog):
    host, plugin, _ = async_host(libs, "sys", "count=3,ts=future", "count=2,idle=50,sleep_us=2000")
    with caplog.at_level(logging.WARNING, "falcoplug.inspector"):
        rows = live(host, 1)
    assert not [r for r in rows if r.type == PPME_ASYNCEVENT_E]
    assert host.async_queue.dropped_future == 3
    assert "async event ts too far in future" in caplog.text
    assert {m.name: m.value for m in plugin.metrics()} == {"testasync.sent": 3, "testasync.failed": 0}


def test_a_full_queue_drops_events(libs, caplog):
    host, plugin, _ = async_host(libs, "sys", "count=50,ts=none", "count=1,forever=1,sleep_us=200000", async_queue_size=5)
    with caplog.at_level(logging.WARNING, "falcoplug.inspector"):
        time.sleep(0.1)
        rows = live(host, 5)
    assert len([r for r in rows if r.type == PPME_ASYNCEVENT_E]) == 5
    assert host.async_queue.dropped_full == 45 and "async event queue is full" in caplog.text
    host.destroy()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("count=2,name=bogus", "incompatible async event 'bogus' produced by plugin: testasync"),
        ("count=2,bad=type", "malformed async event produced by plugin: testasync"),
        ("count=2,bad=nparams", "malformed async event produced by plugin: testasync"),
    ],
)
def test_handler_refuses_bad_events(libs, config, message):
    host, plugin, messages = async_host(libs, "sys", config, "count=1,idle=10")
    live(host, 1)
    host.close()
    assert messages == [message, message]
    assert {m.name: m.value for m in plugin.metrics()} == {"testasync.sent": 0, "testasync.failed": 2}


def test_async_sources_must_match_the_open_source(libs):
    lib = str(build_plugin("async_plugin", {"ASYNC_SOURCES": cstr('["gen"]')}))
    for source, expect in (("sys", "async events of plugin 'testasync' are not compatible with open event source 'syscall'"),
                           ("gen", None)):  # fmt: skip
        host = Inspector()
        host.load(libs[source], "")
        messages: list[str] = []
        plugin = host.register(lib)
        plugin.owner.logger = lambda c, m, s: messages.append(m)
        plugin.init("count=1,ts=none")
        host.open("testsys", "count=1,forever=1")
        rows = live(host, 1, timeout=1.0 if expect else 20.0)
        host.destroy()
        if expect:
            assert messages == [expect] and not [r for r in rows if r.type == PPME_ASYNCEVENT_E]
        else:
            assert not messages and [r.name for r in rows if r.type == PPME_ASYNCEVENT_E] == ["tick"]


def test_plugin_sources_take_no_thread_ids(libs):
    host, _, messages = async_host(libs, "gen", "count=1,tid=5", "count=1,idle=10")
    live(host, 1)
    host.destroy()
    assert messages == ["async events of plugin 'testasync' can have no thread associated with open event source 'gen'"]
    host, _, messages = async_host(libs, "sys", "count=1,tid=5,ts=none", "count=1,forever=1")
    rows = live(host, 1)
    assert not messages and [r.tid for r in rows if r.type == PPME_ASYNCEVENT_E] == [5]
    assert 5 in host.threads  # an async syscall event with a thread feeds the threads table
    host.destroy()


def test_a_refused_handler_fails_the_open(libs):
    host = Inspector()
    host.load(libs["sys"], "")
    host.load(libs["async"], "refuse=1")
    with pytest.raises(PluginError, match="can't set async event handler for plugin 'testasync' : refusing the handler"):
        host.open("testsys", "count=1")
    assert host.input is None


def test_the_handler_must_be_reset_before_a_new_one(libs):
    host = Inspector()
    plugin = host.load(libs["async"], "count=0")
    plugin.start_async(lambda p, raw: None)
    with pytest.raises(PluginError, match="must reset the async event handler before setting a new one"):
        plugin.start_async(lambda p, raw: None)
    assert plugin.stop_async() and plugin.stop_async()
    plugin.start_async(lambda p, raw: None)
    plugin.stop_async()


def _call_handler(owner_handle, raw: bytes) -> tuple[int, str]:
    buf = ffi.new("char[]", raw)
    err = ffi.new("char[1024]")
    rc = async_events.async_handler(owner_handle.handle, ffi.cast("ss_plugin_event*", buf), err)
    return int(rc), ffi.string(err).decode()


def test_handler_messages_at_the_c_boundary(libs):
    host = Inspector()
    source = host.load(libs["sys"], "")
    plugin = host.load(libs["async"], "count=0")
    raw = encode_async_event("tick", b"x")
    # no handler set: the plugin used the handler pointer after the host took it back
    assert _call_handler(plugin.backend._owner, raw) == (1, "async event sent with NULL handler: testasync")
    # an owner whose plugin has no async capability
    assert _call_handler(source.backend._owner, raw) == (1, "plugin without async events cap used as async handler")
    host.open("testsys", "count=1,forever=1")
    assert _call_handler(plugin.backend._owner, raw) == (0, "")
    assert _call_handler(plugin.backend._owner, raw[:20]) == (1, "malformed async event produced by plugin: testasync")
    host.close()
    assert _call_handler(plugin.backend._owner, raw) == (1, "async event sent with NULL handler: testasync")


def test_the_handler_is_removed_on_close(libs):
    host, plugin, _ = async_host(libs, "sys", "count=1000000,rate=2000", "count=1,forever=1")
    live(host, 3)
    host.close()
    sent = {m.name: m.value for m in plugin.metrics()}["testasync.sent"]
    time.sleep(0.05)
    assert {m.name: m.value for m in plugin.metrics()}["testasync.sent"] == sent  # threads stopped
    assert len(host.async_queue) == 0


def test_no_async_events_while_reading_a_capture(libs, tmp_path):
    path = tmp_path / "c.scap"
    with CaptureWriter(path) as writer:
        writer.write(encode_async_event("recorded", b"r", ts=5, plugin_id=0))
        writer.write(encode_plugin_event(b"1", ts=10, plugin_id=777))
    host = Inspector()
    host.load(libs["gen"], "")
    plugin = host.load(libs["async"], "count=5,ts=none")
    host.open_capture(path)
    assert not plugin.async_running
    rows = [(e.type, e.source, e.async_name) for b in host.batches() for e in b]
    assert rows == [(PPME_ASYNCEVENT_E, "syscall", "recorded"), (322, "gen", None)]
    assert {m.name: m.value for m in plugin.metrics()}["testasync.sent"] == 0
    host.close()


def test_async_from_the_reading_thread(libs):
    """broken_plugin's ASYNC_EMIT sends from inside next_batch: the event comes out first."""
    host = Inspector()
    host.load(str(build_plugin("broken_plugin", {"WITH_ASYNC": None, "ASYNC_EMIT": None})), "")
    host.open("broken", "")
    before = time.time_ns()
    events = [e for b in host.batches() for e in b]
    assert [(e.type, e.plugin_id, e.source) for e in events] == [(402, 998, "broken"), (322, 998, "broken"), (322, 998, "broken")]
    assert events[0].async_name == "broken_async" and events[0].payload == b"hello"
    assert events[0].ts >= before  # stamped with the current time: no event was delivered before it


def test_dump_state(libs, tmp_path):
    host = Inspector()
    host.load(libs["sys"], "")
    host.load(libs["async"], "count=0,dump=3")
    events = host.dump_state_events()
    assert len(events) == 3
    from falcoplug.events import Event

    parsed = [Event(raw) for raw in events]
    assert [(e.async_name, e.payload, e.ts, e.plugin_id) for e in parsed] == [
        ("state", b"S0", 1000, 0), ("state", b"S1", 1001, 0), ("state", b"S2", 1002, 0),
    ]  # fmt: skip
    bad = Inspector()
    bad.load(libs["async"], "count=0,dump=1,dumpbad=1")
    with pytest.raises(PluginError, match=r"dump error for plugin 'testasync' : dump: incompatible async event 'bogus' produced by plugin: testasync"):
        bad.dump_state_events()
    assert Inspector().dump_state_events() == []


def test_many_threads_at_once_lose_nothing(libs):
    threads, per_thread = 8, 5000
    host, plugin, messages = async_host(
        libs, "sys", f"threads={threads},count={per_thread},ts=none", "count=100,batch=10,forever=1",
        async_queue_size=threads * per_thread,
    )  # fmt: skip
    rows = live(host, threads * per_thread, timeout=60)
    host.close()
    asyncs = [r for r in rows if r.type == PPME_ASYNCEVENT_E]
    assert not messages and len(asyncs) == threads * per_thread
    seen: dict[int, list[int]] = collections.defaultdict(list)
    for r in asyncs:
        assert r.name == "tick" and r.plugin_id == 0 and r.ts != NO_TID
        thread, seq = r.payload.decode().lstrip("T").split(":")
        seen[int(thread)].append(int(seq))
    # every event once, and each thread's events in the order it sent them (equal timestamps: FIFO)
    assert {t: s for t, s in seen.items()} == {t: list(range(per_thread)) for t in range(threads)}
    assert [r.num for r in rows] == list(range(1, len(rows) + 1))


def test_merge_keeps_source_order():
    queue = AsyncQueue(10)
    batch = EventBatch.from_events([encode_plugin_event(b"a", ts=10, plugin_id=1), encode_plugin_event(b"b", ts=30, plugin_id=1)])
    assert queue.push(encode_async_event("x", ts=20)) is None
    assert queue.push(encode_async_event("y", ts=40)) is None
    assert queue.push(encode_async_event("z")) is None  # ts -1: as early as possible
    merged, last = merge(queue, batch, 0)
    from falcoplug.events import Event

    got = [(Event(merged.data, off).async_name, Event(merged.data, off).ts) for off in merged.offsets]
    assert got[1:] == [(None, 10), ("x", 20), (None, 30)] and got[0][0] == "z" and last == 30
    assert len(queue) == 1  # y waits for a later source event


def test_compiled_events_do_not_enter_python(libs, queue_kind, monkeypatch):
    """With the compiled queue a C plugin's accepted events never reach the Python handler."""
    import falcoplug.framework.plugin as plugin_module

    calls = []
    check = plugin_module.check_async_event
    monkeypatch.setattr(plugin_module, "check_async_event", lambda *a: calls.append(1) or check(*a))
    host, _, messages = async_host(libs, "sys", "count=200,ts=none", "count=1,forever=1", async_queue_size=200)
    rows = live(host, 200)
    host.destroy()
    assert not messages and len([r for r in rows if r.type == PPME_ASYNCEVENT_E]) == 200
    assert len(calls) == (0 if queue_kind == "compiled" else 200)


def _random_run(queue, rng, now: int) -> list:
    """Pushes, merges and drains drawn from ``rng``, and everything they give."""
    from falcoplug.events import Event

    out, last_ts, clock = [], 5, 1_000_000
    for step in range(300):
        action = rng.random()
        if action < 0.6:
            ts = rng.choice([NO_TID, rng.randrange(clock - 500, clock + 500), now + 11_000_000_000])
            out.append(("push", queue.push(encode_async_event(f"e{step}", b"p", ts=ts, plugin_id=3), now_ns=now)))
        elif action < 0.9:
            stamps = sorted(rng.randrange(clock, clock + 300) for _ in range(rng.randrange(1, 5)))
            clock += 300
            batch = EventBatch.from_events([encode_plugin_event(b"s", ts=t, plugin_id=1) for t in stamps])
            merged, last_ts = merge(queue, batch, last_ts)
            out.append(("merge", bytes(merged.data), list(merged.offsets), last_ts))
        else:
            pending, last_ts = drain(queue, last_ts)
            out.append(("drain", None if pending is None else [Event(pending.data, o).async_name for o in pending.offsets], last_ts))
    out.append((len(queue), queue.pushed, queue.dropped_full, queue.dropped_future))
    return out


@pytest.mark.skipif(fastpath is None, reason="the compiled fast path is not built")
def test_compiled_and_python_queues_agree(queue_kind):
    """The same pushes, merges and drains (ts -1, past, near and far-future timestamps, a full
    queue) give the same batches, timestamps and counters from both queues."""
    import random

    if queue_kind == "python":
        pytest.skip("compares both queues in one run")
    now = time.time_ns()
    for seed in range(5):
        compiled, python = new_async_queue(7), AsyncQueue(7)
        assert type(compiled) is not AsyncQueue
        assert _random_run(compiled, random.Random(seed), now) == _random_run(python, random.Random(seed), now)


_SIDE_BY_SIDE = r"""
import json, logging, sys, threading, time
from falcoplug.abi.ffi import fastpath
from falcoplug.framework import Inspector
libs = json.loads(sys.argv[1])
warnings = []
logging.getLogger("falcoplug.inspector").addHandler(type("H", (logging.Handler,), {"emit": lambda s, r: warnings.append(r.getMessage())})())

def run(source, config, params, expect, size=1000, pause=0.0):
    host = Inspector(async_queue_size=size)
    host.load(libs[source], "")
    messages = []
    plugin = host.register(libs["async"])
    plugin.owner.logger = lambda c, m, s: messages.append(m)
    plugin.init(config)
    host.open("testsys", params)
    time.sleep(pause)
    timer = threading.Timer(20, host.interrupt)
    timer.start()
    rows, seen = [], 0
    for batch in host.batches():
        for e in batch:
            stamped = "ts=none" in config and e.async_name is not None
            rows.append([e.num, e.type, None if stamped else e.ts, e.tid, e.plugin_id, e.source, e.async_name])
            seen += e.async_name is not None
        if seen >= expect:
            host.interrupt()
    timer.cancel()
    host.close()
    metrics = {m.name: m.value for m in host.metrics() if "async" in m.name or m.name.startswith("testasync")}
    host.destroy()
    if "ts=none" in config:  # where stamped events fall among source events is timing: each stream apart
        rows = [[r[1:] for r in rows if r[6] is not None], [r[1:] for r in rows if r[6] is None], len(rows)]
    return {"rows": rows, "messages": messages, "metrics": metrics}

print(json.dumps({"fastpath": fastpath is not None, "runs": [
    run("sys", "count=5,ts=fixed,base=1000000000500,step=2000", "count=12,batch=1,sleep_us=20000", 99),
    run("sys", "count=30,ts=none", "count=2,batch=2,forever=1", 30),
    run("gen", "count=4,ts=none", "count=2,forever=1", 4),
    run("sys", "count=2,name=bogus", "count=1,idle=10", 1),
    run("sys", "count=2,bad=type", "count=1,idle=10", 1),
    run("gen", "count=1,tid=5", "count=1,idle=10", 1),
    run("sys", "count=1,tid=5,ts=none", "count=1,forever=1", 1),
    run("sys", "count=3,ts=future", "count=2,idle=50,sleep_us=2000", 1),
    run("sys", "count=50,ts=none", "count=1,forever=1,sleep_us=200000", 5, size=5, pause=0.1),
], "warnings": sorted(warnings)}))
"""


@pytest.mark.skipif(fastpath is None, reason="the compiled fast path is not built")
def test_both_modes_side_by_side(libs, queue_kind):
    """The same runs in two processes, with the compiled fast path and with FALCOPLUG_NO_FASTPATH=1:
    the same events in the same order, timestamps, refusals, warnings and counters."""
    import json
    import os
    import subprocess
    import sys

    if queue_kind == "python":
        pytest.skip("runs both modes itself")
    results = []
    for off in ("0", "1"):
        env = {**os.environ, "FALCOPLUG_NO_FASTPATH": off}
        proc = subprocess.run([sys.executable, "-c", _SIDE_BY_SIDE, json.dumps(libs)], env=env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        results.append(json.loads(proc.stdout))
    compiled, python = results
    assert (compiled.pop("fastpath"), python.pop("fastpath")) == (True, False)
    for i, (c, p) in enumerate(zip(compiled["runs"], python["runs"])):
        assert c == p, i
    assert compiled == python
    runs = compiled["runs"]
    assert [r[5] for r in runs[1]["rows"][0]] == ["tick"] * 30
    assert runs[3]["messages"] == ["incompatible async event 'bogus' produced by plugin: testasync"] * 2
    assert runs[7]["metrics"]["falcoplug.n_async_evts_drops_future"] == 3
    assert runs[8]["metrics"]["falcoplug.n_async_evts_drops_full"] == 45
