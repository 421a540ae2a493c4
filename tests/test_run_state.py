"""The command line with the stateful capabilities: async events recorded and replayed, dump_state
at the start of a capture, parsing on replay, metrics, and several live sources at once."""

from __future__ import annotations

import json

import pytest
from cbuild import build_plugin
from click.testing import CliRunner

from falcoplug.capture import CaptureReader
from falcoplug.cli.main import main


@pytest.fixture(scope="module")
def libs() -> dict[str, str]:
    return {name: str(build_plugin(name)) for name in
            ("source_plugin", "extractor_plugin", "async_plugin", "parse_plugin", "broken_plugin")}  # fmt: skip


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args))


def test_dump_state_goes_first_and_async_events_are_recorded(libs, tmp_path):
    path = tmp_path / "run.scap"
    result = invoke("run", "-p", f"{libs['source_plugin']}||count=200,batch=10,timeouts=10",
                    "-p", f"{libs['async_plugin']}|count=5,dump=2,ts=none", "-w", str(path), "-q")  # fmt: skip
    assert result.exit_code == 0, result.output
    events = list(CaptureReader(path))
    # dump_state's two "state" events open the file, with the plugin ID left as the plugin wrote it
    assert [e.async_name for e in events[:2]] == ["state", "state"]
    assert [e.payload for e in events[:2]] == [b"S0", b"S1"]
    # the source waits (ten timeouts, about 0.1 s) before its first event: the five ticks, sent at
    # once by the plugin's thread, are all in the stream before it ends
    names = [e.async_name for e in events[2:] if e.is_async]
    assert names.count("tick") == 5
    assert sum(1 for e in events if e.type == 322) == 200


def test_replay_delivers_recorded_async_events_and_parses_them(libs, tmp_path):
    path = tmp_path / "run.scap"
    invoke("run", "-p", f"{libs['source_plugin']}||count=20,batch=5", "-p", libs["parse_plugin"], "-w", str(path), "-q")
    live = invoke("run", "-p", f"{libs['source_plugin']}||count=20,batch=5", "-p", libs["parse_plugin"],
                  "-o", "%evt.num %parse.total %parse.count %parse.last_num")  # fmt: skip
    replay = invoke("run", "-R", str(path), "-p", libs["source_plugin"], "-p", libs["parse_plugin"],
                    "-o", "%evt.num %parse.total %parse.count %parse.last_num")  # fmt: skip
    assert replay.exit_code == 0, replay.output
    assert replay.stdout == live.stdout
    assert replay.stdout.splitlines()[-1] == "20 20 20 20"


def test_metrics_at_the_end_and_periodically(libs):
    lib = str(build_plugin("broken_plugin", {"WITH_METRICS": None}))
    result = invoke("run", "-p", f"{lib}||", "--metrics", "-q")
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert "broken.next_calls 2" in lines and "broken.ratio 0.5" in lines
    # host batches hold up to 8192 events: enough events for several of them, each a reporting tick
    periodic = invoke("run", "-p", f"{libs['source_plugin']}||count=30000,batch=1", "--metrics-interval", "0.001", "-q")
    # the inspector's own counters, while running and at the end
    assert periodic.stderr.count("falcoplug.n_evts ") >= 2
    assert periodic.stderr.splitlines()[-8:].count("falcoplug.n_evts 30000") == 1


def test_several_live_sources_at_once(libs):
    result = invoke("run", "-p", f"{libs['source_plugin']}|{{}}|count=30,batch=7",
                    "-p", f"{libs['broken_plugin']}||", "-o", "%evt.source %evt.num %evt.pluginname", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    by_source: dict[str, list[int]] = {}
    for doc in docs:
        by_source.setdefault(doc["evt.source"], []).append(doc["evt.num"])
    # each source has its own inspector, numbering its own events from 1
    assert by_source == {"test": list(range(1, 31)), "broken": [1, 2]}
    assert {d["evt.pluginname"] for d in docs} == {"testsrc", "broken"}
    with_w = invoke("run", "-p", f"{libs['source_plugin']}||count=3", "-p", f"{libs['broken_plugin']}||", "-w", "x.scap")
    assert with_w.exit_code == 1 and "several live sources" in with_w.stderr


def test_a_bad_condition_fails_before_the_first_event(libs):
    """A live input may take long to produce an event: mistakes are reported at once."""
    import subprocess
    import sys

    slow = f"{libs['source_plugin']}||count=1,timeouts=10000"
    for args in (["-f", "test.nope = 1"], ["-o", "%test.nope"]):
        done = subprocess.run([sys.executable, "-m", "falcoplug", "run", "-p", slow, *args],
                              capture_output=True, text=True, timeout=20)  # fmt: skip
        assert done.returncode == 1 and "test.nope" in done.stderr


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_live_run_ends_cleanly_on_a_signal(sig):
    """Ctrl-C or SIGTERM ends a live run as Falco does: input closed, summary printed, exit 0."""
    import signal
    import subprocess
    import sys
    import time

    lib = str(build_plugin("sysgen_plugin"))
    proc = subprocess.Popen([sys.executable, "-m", "falcoplug", "run", "-p", f"{lib}||count=5,batch=5,forever=1",
                             "-o", "%evt.num", "--summary"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        line = proc.stdout.readline()  # the run is under way
        assert line.strip() == "1"
        proc.send_signal(getattr(signal, sig))  # one signal is enough, wherever the run is
        proc.wait(timeout=15)
        out, err = proc.communicate(timeout=5)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "Events processed: 5" in err and "Traceback" not in err


def test_several_sources_share_an_output_with_plugin_fields(libs):
    """Each source prints the fields it has and <NA> for the others'; a field no source has fails."""
    result = invoke("run", "-p", f"{libs['source_plugin']}|{{}}|count=3", "-p", f"{libs['broken_plugin']}||",
                    "-o", "*%evt.source %evt.num %test.value %broken.value")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sorted(result.stdout.splitlines()) == sorted([
        "test 1 0 <NA>", "test 2 1 <NA>", "test 3 2 <NA>", "broken 1 <NA> 0", "broken 2 <NA> 1",
    ])  # fmt: skip
    only = invoke("run", "-p", f"{libs['source_plugin']}|{{}}|count=3", "-p", f"{libs['broken_plugin']}||",
                  "-f", "test.value > 0", "-o", "%evt.source %evt.num")  # fmt: skip
    assert sorted(only.stdout.splitlines()) == ["test 2", "test 3"]
    bad = invoke("run", "-p", f"{libs['source_plugin']}|{{}}|count=3", "-p", f"{libs['broken_plugin']}||",
                 "-o", "%nope.field")  # fmt: skip
    assert bad.exit_code == 1 and "nope.field" in bad.stderr
