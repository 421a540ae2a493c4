"""State tables: the registry, the host's tables behind the C vtables, plugin-owned tables and
every check and message of libsinsp, driven by a scripted C plugin (tests/plugins/table_plugin.c)."""

from __future__ import annotations

import threading

import pytest
from cbuild import build_plugin, cstr

from falcoplug.abi.constants import StateType as ST
from falcoplug.backend import TableError
from falcoplug.framework import Inspector
from falcoplug.framework.tables import FieldSpec, HostTable, Schema, SubTable, TableRegistry, check_value
from falcoplug.framework.threads import ThreadsTable


@pytest.fixture(scope="module")
def lib() -> str:
    return str(build_plugin("table_plugin"))


def lib_named(name: str, **defines: object) -> str:
    return str(build_plugin("table_plugin", {"PLUGIN_NAME": cstr(name), **defines}))


def run(host: Inspector, lib: str, script: str) -> list[tuple[str, str]]:
    """Register and init a scripted plugin; its log as (operation, result) pairs."""
    lines: list[str] = []
    plugin = host.register(lib)
    plugin.owner.logger = lambda component, msg, sev: lines.append(msg)
    plugin.init(script)
    out = []
    for line in lines:
        op, _, result = line.partition(" => ")
        out.append((op.split(": ", 1)[1], result))
    return out


def results(host: Inspector, lib: str, *ops: str) -> list[str]:
    return [r for _, r in run(host, lib, "init:" + ";".join(ops))]


# -- the registry ----------------------------------------------------------------------------


def test_list_and_get_tables(lib):
    host = Inspector()
    got = results(host, lib, "list", "table T nosuch int64", "lasterr", "table W threads uint64",
                  "table T threads int64", "table T2 threads uint64", "table B threads 99")  # fmt: skip
    assert got[0] == "ok n=1 threads:int64"
    assert got[1] == "null (null)" and got[2] == "ok (null)"  # an unknown table: NULL, no error
    assert got[3] == "null table in registry accessed with wrong key type: table='threads', requested='uint64', actual='int64'"
    assert got[4] == "ok"
    assert got[5] == "ok"  # later calls give the cached handle, whatever the key type (as libsinsp)
    assert got[6] == "ok"


def test_invalid_key_type(lib):
    host = Inspector()
    assert results(host, lib, "table B threads 99") == ["null can't convert plugin state type to typeinfo: 99"]


def test_threads_static_fields(lib):
    host = Inspector()
    (_, got) = run(host, lib, "init:table T threads int64;fields T")[1]
    fields = dict((f.split(":")[0], f.split(":")[1:]) for f in got.split(" ", 2)[2].split(","))
    assert got.startswith("ok n=32 ")
    assert fields["tid"] == ["int64", "0"] and fields["comm"] == ["string", "0"] and fields["uid"] == ["uint32", "0"]
    assert fields["exe_writable"] == ["bool", "0"] and fields["pidns_init_start_ts"] == ["uint64", "0"]
    for name in ("file_descriptors", "env", "args", "cgroups"):
        assert fields[name] == ["table", "1"]
    assert fields["cwd"] == ["string", "1"]


def test_field_lookup_errors(lib):
    host = Inspector()
    got = results(host, lib, "table T threads int64", "field F T comm int64", "field F T nope string",
                  "field F T comm string", "field F T 77 string")  # fmt: skip
    assert got[1:] == [
        "FAIL incompatible data types for static field: comm",
        "FAIL undefined field 'nope' in table 'threads'",
        "ok",
        "FAIL undefined field '77' in table 'threads'",
    ]


