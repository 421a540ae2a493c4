"""The compiled table vtables and parse loop (``falcoplug.abi._tables``): they serve what the
Python callbacks serve, with the same results and messages, and keep entries alive exactly while a
plugin holds them; the ABI-mode fallback (no compiled module) gives the same results.

Driven by the scripted table plugin (tests/plugins/table_plugin.c) and the counting parser
(tests/plugins/parse_plugin.c)."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import weakref

import pytest
from cbuild import build_plugin

from falcoplug.abi.tables import compiled, table_vtables
from falcoplug.framework import Inspector

needs_compiled = pytest.mark.skipif(not compiled.COMPILED, reason="the compiled table module was not built")


@pytest.fixture(scope="module")
def lib() -> str:
    return str(build_plugin("table_plugin"))


def script_results(lib: str, script: str) -> list[str]:
    lines: list[str] = []
    host = Inspector()
    plugin = host.register(lib)
    plugin.owner.logger = lambda component, msg, sev: lines.append(msg)
    plugin.init(script)
    return [line.split(" => ", 1)[1] for line in lines]


# A script touching every operation, every rule and every message of the host tables.
EVERYTHING = ";".join([
    "table T threads int64", "field C T comm string", "field CWD T cwd string", "addfield D T n int32",
    "addfield B T flag bool", "addfield U T big uint64", "size T", "get X T 1", "lasterr",
    "create E T", "write E C T hello", "write E D T -5", "add A T 42 E", "size T", "read A C T", "read A D T",
    "read A B T", "write A B T true", "read A B T", "write A U T 18446744073709551615", "read A U T",
    "write A CWD T /tmp", "field FD T file_descriptors table", "write A FD T 0", "sub S A FD T int64",
    "size S", "get G T 42", "read G C T", "release T G", "release T A", "iter T", "erase T 43",
    "erase T 42", "size T", "get X T 42", "create F T", "destroy T F", "add H T 5 F", "clear T", "size T",
    "own mine uint64", "table M mine uint64", "field V M value uint64", "create N M", "add K M 7 N",
    "write K V M 99", "read K V M", "get Z M 8", "lasterr", "release M K", "size M",
])  # fmt: skip


def test_compiled_and_python_vtables_give_the_same_results(lib):
    here = script_results(lib, "init:" + EVERYTHING)
    code = (
        "import json, sys\nsys.path.insert(0, 'tests')\nfrom test_tables_compiled import script_results\n"
        f"print(json.dumps(script_results({lib!r}, {('init:' + EVERYTHING)!r})))"
    )
    env = {**os.environ, "FALCOPLUG_NO_FASTPATH": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60,
                         check=True)  # fmt: skip
    assert json.loads(out.stdout) == here
    assert "ok 'hello'" in here and "ok -5" in here and "ok 18446744073709551615" in here
    assert "FAIL can't set a read-only static struct field: cwd" in here
    assert "FAIL get_entry found no element at given key" in here
    assert "ok 99" in here


@needs_compiled
def test_plugins_get_the_compiled_functions():
    vt = table_vtables()
    for name in ("get_table_entry", "read_entry_field", "release_table_entry"):
        assert getattr(vt.reader_ext, name) != getattr(vt.slow_reader, name)
    assert vt.writer_ext.write_entry_field != vt.slow_writer.write_entry_field


def test_entries_live_exactly_while_held(lib):
    """Held entries survive their erasure until released, whether the compiled path keeps them in
    its few slots or, beyond those, in the owner's ``held`` dict; every release lets them go."""
    keys = list(range(1, 13))  # more than the compiled slots (8)
    host = Inspector()
    for key in keys:
        host.threads.ensure(key)
    refs = [weakref.ref(host.threads.get_entry(key)) for key in keys]
    lines: list[str] = []
    plugin = host.register(lib)
    plugin.owner.logger = lambda component, msg, sev: lines.append(msg)
    gets = ";".join(f"get E{k} T {k}" for k in keys)
    again = ";".join(f"get F{k} T {k}" for k in keys[:3])  # a second hold of three of them
    erases = ";".join(f"erase T {k}" for k in keys)
    plugin.init(f"init:table T threads int64;{gets};{again};{erases}")
    gc.collect()
    assert all(ref() is not None for ref in refs)
    assert all(line.endswith("=> ok") for line in lines)
    state = plugin.backend._owner.tables_state
    owner = state.c if compiled.COMPILED else None
    for k in keys:
        state.release(id(refs[k - 1]()))
    gc.collect()
    assert [ref() is not None for ref in refs] == [True] * 3 + [False] * 9  # held twice: once more
    for k in keys[:3]:
        state.release(id(refs[k - 1]()))
    gc.collect()
    assert all(ref() is None for ref in refs) and state.held == {}
    assert owner is state.c


def test_compiled_parse_loop_counts_as_the_python_loop():
    """The syscall source's four threads, counted per event by the parser: the same counts, and
    the same ``threads`` entries, with the compiled loop and in ABI mode."""
    code = (
        "import json, sys\nsys.path.insert(0, 'tests')\nfrom test_tables_compiled import parse_counts\n"
        "print(json.dumps(parse_counts()))"
    )
    env = {**os.environ, "FALCOPLUG_NO_FASTPATH": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60,
                         check=True)  # fmt: skip
    here = parse_counts()
    assert json.loads(out.stdout) == here
    assert sum(here.values()) == 1000 and len(here) == 4


def parse_counts() -> dict[str, int]:
    host = Inspector()
    host.load(str(build_plugin("sysgen_plugin")), "")
    host.load(str(build_plugin("parse_plugin", {"NO_EXTRACT": None})), "")
    host.open("testsys", "count=1000,batch=300,tids=1:2:3:4")
    assert sum(len(batch) for batch in host.batches()) == 1000
    counts = {str(tid): host.threads.value(tid, "testparse.count") for tid in host.threads.keys()}
    host.destroy()
    return counts


def test_an_error_making_a_thread_entry_reaches_the_caller():
    """The compiled loop stops at the event whose ``threads`` entry could not be made (events
    before it are parsed) and the error is raised from Python, as the Python loop raises it."""
    host = Inspector()
    host.load(str(build_plugin("sysgen_plugin")), "")
    host.load(str(build_plugin("parse_plugin", {"NO_EXTRACT": None})), "")
    made = host.threads.ensure

    def ensure(tid: int) -> object:
        if tid == 3:
            raise RuntimeError("no room for thread 3")
        return made(tid)

    host.threads.ensure = ensure  # type: ignore[method-assign]
    host.open("testsys", "count=8,batch=8,tids=1:2:3:4")
    with pytest.raises(RuntimeError, match="no room for thread 3"):
        list(host.batches())
    assert host.threads.value(1, "testparse.count") == 1 and host.threads.value(2, "testparse.count") == 1
    assert 3 not in host.threads
    host.destroy()
