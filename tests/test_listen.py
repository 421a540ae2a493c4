"""Capture listening: capture_open / capture_close and routines on the host's thread pool
(tests/plugins/listen_plugin.c), and the pool itself."""

from __future__ import annotations

import threading
import time

import pytest
from cbuild import build_plugin

from falcoplug.capture import CaptureWriter
from falcoplug.errors import PluginError
from falcoplug.events import encode_plugin_event
from falcoplug.framework import Inspector, Plugin
from falcoplug.framework.listen import RoutinePool
from falcoplug.framework.loading import load_backend


@pytest.fixture(scope="module")
def libs() -> dict[str, str]:
    return {"sys": str(build_plugin("sysgen_plugin")), "listen": str(build_plugin("listen_plugin"))}


def metrics(plugin: Plugin) -> dict[str, int]:
    return {m.name.split(".", 1)[1]: m.value for m in plugin.metrics()}


def wait_for(predicate, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return False


def listening(libs, config: str) -> tuple[Inspector, Plugin, list[str]]:
    host = Inspector()
    host.load(libs["sys"], "")
    lines: list[str] = []
    plugin = host.register(libs["listen"])
    plugin.owner.logger = lambda c, m, s: lines.append(m)
    plugin.init(config)
    return host, plugin, lines


def test_routines_run_until_they_return_false(libs):
    host, plugin, lines = listening(libs, "routines=3,steps=50")
    host.open("testsys", "count=1")
    assert metrics(plugin)["open_calls"] == 1
    assert wait_for(lambda: metrics(plugin)["done"] == 3)
    assert metrics(plugin)["runs"] == 150
    assert wait_for(lambda: len(host.routines) == 0)
    host.close()
    assert metrics(plugin)["close_calls"] == 1 and metrics(plugin)["unsubscribed"] == 0
    assert lines == ["open: 3 routines", "close: unsubscribed 0"]


def test_routines_stop_when_the_capture_closes(libs):
    host, plugin, lines = listening(libs, "routines=4,steps=0")
    host.open("testsys", "count=1")
    assert wait_for(lambda: metrics(plugin)["runs"] > 100)
    assert len(host.routines) == 4
    host.close()
    assert metrics(plugin)["unsubscribed"] == 4 and len(host.routines) == 0
    runs = metrics(plugin)["runs"]
    time.sleep(0.05)
    assert metrics(plugin)["runs"] == runs  # purged: nothing runs after close


def test_unsubscribing_an_unknown_routine_fails(libs):
    host, _, lines = listening(libs, "routines=1,steps=1,unsub=1")
    host.open("testsys", "count=1")
    host.close()
    assert lines[0] == "bogus unsubscribe rc=1 err=unsubscribe called with an unknown routine"


def test_capture_open_failure_fails_the_open(libs):
    host, _, _ = listening(libs, "fail_open=1")
    with pytest.raises(PluginError, match="capture_open error for plugin 'testlisten' : cannot open on purpose"):
        host.open("testsys", "count=1")
    assert host.input is None


def test_listeners_are_told_of_a_replay_too(libs, tmp_path):
    path = tmp_path / "c.scap"
    with CaptureWriter(path) as writer:
        writer.write(encode_plugin_event(b"x", ts=1, plugin_id=5))
    host, plugin, _ = listening(libs, "routines=1,steps=2")
    host.open_capture(path)
    assert sum(len(b) for b in host.batches()) == 1
    assert wait_for(lambda: metrics(plugin)["done"] == 1)
    host.close()
    assert metrics(plugin)["open_calls"] == metrics(plugin)["close_calls"] == 1


def test_no_thread_pool_outside_an_inspector(libs):
    plugin = Plugin(load_backend(libs["listen"]))
    lines: list[str] = []
    plugin.owner.logger = lambda c, m, s: lines.append(m)
    plugin.init("routines=1")
    plugin.capture_open()
    assert lines[0] == "subscribe failed: no thread pool to subscribe routines to"
    plugin.capture_close()
    plugin.destroy()


def test_routines_run_on_pool_threads():
    pool = RoutinePool(workers=2)
    seen: set[str] = set()
    counts = {"a": 0, "b": 0}

    def step(name: str, limit: int):  # type: ignore[no-untyped-def]
        def run() -> bool:
            seen.add(threading.current_thread().name)
            counts[name] += 1
            return counts[name] < limit

        return run

    a = pool.subscribe(step("a", 5), "a")
    b = pool.subscribe(step("b", 10**9), "b")
    assert wait_for(lambda: counts["a"] == 5 and counts["b"] > 20)
    assert not pool.is_subscribed(a) and pool.is_subscribed(b) and pool.completed == 1
    assert pool.unsubscribe(b) and not pool.unsubscribe(b) and not pool.unsubscribe(12345)
    assert threading.current_thread().name not in seen and all(n.startswith("falcoplug-routine") for n in seen)
    pool.shutdown()


def test_a_failing_routine_stops_alone():
    pool = RoutinePool(workers=1)
    runs = []

    def bad() -> bool:
        raise RuntimeError("boom")

    pool.subscribe(bad, "bad")
    pool.subscribe(lambda: runs.append(1) or len(runs) < 3, "good")
    assert wait_for(lambda: len(runs) == 3 and len(pool) == 0)
    pool.shutdown()


def test_purge_waits_for_a_running_routine():
    pool = RoutinePool(workers=1)
    started, finished = threading.Event(), threading.Event()

    def slow() -> bool:
        started.set()
        time.sleep(0.1)
        finished.set()
        return True

    pool.subscribe(slow)
    assert started.wait(5)
    pool.purge()
    assert finished.is_set() and len(pool) == 0
    pool.shutdown()