def test_dynamic_fields(lib):
    host = Inspector()
    got = results(host, lib, "table T threads int64", "addfield D T mycount uint64", "addfield D T mycount uint64",
                  "addfield X T mycount string", "addfield X T comm string", "addfield X T sub table",
                  "addfield X T bad 99", "field X T mycount string", "fields T")  # fmt: skip
    assert got[1:8] == [
        "ok",
        "ok",  # the same definition again is fine
        "FAIL multiple definitions of dynamic field with different types in struct: mycount, prevtype=uint64, newtype=string",
        "FAIL can't add dynamic field already defined as static: comm",
        "FAIL can't add dynamic field of type table: sub",
        "FAIL can't convert plugin state type to typeinfo: 99",
        "FAIL incompatible data types for dynamic field: mycount",
    ]
    assert got[8].endswith(",mycount:uint64:0") and got[8].startswith("ok n=33 ")
    assert host.threads.field("mycount").dynamic


def test_entry_lifecycle(lib):
    host = Inspector()
    got = results(
        host, lib,
        "table T threads int64", "field C T comm string", "addfield D T n int32", "size T",
        "create E T", "write E C T hello", "write E D T -5", "add A T 42 E", "size T",
        "read A C T", "read A D T", "get G T 42", "read G C T", "release T G", "release T A",
        "get X T 43", "erase T 43", "erase T 42", "size T", "get X T 42",
    )  # fmt: skip
    assert got == [
        "ok", "ok", "ok", "ok 0",
        "ok", "ok", "ok", "ok", "ok 1",
        "ok 'hello'", "ok -5", "ok", "ok 'hello'", "done", "done",
        "FAIL get_entry found no element at given key", "FAIL table entry not found", "ok", "ok 0",
        "FAIL get_entry found no element at given key",
    ]  # fmt: skip


def test_added_thread_gets_its_tid_and_defaults(lib):
    host = Inspector()
    results(host, lib, "table T threads int64", "create E T", "add A T 9 E", "release T A")
    row = host.threads.row(9)
    assert row["tid"] == 9 and row["comm"] == "" and row["pid"] == -1 and row["uid"] == 0xFFFFFFFF


def test_write_rules(lib):
    host = Inspector()
    got = results(
        host, lib,
        "table T threads int64", "create E T", "add A T 1 E", "field CWD T cwd string",
        "write A CWD T /tmp", "field FD T file_descriptors table", "write A FD T 0",
        "field U T uid uint32", "write A U T 7", "read A U T",
    )  # fmt: skip
    assert got[4] == "FAIL can't set a read-only static struct field: cwd"
    assert got[6] == "FAIL writing to table fields is currently not supported"
    assert got[8:] == ["ok", "ok 7"]


def test_create_add_destroy_rules(lib):
    host = Inspector()
    got = results(
        host, lib,
        "table T threads int64", "create E T", "add A T 3 E", "destroy T A", "lasterr",
        "add B T 4 A", "add C T 4 NOSUCH", "create F T", "destroy T F", "add G T 5 F",
    )  # fmt: skip
    assert got[3:] == [
        "done", "ok destroy_table_entry called on entry not created by create_table_entry",
        "FAIL add_entry called on entry not created by create_table_entry",
        "FAIL add_entry called on entry not created by create_table_entry",
        "ok", "done",
        "FAIL add_entry called on entry not created by create_table_entry",  # destroyed already
    ]


def test_owner_last_error_is_never_cleared(lib):
    host = Inspector()
    got = results(host, lib, "table T threads int64", "get X T 1", "lasterr", "size T", "lasterr")
    assert got[2] == got[4] == "ok get_entry found no element at given key"


def test_iteration_and_clear(lib):
    host = Inspector()
    for tid in (1, 2, 3, 4):
        host.threads.ensure(tid)
    got = results(host, lib, "table T threads int64", "iter T", "iter T 2", "clear T", "size T", "iter T")
    assert got[1:] == ["ok ret=1 visited=4", "ok ret=0 visited=2", "ok", "ok 0", "ok ret=1 visited=0"]


