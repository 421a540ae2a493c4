"""Record a live run into a .scap capture and replay it: every field value must be identical."""

from __future__ import annotations

import gzip

import pytest
from cbuild import build_plugin
from click.testing import CliRunner

from falcoplug.cli.main import main
from falcoplug.framework import Inspector
from falcoplug.framework.capture_io import Recorder
from falcoplug.framework.generic import GENERIC_FIELDS

PLUGIN_FIELDS = [
    "test.value", "test.str", "test.even", "test.ts", "test.num", "test.src",
    "ext.u64", "ext.str", "ext.rel", "ext.abs", "ext.bool", "ext.ip4", "ext.ip6", "ext.net",
    "ext.list.u64", "ext.list.str", "ext.list.empty", "ext.list.ip", "ext.key[abc]", "ext.idx[3]",
    "ext.opt", "ext.keyidx[5]", "ext.odd", "ext.fail",
]  # fmt: skip
# Every generic field: none depends on the clock of the run, since timestamps are recorded.
FIELDS = PLUGIN_FIELDS + sorted(GENERIC_FIELDS)


def host_with_plugins() -> Inspector:
    host = Inspector(hostname="recorder")
    host.load(str(build_plugin("source_plugin")), '{"payload_prefix": "p"}')
    host.load(str(build_plugin("extractor_plugin")), "")
    return host


def values(host: Inspector, batches) -> list[list[object]]:  # type: ignore[no-untyped-def]
    rows = []
    for batch in batches:
        plan = host.plan(batch.source, FIELDS)
        rows.extend(row for _, row in plan.rows(batch))
    return rows


@pytest.mark.parametrize("suffix", [".scap", ".scap.gz"])
@pytest.mark.parametrize("params", ["count=50,batch=7", "count=20,tsnow=1", "count=9,timeouts=2,batch=4"])
def test_replay_gives_identical_values(tmp_path, suffix, params):
    path = tmp_path / f"run{suffix}"
    live = host_with_plugins()
    live.open("testsrc", params)
    recorder = Recorder(path, hostname=live.hostname)
    recorded = []
    for batch in live.batches():
        recorder.write(batch)
        recorded.append(batch)
    recorder.close()
    expected = values(live, recorded)
    live.destroy()

    replay = host_with_plugins()
    replay.hostname = "somewhere-else"
    replay.open_capture(path)
    got = values(replay, replay.batches())
    assert len(got) == len(expected) == int(params.split(",")[0].split("=")[1])
    hostname = FIELDS.index("evt.hostname")  # libsinsp gives an empty string on a replay
    assert {row[hostname] for row in expected} == {"recorder"} and {row[hostname] for row in got} == {""}
    assert [row[:hostname] + row[hostname + 1 :] for row in got] == [row[:hostname] + row[hostname + 1 :] for row in expected]
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == suffix.endswith(".gz")


def test_cli_record_and_replay(tmp_path):
    src, ext = str(build_plugin("source_plugin")), str(build_plugin("extractor_plugin"))
    fmt = "*%evt.num %evt.rawtime %evt.pluginname %evt.plugininfo %test.str %ext.list.str %ext.odd"
    path = str(tmp_path / "x.scap.gz")
    runner = CliRunner()
    live = runner.invoke(main, ["run", "-p", f"{src}||count=12,batch=5", "-p", ext, "-w", path, "-o", fmt])
    assert live.exit_code == 0, live.output
    with gzip.open(path) as f:
        assert f.read(4) == b"\x0a\x0d\x0d\x0a"
    replay = runner.invoke(main, ["run", "-R", path, "-p", src, "-p", ext, "-o", fmt])
    assert replay.exit_code == 0, replay.output
    assert replay.stdout == live.stdout and len(replay.stdout.splitlines()) == 12
    head = runner.invoke(main, ["run", "-R", path, "-p", src, "-n", "3", "--json", "-o", "%evt.num %test.str"])
    assert head.stdout.splitlines() == ['{"evt.num":1,"test.str":"0"}', '{"evt.num":2,"test.str":"1"}', '{"evt.num":3,"test.str":"2"}']


def test_replay_without_the_sourcing_plugin_has_no_source(tmp_path):
    src = str(build_plugin("source_plugin"))
    path = str(tmp_path / "x.scap")
    runner = CliRunner()
    assert runner.invoke(main, ["run", "-p", f"{src}||count=2", "-w", path, "-q"]).exit_code == 0
    out = runner.invoke(main, ["run", "-R", path, "-o", "*%evt.num %evt.source %evt.pluginname"]).stdout
    assert out.splitlines() == ["1 <NA> <NA>", "2 <NA> <NA>"]


def test_replay_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.scap"
    bad.write_bytes(b"\x0a\x0d\x0d\x0a" + b"\x1c\x00\x00\x00" + b"\x4d\x3c\x2b\x1b" + bytes(16))
    result = CliRunner().invoke(main, ["run", "-R", str(bad)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"falcoplug: error: {bad}: invalid magic number")
    missing = CliRunner().invoke(main, ["run", "-R", str(tmp_path / "nope.scap")])
    assert missing.exit_code == 1 and "No such file" in missing.stderr


def test_syscall_source_with_parsing_replays_identically(tmp_path):
    """An ID-0 plugin's syscall events (threads entries, a parser counting per thread) replay with
    the same values: the parser rebuilds its state from the capture."""
    sysgen, parse = str(build_plugin("sysgen_plugin")), str(build_plugin("parse_plugin"))
    fmt = "%evt.num %evt.source %evt.type %parse.total %parse.count %parse.last_num %evt.rawtime"
    path = str(tmp_path / "sys.scap")
    runner = CliRunner()
    live = runner.invoke(main, ["run", "-p", f"{sysgen}||count=40,tids=1:2:3:-1", "-p", parse, "-w", path, "-o", fmt])
    assert live.exit_code == 0, live.output
    replay = runner.invoke(main, ["run", "-R", path, "-p", sysgen, "-p", parse, "-o", fmt])
    assert replay.exit_code == 0, replay.output
    assert replay.stdout == live.stdout
    # event 40 has no thread (tid -1), counted under the parser's default key 1 with thread 1's events
    assert live.stdout.splitlines()[-1].split()[:5] == ["40", "syscall", "syscall", "40", "20"]


def test_every_open_numbers_events_from_one(tmp_path):
    """As libsinsp's init at every open: evt.num and evt.reltime start again with each input, a
    live one or a capture."""
    host = host_with_plugins()
    path = tmp_path / "run.scap"
    recorder = Recorder(path, hostname=host.hostname)
    seen = []
    for _ in range(2):
        host.open("testsrc", "count=5,batch=2")
        batches = list(host.batches())
        for batch in batches:
            recorder.write(batch)
        seen.append([row for batch in batches for _, row in host.plan(batch.source, ["evt.num", "evt.reltime"]).rows(batch)])
    recorder.close()
    host.open_capture(path)
    replayed = [row for batch in host.batches() for _, row in host.plan(batch.source, ["evt.num"]).rows(batch)]
    host.destroy()
    assert seen[0] == seen[1] and [num for num, _ in seen[1]] == [1, 2, 3, 4, 5] and seen[1][0][1] == 0
    assert replayed == [[n] for n in range(1, 11)]
