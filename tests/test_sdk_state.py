"""The SDK's stateful capabilities: parsing, state tables (accessed and owned), async events and
dump_state, capture listening with routines; every error rule. Each behaviour test runs the same
SDK plugin in-process and built into a library (driven by falcoplug through its C adapter) and
expects the same results (tests/sdk_plugins/stateful.py)."""

from __future__ import annotations

import collections
import threading
import time
from typing import Any

import pytest
from cbuild import build_plugin, cstr

from falcoplug.api import StateType as ST
from falcoplug.backend import TableError
from falcoplug.errors import PluginError
from falcoplug.events import PPME_ASYNCEVENT_E, Event as HostEvent
from falcoplug.framework import Inspector
from falcoplug.sdk import (
    AccessedTable,
    AsyncEventError,
    AsyncPlugin,
    BackgroundTask,
    CaptureListenPlugin,
    Dynamic,
    Emitter,
    Event,
    Int8,
    OwnedTable,
    ParsePlugin,
    PluginDefinitionError,
    Private,
    Readonly,
    Table,
    TableAccess,
    TableEntry,
    TableFields,
    UInt8,
    describe,
    encode_async_event,
    field,
)

from sdk_plugins.support import SDK_PLUGINS, built

STATEFUL = SDK_PLUGINS / "stateful.py"
MODES = ["inprocess", "built"]


def where(cls: str, mode: str) -> str:
    ref = f"{STATEFUL}:{cls}"
    return ref if mode == "inprocess" else str(built(ref, name=f"stateful_{cls.lower()}"))


@pytest.fixture(scope="module")
def libs() -> dict[str, str]:
    return {
        "sys": str(build_plugin("sysgen_plugin")),
        "src": str(build_plugin("source_plugin")),
        "gen": str(build_plugin("sysgen_plugin", {"PLUGIN_ID": 777, "EVENT_SOURCE": cstr("gen")})),
        "tables": str(build_plugin("table_plugin", {"PLUGIN_NAME": cstr("cplugin")})),
    }


def load(host: Inspector, location: str, config: Any = None, lines: list[str] | None = None) -> Any:
    plugin = host.register(location)
    if lines is not None:
        # what the plugin logs at INFO and above (debug records carry tracebacks)
        plugin.owner.logger = lambda component, message, severity: severity <= 6 and lines.append(message)
    plugin.init(config)
    return plugin


def rows(host: Inspector, fields: list[str]) -> list[list[Any]]:
    out = []
    for batch in host.batches():
        plan = host.plan(batch.source, fields)
        out.extend(row for _, row in plan.rows(batch))
    return out


def metrics(plugin: Any) -> dict[str, Any]:
    return {m.name.split(".", 1)[1]: m.value for m in plugin.metrics()}


def live(host: Inspector, until: Any, timeout: float = 20.0) -> list[HostEvent]:
    """Read the open input until ``until(events)`` is true (or the timeout)."""
    timer = threading.Timer(timeout, host.interrupt)
    timer.start()
    events: list[HostEvent] = []
    try:
        for batch in host.batches():
            events.extend(batch)
            if until(events):
                host.interrupt()
    finally:
        timer.cancel()
    return events


def asyncs(events: list[HostEvent]) -> list[HostEvent]:
    return [e for e in events if e.type == PPME_ASYNCEVENT_E]


def wait_for(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.005)