def test_sub_tables(lib):
    host = Inspector()
    host.threads.ensure(1)
    host.threads.ensure(2)
    got = results(
        host, lib,
        "table T threads int64", "field FDS T file_descriptors table", "get A T 1", "sub FD A FDS T int64",
        "fields FD", "field NAME FD name string", "addfield TAG FD tag string", "create F FD",
        "write F NAME FD /etc/passwd", "write F TAG FD x", "add F2 FD 3 F", "size FD",
        "get B T 2", "sub FD2 B FDS T int64", "size FD2", "create G FD2", "write G NAME FD2 /bin/sh",
        "add G2 FD2 0 G", "read G2 NAME FD2", "read G2 TAG FD2", "field ENV T env table", "sub EV A ENV T uint64",
        "fields EV", "field ARGS T args table", "sub AR A ARGS T uint64", "field CG T cgroups table",
        "sub CG1 A CG T uint64", "fields CG1",
    )  # fmt: skip
    assert got[3] == "ok table"
    assert got[4].startswith("ok n=32 type:uint8:0,open_flags:uint32:0,name:string:0")
    assert got[11] == "ok 1" and got[14] == "ok 0"
    assert got[18] == "ok '/bin/sh'" and got[19] == "ok ''"  # fields of one fd table work on all of them
    assert got[22] == "ok n=1 value:string:0"
    assert got[27] == "ok n=2 first:string:0,second:string:0"
    fds = host.threads.value(1, "file_descriptors")
    assert fds.value(3, "name") == "/etc/passwd" and fds.value(3, "tag") == "x"
    assert host.threads.value(2, "file_descriptors").value(0, "name") == "/bin/sh"


def test_read_zeroes_output_and_legacy_vtables(lib):
    host = Inspector()
    got = results(host, lib, "table T threads int64", "addfield B T flag bool", "create E T",
                  "add A T 1 E", "read A B T", "addfield S T s8 int8", "read A S T", "legacy")  # fmt: skip
    assert got[4] == "ok false" and got[6] == "ok 0" and got[7] == "ok"


def test_dynamic_field_types_roundtrip(lib):
    host = Inspector()
    ops = ["table T threads int64", "create E T", "add A T 1 E"]
    values = {"int8": "-8", "int16": "-16", "int32": "-32", "int64": "-64", "uint8": "8", "uint16": "16",
              "uint32": "32", "uint64": "18446744073709551615", "string": "text", "bool": "true"}  # fmt: skip
    for i, (t, v) in enumerate(values.items()):
        ops += [f"addfield F{i} T f_{t} {t}", f"write A F{i} T {v}", f"read A F{i} T"]
    got = results(host, lib, *ops)
    reads = got[5::3]
    assert reads == ["ok -8", "ok -16", "ok -32", "ok -64", "ok 8", "ok 16", "ok 32",
                     "ok 18446744073709551615", "ok 'text'", "ok true"]  # fmt: skip
    assert host.threads.value(1, "f_int8") == -8 and host.threads.value(1, "f_bool") is True


# -- plugin-owned tables -----------------------------------------------------------------------


def test_plugin_owned_table_shared_with_another_plugin(lib):
    host = Inspector()
    assert results(host, lib_named("owner"), "own shared uint64") == ["ok"]
    got = results(
        host, lib_named("user"),
        "list", "table S shared uint64", "fields S", "field V S value uint64", "field L S label string",
        "create E S", "write E V S 123", "write E L S abc", "add A S 10 E", "read A V S", "read A L S",
        "size S", "get X S 11", "field Q S nope uint64", "addfield Z S extra int64", "iter S",
        "release S A", "erase S 10", "erase S 10", "size S", "name S",
    )  # fmt: skip
    assert got[0] == "ok n=2 threads:int64,shared:uint64"
    assert got[2] == "ok n=2 value:uint64:0,label:string:0"
    assert got[9:12] == ["ok 123", "ok 'abc'", "ok 1"]
    # the owning plugin's errors reach the accessing plugin's last error
    assert got[12] == "FAIL owned: entry not found" and got[13] == "FAIL owned: no such field: nope"
    assert got[14] == "ok" and got[15] == "ok ret=1 visited=1"
    assert got[17:21] == ["ok", "FAIL owned: no entry to erase", "ok 0", "ok shared"]
    assert results(host, lib_named("third"), "table W shared int64") == [
        "null table in registry accessed with wrong key type: table='shared', requested='int64', actual='uint64'"
    ]


