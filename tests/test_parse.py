"""Event parsing: which events each parsing plugin sees, in which order, with which input, and the
host's ``threads`` table that syscall events feed."""

from __future__ import annotations

import pytest
from cbuild import build_plugin, cstr

from falcoplug.abi.ffi import fastpath
from falcoplug.capture import CaptureWriter
from falcoplug.errors import PluginError
from falcoplug.filter import compile_filter
from falcoplug.framework import Inspector
from falcoplug.framework.registry import UnknownFieldError

PARSE_FIELDS = ["evt.num", "parse.total", "parse.last_num", "parse.count", "parse.src"]


@pytest.fixture(scope="module")
def libs() -> dict[str, str]:
    return {
        "sys": str(build_plugin("sysgen_plugin")),
        "sys_id": str(build_plugin("sysgen_plugin", {"PLUGIN_ID": 777, "EVENT_SOURCE": cstr("gen")})),
        "src": str(build_plugin("source_plugin")),
        "parse": str(build_plugin("parse_plugin")),
        "tables": str(build_plugin("table_plugin")),
    }


def rows(host: Inspector, fields: list[str]) -> list[list[object]]:
    out = []
    for batch in host.batches():
        plan = host.plan(batch.source, fields)
        out.extend(row for _, row in plan.rows(batch))
    return out


