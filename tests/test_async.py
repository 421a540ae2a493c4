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
from falcoplug.abi.ffi import ffi
from falcoplug.capture import CaptureWriter
from falcoplug.errors import PluginError
from falcoplug.events import NO_TID, PPME_ASYNCEVENT_E, encode_async_event
from falcoplug.filter import compile_filter
from falcoplug.framework import Inspector
from falcoplug.framework.async_queue import AsyncQueue, merge
from falcoplug.events import EventBatch, encode_plugin_event

Row = collections.namedtuple("Row", "num type ts tid plugin_id source name payload")


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