def test_plugin_owned_table_from_python(lib):
    host = Inspector()
    results(host, lib_named("owner"), "own strs string")
    table = host.table("strs")
    assert table.key_type == ST.STRING and [f.name for f in table.fields()] == ["value", "label"]
    table.set("k1", value=5, label="five")
    assert len(table) == 1 and table.row("k1") == {"value": 5, "label": "five"}
    assert table.value("k1", "label") == "five"
    extra = table.add_field("extra", ST.BOOL)
    entry = table.get_entry("k1")
    table.write(entry, extra, True)
    assert table.read(entry, extra) is True
    table.release(entry)
    assert len(table.entries()) == 1
    with pytest.raises(TableError, match="owned: entry not found"):
        table.get_entry("k2")
    table.erase("k1")
    with pytest.raises(TableError, match="owned: no entry to erase"):
        table.erase("k1")
    table.clear()
    assert table.owner_name == "owner"
    host.destroy()  # the owner is gone, and so is its table
    assert "strs" not in host.tables and "threads" in host.tables


@pytest.mark.parametrize(
    ("variant", "message"),
    [
        ("nullinput", "failure in adding state table defined by plugin 'owner': input is null"),
        ("nullname", "failure in adding state table defined by plugin 'owner': name is null"),
        ("noext", "failure in adding state table defined by plugin 'owner': extended vtables must all be defined"),
        ("badreader", "failure in adding state table defined by plugin 'owner': broken or inconsistent reader vtables"),
        ("norelease", "failure in adding state table defined by plugin 'owner': broken or inconsistent reader vtables"),
        ("badwriter", "failure in adding state table defined by plugin 'owner': broken or inconsistent writer vtables"),
        ("badfields", "failure in adding state table defined by plugin 'owner': broken or inconsistent fields vtables"),
        ("badkey", "can't convert plugin state type to typeinfo: 77"),
    ],
)
def test_add_table_checks(lib, variant, message):
    host = Inspector()
    assert results(host, lib_named("owner"), f"own t uint64 {variant}") == [f"FAIL {message}"]
    assert "t" not in host.tables


def test_add_table_duplicates_and_key_types(lib):
    host = Inspector()
    got = results(host, lib_named("owner"), "own threads int64", "own t table")
    assert got == [
        "FAIL table added to registry multiple times: threads",
        "FAIL error in state table 't' defined by plugin 'owner': invalid key type: table",
    ]


def test_add_table_before_api_3_1_builds_the_ext_vtables(lib):
    host = Inspector()
    old = lib_named("old", API_VERSION=cstr("3.0.0"))
    assert results(host, old, "own legacy uint64 noext") == ["ok"]
    got = results(host, lib_named("user"), "table L legacy uint64", "create E L", "add A L 1 E", "size L",
                  "iter L", "release L A")  # fmt: skip
    # a 3.0 table has no iteration: the host's no-op says "stopped"
    assert got == ["ok", "ok", "ok", "ok 1", "ok ret=0 visited=0", "done"]


def test_tables_in_the_capture_listen_input(lib):
    host = Inspector()
    host.load(str(build_plugin("sysgen_plugin")), "")
    lines: list[str] = []
    plugin = host.register(lib)
    plugin.owner.logger = lambda c, m, s: lines.append(m)
    plugin.init("init:table T threads int64;addfield D T seen uint64|open:size T;create E T;add A T 77 E;write A D T 1;release T A")
    host.open("testsys", "count=1")
    assert lines[2:] == ["open: size T => ok 0", "open: create E T => ok", "open: add A T 77 E => ok",
                         "open: write A D T 1 => ok", "open: release T A => done"]  # fmt: skip
    assert host.threads.value(77, "seen") == 1
    host.close()