def test_each_event_is_parsed_before_its_fields_are_extracted(libs):
    host = Inspector()  # auto: the parser extracts too, so events come out one by one
    host.load(libs["sys"], "")
    host.load(libs["parse"], "")
    host.open("testsys", "count=9,batch=4,tids=1:2:3")
    got = rows(host, PARSE_FIELDS)
    # event mode: when event n is extracted, parsing has seen events 1..n and no more
    assert [r[:3] for r in got] == [[n, n, n] for n in range(1, 10)]
    # the count of a thread, read by the extractor, is what the parser left after this event
    assert [r[3] for r in got] == [1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert {r[4] for r in got} == {"syscall"}
    host.destroy()


def test_auto_mode_hands_events_out_one_by_one_only_when_needed(libs):
    parser_only = str(build_plugin("parse_plugin", {"NO_EXTRACT": None}))
    # a host batch gathers the plugin's batches of 3 (without the compiled core: one per batch)
    gathered = [7] if fastpath is not None else [3, 3, 1]
    for parser, expected in ((libs["parse"], [1] * 7), (parser_only, gathered)):
        host = Inspector()
        host.load(libs["src"], "")
        host.load(str(build_plugin("extractor_plugin")), "")
        host.load(parser, "")
        host.open("testsrc", "count=7,batch=3")
        # an extractor that also parses may read its own parse state: one event at a time
        assert host.needs_exact_parsing("test") == (parser == libs["parse"])
        assert [len(b) for b in host.batches()] == expected
        host.destroy()
    host = Inspector()
    host.load(libs["src"], "")
    host.load(parser_only, "")
    host.tables.note_user("testsrc")  # an extractor that took a table may read what parsers wrote
    assert host.needs_exact_parsing("test")
    host.open("testsrc", "count=4,batch=4")
    assert [len(b) for b in host.batches()] == [1, 1, 1, 1]


def test_batch_mode_parses_a_whole_batch_first(libs):
    host = Inspector(parse_mode="batch")
    host.load(libs["sys"], "")
    host.load(libs["parse"], "")
    host.open("testsys", "count=6,batch=4")
    got = rows(host, ["evt.num", "parse.last_num"])
    if fastpath is not None:  # one host batch of the plugin's two
        assert got == [[1, 6], [2, 6], [3, 6], [4, 6], [5, 6], [6, 6]]
    else:
        assert got == [[1, 4], [2, 4], [3, 4], [4, 4], [5, 6], [6, 6]]
    with pytest.raises(ValueError):
        Inspector(parse_mode="whenever")


def test_events_are_parsed_even_when_nobody_extracts(libs):
    host = Inspector()
    host.load(libs["sys"], "")
    parse = host.load(libs["parse"], "")
    host.open("testsys", "count=25,batch=7")
    assert sum(len(b) for b in host.batches()) == 25
    assert {m.name: m.value for m in parse.metrics()}["testparse.parsed"] == 25


def test_plugin_source_events_are_parsed_with_their_source(libs):
    host = Inspector()
    host.load(libs["src"], "")
    host.load(libs["parse"], "key=7")
    host.open("testsrc", "count=5,batch=2")
    got = rows(host, PARSE_FIELDS)
    assert [r[1] for r in got] == [1, 2, 3, 4, 5] and {r[4] for r in got} == {"test"}
    # no thread for plugin events: the parser counted into the entry it created at key 7
    assert host.threads.value(7, "testparse.count") == 5 and host.threads.value(7, "tid") == 7
    assert len(host.threads) == 1


@pytest.mark.parametrize("mode", ["auto", "batch", "event"])
def test_parsers_run_in_registration_order(libs, mode):
    lines: list[str] = []
    host = Inspector(parse_mode=mode)
    host.load(libs["sys_id"], "")
    for name in ("first", "second"):
        plugin = host.register(str(build_plugin("table_plugin", {"PLUGIN_NAME": cstr(name)})))
        plugin.owner.logger = lambda c, m, s, name=name: lines.append(f"{name} {m}")
        plugin.init("parse:lasterr")
    host.open("testsys", "count=3,batch=3")
    list(host.batches())
    # event by event, every parser in turn, even when a whole batch is parsed at once
    assert [line.split(":")[0] for line in lines] == ["first parse", "second parse"] * 3


@pytest.mark.parametrize(
    ("defines", "sys_parsed", "plugin_parsed"),
    [
        ({}, 4, 4),
        ({"PARSE_SOURCES": cstr('["syscall"]')}, 4, 0),
        ({"PARSE_SOURCES": cstr('["gen"]')}, 0, 4),
        ({"PARSE_SOURCES": cstr('["gen", "syscall"]')}, 4, 4),
        ({"PARSE_SOURCES": cstr('["other"]')}, 0, 0),
        ({"PARSE_TYPES": "2"}, 0, 0),
        ({"PARSE_TYPES": "0,322"}, 4, 4),
    ],
)
def test_parse_sources_and_event_types(libs, defines, sys_parsed, plugin_parsed):
    lib = str(build_plugin("parse_plugin", defines))
    for source_lib, name, expected in ((libs["sys"], "testsys", sys_parsed), (libs["sys_id"], "testsys", plugin_parsed)):
        host = Inspector()
        host.load(source_lib, "")
        parse = host.load(lib, "noop=1")
        host.open(name, "count=4")
        assert sum(len(b) for b in host.batches()) == 4
        assert {m.name: m.value for m in parse.metrics()}["testparse.parsed"] == expected
        host.destroy()


def test_syscall_events_get_threads_entries(libs):
    host = Inspector()
    host.load(libs["sys"], "")
    host.open("testsys", "count=8,tids=10:-1:11:12")
    list(host.batches())
    assert sorted(host.threads.keys()) == [10, 11, 12]  # no entry for tid -1
    row = host.threads.row(11)
    assert row["tid"] == 11 and row["pid"] == -1 and row["ptid"] == -1 and row["sid"] == -1
    assert row["comm"] == "<NA>" and row["exe"] == "<NA>" and row["exe_path"] == ""
    assert row["uid"] == row["gid"] == row["loginuid"] == 0xFFFFFFFF
    assert row["flags"] == 1 << 17 and row["fd_limit"] == -1 and row["vpid"] == -1
    assert len(row["file_descriptors"]) == 0 and row["file_descriptors"].key_type == 4


def test_plugin_source_events_get_no_threads_entries(libs):
    host = Inspector()
    host.load(libs["sys_id"], "")
    host.open("testsys", "count=5")
    list(host.batches())
    assert len(host.threads) == 0


def test_parse_return_value_is_ignored(libs):
    host = Inspector()
    host.load(libs["src"], "")
    host.load(libs["parse"], "create=0")
    host.open("testsrc", "count=3")
    got = rows(host, ["parse.total", "parse.errors", "parse.lasterr"])
    assert got == [[1, 1, "get_entry found no element at given key"], [2, 2, "get_entry found no element at given key"],
                   [3, 3, "get_entry found no element at given key"]]  # fmt: skip


def test_uninitialized_parser_is_an_error(libs):
    host = Inspector()
    host.load(libs["sys"], "")
    host.register(libs["parse"])
    host.open("testsys", "count=2")
    with pytest.raises(PluginError, match="plugin capability used before init: testparse"):
        list(host.batches())


def test_capture_replay_is_parsed(libs, tmp_path):
    live = Inspector()
    live.load(libs["sys"], "")
    live.open("testsys", "count=6,tids=5:6")
    path = tmp_path / "sys.scap"
    with CaptureWriter(path) as writer:
        for batch in live.batches():
            writer.write_batch(batch.events)
    live.destroy()

    replay = Inspector()
    replay.load(libs["sys"], "")
    replay.load(libs["parse"], "")
    replay.open_capture(path)
    got = rows(replay, ["evt.num", "evt.source", "parse.total", "parse.count"])
    assert got == [[1, "syscall", 1, 1], [2, "syscall", 2, 1], [3, "syscall", 3, 2],
                   [4, "syscall", 4, 2], [5, "syscall", 5, 3], [6, "syscall", 6, 3]]  # fmt: skip
    assert sorted(replay.threads.keys()) == [5, 6]
    replay.close()


def test_evt_type_on_the_syscall_source(libs):
    host = Inspector()
    host.load(libs["sys"], "")
    host.open("testsys", "count=2,type=2")
    assert [r for r in rows(host, ["evt.type"])] == [["open"], ["open"]]
    host.destroy()
    host = Inspector()
    host.load(libs["sys"], "")
    host.open("testsys", "count=1")
    (batch,) = list(host.batches())
    event = next(iter(batch))
    assert event["evt.type"] == "syscall"
    flt = compile_filter("evt.type = syscall and evt.source = syscall", host.resolver("syscall"))
    assert flt.test(lambda f: host.field_value(event, f.text))
    with pytest.raises(UnknownFieldError):
        host.resolver("test").resolve("evt.type")