# -- parsing and tables ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_parse_counts_into_the_threads_table_and_a_table_of_its_own(libs, mode):
    host = Inspector()
    host.load(libs["sys"], "")
    plugin = host.load(where("Counter", mode), {})
    host.open("testsys", "count=9,batch=4,tids=1:2:3")
    got = rows(host, ["sdkcount.count", "sdkcount.total", "sdkcount.hits", "sdkcount.comm"])
    # each event is parsed before its fields are extracted (the plugin parses and extracts)
    assert [r[:3] for r in got] == [[1 + i // 3, i + 1, 1 + i // 3] for i in range(9)]
    assert {r[3] for r in got} == {"<NA>"}
    # the host sees the dynamic field the plugin added, and the plugin's own table
    assert host.threads.value(2, "sdkcount.count") == 3
    hits = host.table("sdkcount.hits")
    assert hits.key_type == ST.INT64 and len(hits) == 3
    assert [(f.name, int(f.type), f.read_only) for f in hits.fields()] == [
        ("hits", ST.UINT64, False), ("label", ST.STRING, True), ("flag", ST.BOOL, False), ("small", ST.UINT8, False),
    ]  # fmt: skip
    assert hits.row(2) == {"hits": 3, "label": "t2", "flag": False, "small": 0}
    assert metrics(plugin)["parsed"] == 9
    if mode == "built":  # every entry the library got from the host was given back
        assert plugin.backend._owner.tables_state.held == {}
    host.destroy()
    assert "sdkcount.hits" not in host.tables


@pytest.mark.parametrize("mode", MODES)
def test_parse_creates_entries_for_plugin_events(libs, mode):
    host = Inspector()
    host.load(libs["src"], "")
    host.load(where("Counter", mode), {"key": 7})
    host.open("testsrc", "count=5,batch=2")
    got = rows(host, ["sdkcount.count", "sdkcount.comm", "sdkcount.total"])
    assert got == [[i, "made by sdkcount", i] for i in range(1, 6)]
    assert host.threads.value(7, "tid") == 7 and len(host.threads) == 1
    host.destroy()


@pytest.mark.parametrize("mode", MODES)
def test_a_failing_parse_is_the_last_error(libs, mode):
    host = Inspector()
    host.load(libs["sys"], "")
    plugin = host.load(where("Counter", mode), {"fail_on": 3})
    host.open("testsys", "count=5,tids=1")
    got = rows(host, ["sdkcount.count", "sdkcount.total"])
    assert got == [[1, 1], [2, 2], [2, 3], [3, 4], [4, 5]]  # event 3 did not count, the others did
    assert plugin.last_error() == "parse_event: ValueError: cannot parse event 3"
    host.destroy()


@pytest.mark.parametrize("mode", MODES)
def test_sub_tables(libs, mode):
    host = Inspector()
    host.load(libs["sys"], "")
    host.load(where("Counter", mode), {})
    fds = host.threads.read(host.threads.ensure(2), host.threads.field("file_descriptors"))
    fds.set(3, name="/etc/passwd", fd=3)
    fds.set(9, name="/tmp/x", fd=9)
    host.open("testsys", "count=4,tids=1:2")
    fds_of_2 = ["3:/etc/passwd", "9:/tmp/x"]
    assert rows(host, ["sdkcount.fds"]) == [[None], [fds_of_2], [None], [fds_of_2]]
    host.destroy()


@pytest.mark.parametrize("mode", MODES)
def test_a_c_plugin_reads_and_writes_an_owned_table(libs, mode):
    host = Inspector()
    host.load(libs["sys"], "")
    host.load(where("Counter", mode), {})
    lines: list[str] = []
    script = (
        "init:table T sdkcount.hits int64;fields T;field H T hits uint64;field L T label string;"
        "field S T small uint8;addfield X T cplugin.x uint64;field B T label uint64;field N T seen string"
        "|parse:get E T $tid;read E H T;read E L T;write E L T nope;write E S T 200;write E X T 7;read E X T;"
        "release T E;size T;get E T 99"
    )
    load(host, libs["tables"], script, lines)
    host.open("testsys", "count=1,tids=2")
    list(host.batches())
    results = [line.split(" => ", 1)[1] for line in lines]
    assert results[:8] == [
        "ok",
        "ok n=4 hits:uint64:0,label:string:1,flag:bool:0,small:uint8:0",  # the private field is not listed
        "ok", "ok", "ok", "ok",
        "FAIL incompatible data types for static field: label",
        "FAIL undefined field 'seen' in table 'sdkcount.hits'",
    ]  # fmt: skip
    assert results[8:] == [
        "ok", "ok 1", "ok 't2'",
        "FAIL can't set a read-only static struct field: label",
        "ok", "ok", "ok 7", "done", "ok 1",
        "FAIL get_entry found no element at given key",
    ]  # fmt: skip
    hits = host.table("sdkcount.hits")
    assert hits.row(2) == {"hits": 1, "label": "t2", "flag": False, "small": 200, "cplugin.x": 7}
    host.destroy()


# -- table operations and their errors, through the Probe plugin ---------------------------------------


def probe(libs: dict[str, str], mode: str, script: dict[str, list[str]], params: str = "count=1,tids=42",
          before: Any = None) -> list[str]:  # fmt: skip
    host = Inspector()
    host.load(libs["sys"], "")
    if before is not None:
        before(host)
    lines: list[str] = []
    load(host, where("Probe", mode), script, lines)
    host.open("testsys", params)
    list(host.batches())
    host.destroy()
    return [line.split(" => ", 1)[1] for line in lines]


@pytest.mark.parametrize("mode", MODES)
def test_table_access_at_init(libs, mode):
    got = probe(libs, mode, {"init": [
        "tables.list()['threads']",
        "tables.access('nope')",
        "tables.access('nope', optional=True)",
        "tables.access('threads', key=str)",
        "tables.access('threads', fields={'comm': int})",
        "tables.access('threads', fields={'nope': str})",
        "tables.access('threads', fields={'comm': Dynamic[str]})",
        "tables.access('threads', fields={'probe.n': Dynamic[UInt64]}).key_type",
        "tables.access('threads', fields={'probe.n': Dynamic[str]})",
        "tables.access('threads', fields={'probe.n': Dynamic[int]})._types",
        "tables.access('threads', fields={'pid': UInt32})",
        "tables.access('threads', fields=Thread).name",
        "class BadFd(TableFields):\n    nope: str",
        "tables.access('threads', fields={'file_descriptors': AccessedTable[int, BadFd]})",
    ]})  # fmt: skip
    assert got == [
        "<StateType.INT64: 4>",
        "TableError: the host has no table named 'nope'",
        "None",
        "TableError: table in registry accessed with wrong key type: table='threads', requested='string', actual='int64'",
        "TableError: incompatible data types for static field: comm",
        "TableError: undefined field 'nope' in table 'threads'",
        "TableError: can't add dynamic field already defined as static: comm",
        "<StateType.INT64: 4>",
        "TableError: multiple definitions of dynamic field with different types in struct: probe.n, "
        "prevtype=uint64, newtype=string",
        "[<StateType.UINT64: 8>]",  # a plain int takes the type the field has
        "TableError: incompatible data types for static field: pid",
        "'threads'",
        "ok",
        "TableError: undefined field 'nope' in table 'file_descriptors'",  # sub-table fields: at init too
    ]


@pytest.mark.parametrize("mode", MODES)
def test_table_operations_while_parsing(libs, mode):
    got = probe(libs, mode, {
        "init": ["t = tables.access('threads', fields=Thread)"],
        "parse": [
            "e = t[event.tid]; e.count += 5",
            "(e.tid, e.comm, e.count, e.uid)",
            "e.comm = 'probed'",
            "e.comm",
            "t[event.tid]['exe']",
            "t[event.tid]['probe.count']",
            "t[12345]",
            "t.get(12345, 'missing')",
            "(42 in t, 12345 in t, len(t))",
            "e.cwd = '/'",
            "e.uid = -1",
            "e.uid = 2**32",
            "e.comm = 5",
            "e.comm = 'a\\0b'",
            "e.file_descriptors = None",
            "t[event.tid]['nope']",
            "t[event.tid]['nope'] = 1",
            "t['x']",
            "n = t.add(7, comm='seven', uid=3)",
            "(n.tid, n.comm, n.uid, n.count)",
            "sorted(x.tid for x in t)",
            "t.erase(12345)",
            "del t[12345]",
            "t.erase(7)",
            "7 in t",
            "f = t.add_field('probe.extra', bool)",
            "e[f] = True",
            "(f.type, e[f], e['probe.extra'])",
            "t.field('comm').type",
            "t.field('nope')",
            "fds = e.file_descriptors",
            "fds.add(5, name='five', fd=5).name",
            "sorted((d.fd, d.name) for d in e.file_descriptors)",
            "(len(e.file_descriptors), 5 in e.file_descriptors, e.file_descriptors[5].name)",
            "e.file_descriptors.erase(5)",
            "len(e.file_descriptors)",
            "tables.access('threads')",
            "e.as_dict()['comm']",
            "t.clear()",
            "len(t)",
        ],
    })  # fmt: skip
    assert got == [
        "ok",  # init
        "ok",
        "(42, '<NA>', 5, 4294967295)",
        "ok",
        "'probed'",
        "'<NA>'",
        "5",
        "KeyError: 12345",
        "'missing'",
        "(True, False, 1)",
        "TableError: can't set a read-only static struct field: cwd",
        "TableError: field uid of table threads: -1 is out of range for uint32",
        "TableError: field uid of table threads: 4294967296 is out of range for uint32",
        "TableError: field comm of table threads: expected a str, got int",
        "TableError: field comm of table threads: a string value may not hold a NUL character",
        "TableError: writing to table fields is currently not supported",
        "TableError: undefined field 'nope' in table 'threads'",
        "TableError: undefined field 'nope' in table 'threads'",
        "TableError: table threads: a key must be an int, not str",
        "ok",
        "(7, 'seven', 3, 0)",
        "[7, 42]",
        "TableError: table entry not found",
        "KeyError: 12345",
        "None",
        "False",
        "ok",
        "ok",
        "(<StateType.BOOL: 25>, True, True)",
        "<StateType.STRING: 9>",
        "TableError: undefined field 'nope' in table 'threads'",
        "ok",
        "'five'",
        "[(5, 'five')]",
        "(1, True, 'five')",
        "None",
        "0",
        "TableError: tables can only be accessed or added during init",
        "'probed'",
        "None",
        "0",
    ]


@pytest.mark.parametrize("mode", MODES)
def test_owned_tables_added_at_init(libs, mode):
    got = probe(libs, mode, {
        "init": [
            "own = tables.add(Table('probe.own', key=str, entry=Hits))",
            "own.add('a', label='A').hits",
            "tables.add(Table('threads', key=int, entry=Hits))",
            "tables.add(Table('probe.own', key=str, entry=Hits))",
        ],
        "parse": [
            "own['a'].hits = 'bad'",
            "own['b'] = Hits(small=300)",
            "tables.add(Table('probe.late', key=str, entry=Hits))",
        ],
        "open": ["len(own)"],
    })  # fmt: skip
    assert got == [
        "ok", "0",
        "TableError: table added to registry multiple times: threads",
        "TableError: table added to registry multiple times: probe.own",
        "1",  # capture_open comes before the first event
        "ok", "ok",
        "TableError: tables can only be accessed or added during init",
    ]  # fmt: skip


@pytest.mark.parametrize("mode", MODES)
def test_a_table_a_c_plugin_owns(libs, mode):
    def c_owner(host: Inspector) -> None:
        load(host, libs["tables"], "init:own ctab uint64")

    got = probe(libs, mode, {
        "init": ["c = tables.access('ctab', key=int, fields={'value': UInt64, 'label': str})", "c.key_type"],
        "parse": [
            "e = c.add(5, value=3, label='five')",
            "(e.value, e.label, len(c), 5 in c, 6 in c)",
            "e.value += 1",
            "c[5].value",
            "sorted(x.label for x in c)",
            "c[6]",
            "c.erase(6)",
            "c.erase(5)",
            "len(c)",
        ],
    }, before=c_owner)  # fmt: skip
    assert got == [
        "ok", "<StateType.UINT64: 8>",
        "ok", "(3, 'five', 1, True, False)", "ok", "4", "['five']", "KeyError: 6",
        "TableError: owned: no entry to erase", "None", "0",
    ]  # fmt: skip


@pytest.mark.parametrize("mode", MODES)
def test_values_of_an_owned_table_are_checked_when_others_read_them(libs, mode):
    host = Inspector()
    host.load(libs["sys"], "")
    lines: list[str] = []
    load(host, where("Probe", mode), {"init": [
        "own = tables.add(Table('probe.own', key=str, entry=Hits))",
        "own.add('a').hits = 'bad'",
        "own.add('b').small = 300",
        "own.add('c', hits=5)",
    ]}, lines)  # fmt: skip
    own = host.table("probe.own")
    assert own.value("c", "hits") == 5
    with pytest.raises(TableError, match=r"field hits of table probe.own: expected an int, got str \(the value the plugin stored\)"):
        own.value("a", "hits")
    with pytest.raises(TableError, match="field small of table probe.own: 300 is out of range for uint8"):
        own.value("b", "small")
    with pytest.raises(TableError, match="can't set a read-only static struct field: label"):
        own.set("c", label="x")
    own.set("c", hits=6)
    assert own.value("c", "hits") == 6
    host.destroy()


@pytest.mark.parametrize("mode", MODES)
def test_tables_the_host_cannot_give_fail_init(libs, mode):
    host = Inspector()
    with pytest.raises(PluginError, match=r"could not initialize plugin: init: TableError: the host has no table named 'nope'"):
        host.load(where("Missing", mode), "")
    host = Inspector()
    with pytest.raises(PluginError, match=r"init: TableError: the host gives state tables only to plugins that parse events or extract fields"):
        host.load(where("NoTables", mode), "")


def test_declared_tables_are_resolved_before_init_and_optional_ones_may_be_missing(libs):
    host = Inspector()

    class OptionalTables(ParsePlugin):
        name, version = "sdkoptional", "0.1.0"
        maybe = TableAccess("maybe", key=int, optional=True)
        threads = TableAccess("threads", key=int)

        def init(self) -> None:
            self.seen = (self.maybe, len(self.threads), type(self.threads).__name__)

        def parse(self, event: Event) -> None:
            pass

    plugin = host.load(OptionalTables, "")
    assert plugin.backend.driver.plugin.seen == (None, 0, "AccessedTable")
    assert "sdkoptional" in host.tables.users  # a table user: extraction waits for parsing


# -- async events ------------------------------------------------------------------------------------


def async_host(libs: dict[str, str], mode: str, config: dict[str, Any], source: str = "sys",
               params: str = "count=1,forever=1", **kwargs: Any) -> tuple[Inspector, Any, list[str]]:  # fmt: skip
    host = Inspector(**kwargs)
    host.load(libs[source], "")
    lines: list[str] = []
    plugin = load(host, where("Ticker", mode), config, lines)
    host.open(params=params)
    return host, plugin, lines


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("variant", ["threads", "run_async"])
def test_async_events_from_a_background_task(libs, mode, variant):
    config = {"count": 5} if variant == "threads" else {"count": 5, "mode": "run_async"}
    host, plugin, lines = async_host(libs, mode, config)
    events = asyncs(live(host, lambda ev: len(asyncs(ev)) >= 5))
    assert [(e.async_name, e.payload, e.plugin_id, e.source) for e in events] == [
        ("tick", f"T0:{i}".encode(), 0, "syscall") for i in range(5)
    ]
    assert plugin.async_running
    host.close()
    assert not plugin.async_running and metrics(plugin) == {"sent": 5, "failed": 0, "alive": 0}
    assert not lines
    host.destroy()


@pytest.mark.parametrize("mode", MODES)
def test_many_threads_at_once_under_load_lose_nothing(libs, mode):
    threads, per_thread = 8, 2000
    host, plugin, lines = async_host(libs, mode, {"threads": threads, "count": per_thread},
                                     params="count=1000000000,batch=64", async_queue_size=threads * per_thread)  # fmt: skip
    events, source_events = [], 0
    timer = threading.Timer(60, host.interrupt)
    timer.start()
    for batch in host.batches():  # the reader keeps going (parsing, numbering) while 8 threads send
        source_events += len(batch)
        events += [e for e in batch if e.type == PPME_ASYNCEVENT_E]
        if len(events) >= threads * per_thread:
            host.interrupt()
    timer.cancel()
    host.close()
    assert not lines and len(events) == threads * per_thread and source_events > len(events)
    seen: dict[int, list[int]] = collections.defaultdict(list)
    for e in events:
        t, seq = e.payload.decode().lstrip("T").split(":")
        seen[int(t)].append(int(seq))
    # every event once, each thread's in the order it sent them
    assert seen == {t: list(range(per_thread)) for t in range(threads)}
    assert metrics(plugin)["sent"] == threads * per_thread and host.async_queue.dropped_full == 0
    host.destroy()


@pytest.mark.parametrize("mode", MODES)
def test_refused_events_raise_with_the_hosts_message(libs, mode):
    host, plugin, lines = async_host(libs, mode, {"count": 4, "name": "bogus"}, params="count=1,forever=1")
    wait_for(lambda: metrics(plugin)["failed"] == 4)
    host.close()
    assert metrics(plugin)["failed"] == 4 and metrics(plugin)["sent"] == 0
    assert lines == ["emit failed: incompatible async event 'bogus' produced by plugin: sdkticker"] * 3
    host, plugin, lines = async_host(libs, mode, {"count": 2, "tid": 5}, source="gen", params="count=1,forever=1")
    live(host, lambda ev: metrics(plugin)["failed"] == 2, timeout=10)
    host.close()
    assert lines == ["emit failed: async events of plugin 'sdkticker' can have no thread associated with open event source 'gen'"] * 2


@pytest.mark.parametrize("mode", MODES)
def test_a_failing_start_refuses_the_handler(libs, mode):
    host = Inspector()
    host.load(libs["sys"], "")
    plugin = host.load(where("Ticker", mode), {"fail_start": True})
    with pytest.raises(PluginError, match=r"can't set async event handler for plugin 'sdkticker' : "
                                          r"set_async_event_handler: RuntimeError: cannot start on purpose"):  # fmt: skip
        host.open("testsys", "count=1")
    assert not plugin.async_running and host.input is None


@pytest.mark.parametrize("mode", MODES)
def test_reset_stops_and_joins_the_tasks(libs, mode):
    host, plugin, _ = async_host(libs, mode, {"threads": 3, "count": 10**9, "pace": 0.001},
                                 async_queue_size=100000)  # fmt: skip
    live(host, lambda ev: len(asyncs(ev)) >= 30)
    assert metrics(plugin)["alive"] == 3
    host.close()
    sent = metrics(plugin)
    assert sent["alive"] == 0
    time.sleep(0.05)
    assert metrics(plugin)["sent"] == sent["sent"]  # nothing after the reset
    assert len(host.async_queue) == 0
    host.destroy()


@pytest.mark.parametrize("mode", MODES)
def test_a_task_that_does_not_stop_cannot_reach_the_host_after_the_reset(libs, mode, caplog):
    host, plugin, lines = async_host(libs, mode, {"count": 1, "hang": 0.4, "stop_timeout": 0.05})
    live(host, lambda ev: len(asyncs(ev)) >= 1)
    start = time.monotonic()
    host.close()
    assert time.monotonic() - start < 0.3  # the host is not blocked by the plugin's thread
    assert lines == ["task ticker-0 still running"]
    pushed = host.async_queue.pushed
    time.sleep(0.6)  # the thread wakes up and emits: refused by the SDK, not sent to the host
    assert host.async_queue.pushed == pushed and metrics(plugin)["alive"] == 0
    host.destroy()


@pytest.mark.parametrize("mode", MODES)
def test_a_failing_stop_is_reported_and_the_handler_is_released(libs, mode):
    host, plugin, lines = async_host(libs, mode, {"count": 2, "fail_stop": True})
    live(host, lambda ev: len(asyncs(ev)) >= 2)
    host.close()
    assert plugin.last_error() == "set_async_event_handler: RuntimeError: cannot stop on purpose"
    assert lines == ["stop_async failed: RuntimeError: cannot stop on purpose"]
    # the handler is gone on the plugin's side all the same: the next open works
    host.open("testsys", "count=1,forever=1")
    host.close()
    host.destroy()


@pytest.mark.parametrize("mode", MODES)
def test_a_failing_task_is_logged_and_the_host_goes_on(libs, mode):
    host, plugin, lines = async_host(libs, mode, {"threads": 2, "boom": True})
    wait_for(lambda: len(lines) == 2)
    assert sorted(lines) == ["background task ticker-0 failed: ValueError: task 0 exploded",
                             "background task ticker-1 failed: ValueError: task 1 exploded"]  # fmt: skip
    host.close()
    assert metrics(plugin)["alive"] == 0
    host.destroy()


@pytest.mark.parametrize("mode", MODES)
def test_dump_state(libs, mode):
    host = Inspector()
    host.load(libs["sys"], "")
    host.load(where("Ticker", mode), {"dump": 3})
    events = [HostEvent(raw) for raw in host.dump_state_events()]
    assert [(e.async_name, e.payload, e.ts, e.plugin_id) for e in events] == [
        ("state", b"S0", 1000, 0), ("state", b"S1", 1001, 0), ("state", b"S2", 1002, 0),
    ]  # fmt: skip
    host = Inspector()
    host.load(where("Ticker", mode), {"dump": 1, "dumpbad": True})
    with pytest.raises(PluginError, match=r"dump error for plugin 'sdkticker' : dump_state: AsyncEventError: "
                                          r"incompatible async event 'bogus' produced by plugin: sdkticker"):  # fmt: skip
        host.dump_state_events()


# -- capture listening -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_routines_run_until_they_are_done(libs, mode):
    host = Inspector()
    host.load(libs["sys"], "")
    lines: list[str] = []
    plugin = load(host, where("Listener", mode), {"routines": 3, "steps": 5}, lines)
    host.open("testsys", "count=1")
    wait_for(lambda: metrics(plugin)["done"] == 3)
    assert metrics(plugin) == {"open_calls": 1, "close_calls": 0, "runs": 15, "done": 3}
    wait_for(lambda: len(host.routines) == 0)
    host.close()
    assert metrics(plugin)["close_calls"] == 1 and lines == ["open: 3 routines"]
    host.destroy()


@pytest.mark.parametrize("mode", MODES)
def test_a_failing_routine_ends_and_the_others_go_on(libs, mode):
    host = Inspector()
    host.load(libs["sys"], "")
    lines: list[str] = []
    plugin = load(host, where("Listener", mode), {"routines": 2, "boom": True}, lines)
    host.open("testsys", "count=1")
    wait_for(lambda: len(host.routines) == 0)
    assert metrics(plugin)["runs"] == 4  # each ran twice: the second run raised
    assert sorted(lines[1:]) == ["routine Listener.step failed: ValueError: routine 0 exploded",
                                 "routine Listener.step failed: ValueError: routine 1 exploded"]  # fmt: skip
    host.destroy()


@pytest.mark.parametrize("mode", MODES)
def test_unsubscribe_at_close(libs, mode):
    host = Inspector()
    host.load(libs["sys"], "")
    lines: list[str] = []
    plugin = load(host, where("Listener", mode), {"routines": 2, "unsub": True, "sleep": 0.002}, lines)
    host.open("testsys", "count=1")
    wait_for(lambda: metrics(plugin)["runs"] >= 4)
    assert len(host.routines) == 2
    host.close()
    assert lines[1:] == ["close: unsubscribed False"] * 2 and len(host.routines) == 0
    # routines that ended are unknown to the host
    host.open("testsys", "count=1")
    host.close()
    host.destroy()
    lines.clear()
    host = Inspector()
    host.load(libs["sys"], "")
    plugin = load(host, where("Listener", mode), {"routines": 1, "steps": 1, "unsub": True}, lines)
    host.open("testsys", "count=1")
    wait_for(lambda: metrics(plugin)["done"] == 1 and len(host.routines) == 0)
    host.close()
    assert lines[1:] == ["close: unsubscribe failed: unsubscribe called with an unknown routine"]
    host.destroy()


@pytest.mark.parametrize("mode", MODES)
def test_a_failing_capture_open_fails_the_open(libs, mode):
    host = Inspector()
    host.load(libs["sys"], "")
    host.load(where("Listener", mode), {"fail_open": True})
    with pytest.raises(PluginError, match=r"capture_open error for plugin 'sdklisten' : capture_open: RuntimeError: cannot open on purpose"):
        host.open("testsys", "count=1")


@pytest.mark.parametrize("mode", MODES)
def test_a_failing_capture_close_is_the_last_error(libs, mode, caplog):
    host = Inspector()
    host.load(libs["sys"], "")
    plugin = host.load(where("Listener", mode), {"fail_close": True, "routines": 1})
    host.open("testsys", "count=1")
    with caplog.at_level("WARNING", "falcoplug.plugin"):
        host.close()  # the framework warns, and goes on: the routines are purged
    assert "capture_close error for plugin 'sdklisten' : capture_close: RuntimeError: cannot close on purpose" in caplog.text
    assert len(host.routines) == 0 and metrics(plugin)["close_calls"] == 1
    host.destroy()


@pytest.mark.parametrize("mode", MODES)
def test_routines_and_tables_during_a_capture(libs, mode):
    got = probe(libs, mode, {
        "init": ["t = tables.access('threads', fields=Thread)"],
        "open": [
            "r = capture.routines.subscribe(lambda: True)",
            "len(t)",
            "capture.routines.subscribe(42)",
        ],
        "close": ["len(t)", "len(capture.routines.active)", "capture.routines.unsubscribe(r)", "r.active"],
    }, params="count=2,tids=1:2")  # fmt: skip
    assert got == ["ok", "ok", "0", "TypeError: subscribe() takes a callable, not int", "2", "1", "None", "False"]


# -- what is checked when a class is defined ---------------------------------------------------------------


def test_entry_points_of_each_capability():
    class Parser(ParsePlugin):
        name, version = "p", "0.1.0"
        parse_event_types = [322, 2]
        parse_event_sources = ["x"]
        required_event_schema_version = "3.0.0"

        def parse(self, event: Event) -> None: ...

    class Async(AsyncPlugin):
        name, version = "a", "0.1.0"
        async_events = ["x", "y"]

        def run_async(self, emit: Emitter, task: BackgroundTask) -> None: ...

        def dump_state(self, emit: Emitter) -> None: ...

    class Listen(CaptureListenPlugin):
        name, version = "l", "0.1.0"

        def capture_open(self, capture: Any) -> None: ...

    common = {"get_required_api_version", "get_version", "get_name", "get_description", "get_contact", "init",
              "destroy", "get_last_error"}  # fmt: skip
    assert describe(Parser).entry_points == common | {
        "parse_event", "get_parse_event_types", "get_parse_event_sources", "get_required_event_schema_version"
    }  # fmt: skip
    assert describe(Parser).parsing.event_types == (2, 322)
    assert describe(Async).entry_points == common | {"get_async_events", "set_async_event_handler", "dump_state"}
    assert describe(Async).async_events.names_json == '["x", "y"]'
    assert describe(Listen).entry_points == common | {"capture_open", "capture_close"}
    assert describe(Listen).capabilities == ("capture listening",)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("class C(ParsePlugin):\n name, version = 'c', '0.1.0'",
         "a ParsePlugin must implement parse(self, event)"),
        ("class C(ParsePlugin):\n name, version = 'c', '0.1.0'\n parse_event_types = []\n def parse(self, e): pass",
         "parse_event_types must be a non-empty list of event codes"),
        ("class C(AsyncPlugin):\n name, version = 'c', '0.1.0'\n def run_async(self, e, t): pass",
         "an AsyncPlugin must declare async_events"),
        ("class C(AsyncPlugin):\n name, version = 'c', '0.1.0'\n async_events = ['a', 'a']\n def run_async(self, e, t): pass",
         "async_events lists a name twice"),
        ("class C(AsyncPlugin):\n name, version = 'c', '0.1.0'\n async_events = ['a']",
         "an AsyncPlugin must implement run_async"),
        ("class C(CaptureListenPlugin):\n name, version = 'c', '0.1.0'",
         "a CaptureListenPlugin must implement capture_open"),
        ("class F(TableFields):\n x: float\nclass C(ParsePlugin):\n name, version = 'c', '0.1.0'\n"
         " t = TableAccess('threads', fields=F)\n def parse(self, e): pass",
         "F.x: <class 'float'> is not a table field type"),
        ("class F(TableFields):\n x: Readonly[int]\nclass C(ParsePlugin):\n name, version = 'c', '0.1.0'\n"
         " t = TableAccess('threads', fields=F)\n def parse(self, e): pass",
         "Readonly and Private apply to owned tables"),
        ("class F(TableFields):\n x: Dynamic[AccessedTable[int, TableFields]]\nclass C(ParsePlugin):\n"
         " name, version = 'c', '0.1.0'\n t = TableAccess('threads', fields=F)\n def parse(self, e): pass",
         "a dynamic field cannot be a table"),
        ("class E(TableEntry):\n x: float = 1.0\nclass C(ParsePlugin):\n name, version = 'c', '0.1.0'\n"
         " t = OwnedTable('t', entry=E)\n def parse(self, e): pass",
         "mark it Private[...] to keep it to the plugin"),
        ("class E(TableEntry):\n x: UInt8 = 300\nclass C(ParsePlugin):\n name, version = 'c', '0.1.0'\n"
         " t = OwnedTable('t', entry=E)\n def parse(self, e): pass",
         "default of E.x: 300 is out of range for uint8"),
        ("class C(ParsePlugin):\n name, version = 'c', '0.1.0'\n t = OwnedTable('t', key=float, entry=TableEntry)\n"
         " def parse(self, e): pass",
         "the key type must be int"),
        ("class C(ParsePlugin):\n name, version = 'c', '0.1.0'\n t = OwnedTable('t', entry=int)\n"
         " def parse(self, e): pass",
         "entry must be a TableEntry class"),
    ],
)
def test_definition_errors(body, message):
    scope: dict[str, Any] = dict(globals())
    with pytest.raises(PluginDefinitionError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        exec(body, scope)  # noqa: S102
        describe(scope["C"])


# -- the pieces, without a host -----------------------------------------------------------------------------


class Sample(TableEntry):
    count: int = 0
    small: Int8 = -1
    name: Readonly[str] = "none"
    flag: bool = False
    history: Private[list] = []
    note: Private[str]


def test_owned_table_is_a_dict_of_plain_entries():
    table: Table[str, Sample] = Table("samples", key=str, entry=Sample)
    a = table.add("a", count=3)
    assert (a.count, a.small, a.name, a.flag, a.history, a.note) == (3, -1, "none", False, [], None)
    b = table.add("b")
    b.history.append(1)
    assert a.history == [] and table["b"].history == [1]  # mutable defaults are per entry
    assert list(table) == ["a", "b"] and table.keys() == ["a", "b"] and len(table) == 2 and "a" in table
    assert table.get("z") is None and table.pop("b") is b and table.items() == [("a", a)]
    table["c"] = Sample(name="C")
    with pytest.raises(TypeError, match="holds Sample entries"):
        table["d"] = object()  # type: ignore[assignment]
    with pytest.raises(TableError, match="key: expected a str, got int"):
        table[3] = Sample()  # type: ignore[index]
    with pytest.raises(TypeError, match="Sample has no field 'nope'"):
        Sample(nope=1)
    del table["c"]
    table.clear()
    assert len(table) == 0 and bool(table)
    assert repr(Sample(count=2)) == "Sample(count=2, small=-1, name='none', flag=False)"


def test_owned_table_as_other_plugins_see_it():
    table = Table("samples", key=Int8, entry=Sample)
    assert table.key_type == ST.INT8
    assert [(d.name, d.type, d.read_only) for d in table.fields()] == [
        ("count", ST.INT64, False), ("small", ST.INT8, False), ("name", ST.STRING, True), ("flag", ST.BOOL, False),
    ]  # fmt: skip
    entry = table.add_entry(5, table.new_entry())
    count = table.get_field("count", ST.INT64)
    table.write(entry, count, 7)
    assert entry.count == 7 and table.read(entry, count) == 7
    with pytest.raises(TableError, match="incompatible data types for static field: count"):
        table.get_field("count", ST.UINT64)
    with pytest.raises(TableError, match="undefined field 'history' in table 'samples'"):
        table.get_field("history", ST.STRING)
    extra = table.add_field("extra", ST.STRING)
    assert table.add_field("extra", ST.STRING) is extra and table.read(entry, extra) == ""
    table.write(entry, extra, "x")
    assert table.read(entry, extra) == "x" and entry._dyn == ["x"]
    with pytest.raises(TableError, match="multiple definitions of dynamic field with different types"):
        table.add_field("extra", ST.BOOL)
    with pytest.raises(TableError, match="can't add dynamic field already defined as static: count"):
        table.add_field("count", ST.INT64)
    with pytest.raises(TableError, match="can't add dynamic field of type table: t"):
        table.add_field("t", ST.TABLE)
    with pytest.raises(TableError, match="key: 300 is out of range for int8"):
        table.add_entry(300, table.new_entry())
    with pytest.raises(TableError, match="get_entry found no element at given key"):
        table.get_entry(6)
    with pytest.raises(TableError, match="table entry not found"):
        table.erase(6)
    with pytest.raises(TableError, match="was not created by it"):
        table.add_entry(1, object())
    table.set(5, flag=True)
    assert table.row(5) == {"count": 7, "small": -1, "name": "none", "flag": True, "extra": "x"}


def test_encoded_async_events():
    raw = encode_async_event("tick", "data", ts=5, tid=7, plugin_id=3)
    event = HostEvent(raw)
    assert (event.type, event.async_name, event.payload, event.ts, event.tid, event.plugin_id) == (
        402, "tick", b"data", 5, 7, 3,
    )  # fmt: skip
    assert HostEvent(encode_async_event("x")).ts == 2**64 - 1 and HostEvent(encode_async_event("x")).tid == 2**64 - 1
    sdk_event = Event(raw, 1, "syscall")
    assert (sdk_event.async_name, sdk_event.async_data, sdk_event.is_async, sdk_event.tid) == ("tick", b"data", True, 7)
    assert Event(encode_async_event("x")).tid == -1
    for bad, message in ((dict(name=""), "non-empty str"), (dict(name="x", data=1), "bytes or str"),
                         (dict(name="x", ts=-1), "ts must be"), (dict(name="x", tid=2**63), "tid must be"),
                         (dict(name="x", plugin_id=-1), "plugin_id must be")):  # fmt: skip
        with pytest.raises(TypeError, match=message):
            encode_async_event(**bad)  # type: ignore[arg-type]


def test_emitter_and_background_task():
    got: list[bytes] = []

    def refuse(raw: bytes) -> None:
        if HostEvent(raw).async_name == "no":
            raise ValueError("refused by the host")
        got.append(raw)

    emit = Emitter(refuse, "p")
    emit("yes", b"1")
    with pytest.raises(AsyncEventError, match="refused by the host"):
        emit("no")
    assert emit.sent == 1 and len(got) == 1

    rounds = []
    task = BackgroundTask(lambda: [rounds.append(1) for _ in iter(lambda: task.keep_running(0.001), False)])
    task.start()
    time.sleep(0.02)
    assert task.alive and task.stop() and not task.alive and rounds and task.error is None
    with pytest.raises(RuntimeError, match="already started"):
        task.start()
    emit.close()
    with pytest.raises(AsyncEventError, match="async event sent after the handler was reset: p"):
        emit("yes")
    failing = BackgroundTask(lambda: 1 / 0).start()
    failing.stop()
    assert isinstance(failing.error, ZeroDivisionError)


def test_accessed_table_views_release_what_they_hold():
    released: list[Any] = []

    class Backend:
        name, key_type, needs_release = "t", ST.INT64, True

        def fields(self) -> list[Any]:
            return []

        def get_entry(self, key: Any) -> Any:
            return None if key == 0 else f"e{key}"

        def release(self, entry: Any) -> None:
            released.append(entry)

        def entries(self) -> list[Any]:
            return ["e1", "e2"]

        read = write = read_table = None

    table = AccessedTable(Backend(), TableFields, "int", ST.INT64)  # type: ignore[arg-type]
    view = table[1]
    assert released == []
    del view
    assert released == ["e1"]
    assert 2 in table and released == ["e1", "e2"]
    assert table.get(0) is None and 0 not in table
    assert sum(1 for _ in table) == 2 and released == ["e1", "e2"]  # iteration gives entries nobody holds
    with pytest.raises(KeyError):
        table[0]


# -- the examples of docs/sdk.md ---------------------------------------------------------------------------


def test_the_examples_of_the_docs_are_valid_plugins(libs):
    from test_docs import doc_plugins  # the examples, as tests/test_docs.py runs them

    plugins = doc_plugins("sdk.md")
    assert {"Biggest", "Mine", "Counter", "Clock", "Sweeper"} <= set(plugins)
    for cls in plugins.values():
        describe(cls)
    host = Inspector()
    host.load(libs["sys"], "")
    host.load(plugins["Mine"], "")
    host.load(plugins["Counter"], "")
    host.open("testsys", "count=6,tids=1:2")
    got = rows(host, ["mine.fds"])
    assert len(got) == 6 and host.threads.value(1, "mine.events") == 3
    assert host.table("counter.counts").row(0) == {"events": 6, "label": "type 0"}
    host.destroy()