def test_table_ops_during_parsing(lib):
    host = Inspector()
    host.load(str(build_plugin("sysgen_plugin")), "")
    lines: list[str] = []
    plugin = host.register(lib)
    plugin.owner.logger = lambda c, m, s: lines.append(m)
    plugin.init("init:table T threads int64;field C T comm string|parse:get E T $tid;read E C T;write E C T seen;release T E")
    host.open("testsys", "count=2,tids=8:9")
    list(host.batches())
    assert [l.split(" => ")[1] for l in lines[2:]] == ["ok", "ok '<NA>'", "ok", "done"] * 2
    assert host.threads.value(8, "comm") == host.threads.value(9, "comm") == "seen"


# -- the Python side -----------------------------------------------------------------------------


def test_host_table_python_api():
    schema = Schema([FieldSpec("name", ST.STRING), FieldSpec("n", ST.UINT16, default=3), FieldSpec("ro", ST.BOOL, read_only=True)])
    table = HostTable("t", ST.UINT64, schema)
    table.set(1, name="a")
    assert table.row(1) == {"name": "a", "n": 3, "ro": False}
    late = table.add_field("late", ST.INT8)
    assert table.value(1, "late") == 0  # entries made before the field get its default
    table.set(1, late=-3)
    assert table.read(table.get_entry(1), late) == -3
    with pytest.raises(TableError, match="can't set a read-only static struct field: ro"):
        table.set(1, ro=True)
    with pytest.raises(TableError, match="out of range"):
        table.set(1, n=70000)
    with pytest.raises(TableError, match="get_entry found no element at given key"):
        table.get_entry(2)
    other = HostTable("u", ST.UINT64, Schema([FieldSpec("name", ST.STRING)]))
    with pytest.raises(TableError, match="not created by it"):
        table.add_entry(2, other.new_entry())
    with pytest.raises(TableError, match="using dynamic field accessor on struct it was not created from"):
        table.read(table.get_entry(1), other.field("name"))
    with pytest.raises(TableError, match="invalid key type"):
        HostTable("x", ST.TABLE)
    with pytest.raises(TableError, match="static field of type table without a sub-table definition"):
        Schema([FieldSpec("t", ST.TABLE)])
    sub = Schema([FieldSpec("v", ST.STRING)])
    parent = HostTable("p", ST.INT64, Schema([FieldSpec("kids", ST.TABLE, sub=SubTable("kids", ST.UINT64, sub))]))
    parent.set(1)
    parent.set(2)
    assert parent.value(1, "kids") is not parent.value(2, "kids")
    assert check_value(ST.STRING, b"x") == "x" and check_value(ST.BOOL, 2) is True


def test_registry():
    registry = TableRegistry()
    threads = registry.add(ThreadsTable())
    assert registry.get("threads", ST.INT64) is threads and registry.get("nope") is None
    with pytest.raises(TableError, match="table added to registry multiple times: threads"):
        registry.add(ThreadsTable())
    with pytest.raises(TableError, match="requested='string', actual='int64'"):
        registry.get("threads", ST.STRING)
    assert registry.list() == [("threads", ST.INT64)] and "threads" in registry and len(registry) == 1


def test_host_tables_are_thread_safe():
    """Python threads change the threads table while a C parser updates it on every event."""
    host = Inspector()
    host.load(str(build_plugin("sysgen_plugin")), "")
    host.load(str(build_plugin("parse_plugin")), "")
    host.open("testsys", "count=20000,batch=64,tids=" + ":".join(str(t) for t in range(1, 51)))
    stop = threading.Event()
    errors: list[BaseException] = []
    comm = host.threads.field("comm")

    def churn(base: int) -> None:
        try:
            n = 0
            while not stop.is_set():
                host.threads.ensure(base + n % 500)
                entry = host.threads.find(1 + n % 50)
                if entry is not None:
                    assert host.threads.read(entry, comm) == "<NA>"
                if n % 3 == 0:
                    host.threads.erase(base + n % 500)
                n += 1
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=churn, args=(b * 100000,)) for b in range(1, 5)]
    for t in workers:
        t.start()
    total = sum(len(b) for b in host.batches())
    stop.set()
    for t in workers:
        t.join()
    assert not errors and total == 20000
    assert [host.threads.value(t, "testparse.count") for t in range(1, 51)] == [400] * 50
