"""Python plugins built into shared libraries (``falcoplug build``): exported symbols, a plain C
host without Python, foreign threads, several Python plugins in one process, errors that never
crash the host, and where the library finds its module."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from falcoplug.abi.ffi import fastpath
from falcoplug.abi.loader import CPluginBackend
from falcoplug.cli.build import build_command
from falcoplug.errors import ConfigError, PluginError, PluginLoadError
from falcoplug.export import build_library
from falcoplug.framework import Inspector
from falcoplug.sdk import describe, load_plugin_class

from sdk_plugins.support import EXAMPLES, SDK_PLUGINS, built, example, exported_symbols, out_dir, run_host, thread_host

KITCHEN = SDK_PLUGINS / "kitchen.py"


@pytest.fixture(scope="module")
def kitchen_lib() -> Path:
    return built(KITCHEN)


# -- the library's interface --------------------------------------------------------------------


@pytest.mark.parametrize("plugin", ["kitchen", "dummy", "dummystats", "jsonl"])
def test_exports_exactly_the_symbols_of_the_capabilities(plugin):
    path = KITCHEN if plugin == "kitchen" else EXAMPLES / f"{plugin}.py"
    lib = built(path)
    expected = {f"plugin_{name}" for name in describe(load_plugin_class(str(path))).entry_points}
    assert exported_symbols(lib) == expected


def test_dummy_exports_the_sourcing_and_extraction_symbols_written_out():
    """Independent of describe(): the exact plugin_* set a source + extract plugin with an init
    schema, open-param suggestions and event_to_string must export (and nothing else)."""
    expected = {
        "plugin_get_required_api_version", "plugin_get_init_schema", "plugin_init", "plugin_destroy",
        "plugin_get_last_error", "plugin_get_name", "plugin_get_description", "plugin_get_contact",
        "plugin_get_version", "plugin_get_id", "plugin_get_event_source", "plugin_open", "plugin_close",
        "plugin_list_open_params", "plugin_get_progress", "plugin_event_to_string", "plugin_next_batch",
        "plugin_get_fields", "plugin_extract_fields",
    }  # fmt: skip  (no get_extract_event_sources/types: libsinsp's defaults, its own source and 322)
    assert exported_symbols(example("dummy")) == expected


def test_dummystats_exports_no_sourcing_and_no_schema():
    symbols = exported_symbols(example("dummystats"))
    assert "plugin_open" not in symbols and "plugin_get_init_schema" not in symbols
    assert {"plugin_get_fields", "plugin_extract_fields", "plugin_get_extract_event_sources"} <= symbols


def test_identity_is_read_without_starting_the_plugin(kitchen_lib):
    backend = CPluginBackend(kitchen_lib)
    assert (backend.get_name(), backend.get_version(), backend.get_id(), backend.get_event_source()) == (
        "kitchen", "1.2.3-beta.1", 991, "kitchen",
    )  # fmt: skip
    assert backend.get_required_api_version() == "3.12.0"
    kind, schema = backend.get_init_schema()
    assert kind == 1 and '"prefix"' in schema


# -- a plain C host, without Python ---------------------------------------------------------------


def test_c_host_reads_every_field_type(kitchen_lib):
    fields = ["kitchen.num", "kitchen.text", "kitchen.even", "kitchen.when", "kitchen.age", "kitchen.addr",
              "kitchen.addr6", "kitchen.net", "kitchen.list", "kitchen.words", "kitchen.flags", "kitchen.key[k]",
              "kitchen.idx[3]", "kitchen.opt", "kitchen.either[7]", "kitchen.either[abc]", "kitchen.odd"]  # fmt: skip
    proc = run_host("dump", kitchen_lib, '{"count": 5}', "", *fields, cwd="/")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 5
    assert lines[3] == (
        "4 1700000000000003000 322 991 6576743a33 kitchen.num=3 kitchen.text=evt:3 kitchen.even=false "
        "kitchen.when=1700000000000003000 kitchen.age=3000000 kitchen.addr=10.0.0.3 kitchen.addr6=2001:db8::3 "
        "kitchen.net=<IPNET> kitchen.list=(0,1,2) kitchen.words=(a) kitchen.flags=(true,false,true) "
        "kitchen.key[k]=k=3 kitchen.idx[3]=9 kitchen.opt=none kitchen.either[7]=int:7 kitchen.either[abc]=str:abc "
        "kitchen.odd=3"
    )
    assert "kitchen.list=<NA>" in lines[0] and "kitchen.odd=<NA>" in lines[0]  # empty list, None


def test_c_host_values_that_fail_have_no_value(kitchen_lib):
    proc = run_host("dump", kitchen_lib, '{"count": 5}', "", "kitchen.boom", "kitchen.wrong", "kitchen.negative")
    assert proc.returncode == 0, proc.stderr
    values = [line.split(" ", 5)[5] for line in proc.stdout.splitlines()]
    assert values[3] == "kitchen.boom=<NA> kitchen.wrong=<NA> kitchen.negative=<NA>"
    assert values[2] == "kitchen.boom=1 kitchen.wrong=2 kitchen.negative=<NA>"


@pytest.mark.parametrize(
    ("config", "params", "message"),
    [
        ('{"fail_in": "init"}', "", "could not initialize plugin kitchen: init: RuntimeError: init refused on purpose"),
        ('{"count": -2}', "", "init: invalid config for plugin kitchen: count: -2 is less than the minimum of 0"),
        ("{not json", "", "invalid config for plugin kitchen: not valid JSON"),
        ('{"fail_in": "open"}', "x", "open: FileNotFoundError: cannot open 'x'"),
        ('{"fail_in": "next_batch", "count": 20}', "", "next_batch: RuntimeError: next_batch broke at event 3"),
        ('{"fail_in": "bad_payload"}', "", "next_batch: an event payload must be bytes or str, got int"),
        ("", "not-a-number", "open: ValueError: invalid literal for int()"),
    ],
)
def test_plugin_errors_reach_the_c_host_as_errors(kitchen_lib, config, params, message):
    proc = run_host("dump", kitchen_lib, config, params, "kitchen.num")
    assert proc.returncode == 1, proc.stdout  # an error exit, not a crash (a signal gives a negative code)
    assert message in proc.stderr


def test_foreign_threads(kitchen_lib):
    host = thread_host()
    proc = subprocess.run([str(host), str(kitchen_lib), '{"count": 30}', "", "kitchen.text", "1"],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [f"{i + 1} evt:{i} evt:{i}" for i in range(30)]


def test_background_producer_thread_in_a_c_host():
    proc = run_host("dump", built(SDK_PLUGINS / "pusher.py"), "", "40", "pusher.n")
    assert proc.returncode == 0, proc.stderr
    assert [line.split()[-1] for line in proc.stdout.splitlines()] == [f"pusher.n={i}" for i in range(40)]
    assert [int(line.split()[1]) for line in proc.stdout.splitlines()] == [1_000_000 + i for i in range(40)]


def test_two_python_plugins_in_one_c_host():
    proc = run_host("dump", example("dummy"), '{"jitter": 0}', '{"maxEvents": 3}', "dummy.value",
                      "dummystats.parity", extractors=[(example("dummystats"), "")])  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert [line.split(" ", 5)[5] for line in proc.stdout.splitlines()] == [
        "dummy.value=2 dummystats.parity=even", "dummy.value=3 dummystats.parity=odd",
        "dummy.value=4 dummystats.parity=even",
    ]  # fmt: skip


# -- loaded back into falcoplug (a process that already runs Python) -------------------------------


def test_three_built_plugins_in_one_inspector(kitchen_lib):
    insp = Inspector()
    insp.load(str(example("dummy")), {"jitter": 0})
    insp.load(str(example("dummystats")))
    kitchen = insp.load(str(kitchen_lib), {"count": 4})
    insp.open("dummy", '{"maxEvents": 2}')
    plan = insp.plan("dummy", ["dummy.value", "dummystats.prime"])
    assert [row for b in insp.batches() for _, row in plan.rows(b)] == [[2, True], [3, True]]
    insp.close()
    insp.open("kitchen", "")
    plan = insp.plan("kitchen", ["kitchen.num", "evt.plugininfo"])
    assert [row for b in insp.batches() for _, row in plan.rows(b)] == [[i, f"kitchen event {i}"] for i in range(4)]
    assert [(m.name, m.value, m.monotonic) for m in kitchen.metrics()] == [
        ("kitchen.events", 4, True), ("kitchen.temperature", -3, False), ("kitchen.ratio", 0.5, False),
    ]  # fmt: skip
    assert kitchen.list_open_params()[2] == {"value": "a;b", "desc": "two", "separator": ";"}
    assert kitchen.set_config({"prefix": "q"})
    with pytest.raises(ConfigError, match=r"In <root>\[prefix\], 5 is not of type 'string'"):
        kitchen.set_config('{"prefix": 5}')  # the host checks the schema first, as libsinsp does
    assert kitchen.backend.set_config('{"prefix": 5}') == 1  # and the plugin refuses it too (FAILURE)
    assert "set_config: invalid config for plugin kitchen: prefix: 5 is not of type 'string'" in kitchen.last_error()
    insp.destroy()


def test_errors_and_progress_through_the_c_adapter(kitchen_lib):
    insp = Inspector()
    kitchen = insp.load(str(kitchen_lib), {"count": 10})
    insp.open("kitchen", "")
    plan = insp.plan("kitchen", ["kitchen.wrong"])
    batches = insp.batches()
    first = next(batches)
    # the host batch gathers the plugin's batches (7 then 3 events; without the core: one batch)
    n = 10 if fastpath is not None else 7
    assert plan.columns(first)[0] == [None if i % 2 else i for i in range(n)]
    assert kitchen.last_error() == "extract_fields: kitchen.wrong: expected an int, got str"
    assert insp.progress() == (n * 10.0, f"{n} of 10")
    list(batches)
    with pytest.raises(PluginError, match="could not initialize plugin: init: RuntimeError: init refused"):
        Inspector().load(str(kitchen_lib), {"fail_in": "init"})
    insp.destroy()


def test_logs_reach_the_owner(kitchen_lib, caplog):
    with caplog.at_level(logging.DEBUG, logger="falcoplug.plugin.kitchen"):
        insp = Inspector()
        insp.load(str(kitchen_lib), {"prefix": "logged"})
    messages = [r.getMessage() for r in caplog.records if r.name == "falcoplug.plugin.kitchen"]
    assert "kitchen: kitchen ready with prefix logged" in messages
    assert "kitchen: module logger works too" in messages
    insp.destroy()


# -- where the library finds its plugin ----------------------------------------------------------------


def _copy_plugin(tmp: Path, name: str, source: Path = EXAMPLES / "dummy.py") -> Path:
    path = tmp / f"{name}.py"
    shutil.copy(source, path)
    return path


def test_module_that_cannot_be_imported_at_start(tmp_path):
    plugin = _copy_plugin(tmp_path, "vanishing")
    lib = build_library(str(plugin), tmp_path / "libvanishing.so")
    plugin.unlink()
    proc = run_host("dump", lib, "", "", "dummy.value")
    assert proc.returncode == 1
    assert "could not initialize plugin dummy: cannot start Python plugin dummy" in proc.stderr
    assert "no such file" in proc.stderr


def test_plugin_changed_since_build(tmp_path):
    plugin = _copy_plugin(tmp_path, "changing")
    lib = build_library(str(plugin), tmp_path / "libchanging.so")
    plugin.write_text(plugin.read_text().replace('version = "0.11.4"', 'version = "0.11.5"'))
    proc = run_host("dump", lib, "", "", "dummy.value")
    assert proc.returncode == 1
    assert "changed since this library was built" in proc.stderr


def test_module_reference_and_search_path_override(tmp_path, monkeypatch):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    _copy_plugin(first, "movable_dummy")
    monkeypatch.syspath_prepend(str(first))
    lib = build_library("movable_dummy:DummyPlugin", tmp_path / "libmovable.so")
    proc = run_host("dump", lib, '{"jitter": 0}', '{"maxEvents": 2}', "dummy.value", cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    shutil.move(str(first / "movable_dummy.py"), second / "movable_dummy.py")
    proc = run_host("dump", lib, '{"jitter": 0}', '{"maxEvents": 2}', "dummy.value")
    assert proc.returncode == 1 and "No module named 'movable_dummy'" in proc.stderr
    assert "FALCOPLUG_PYTHONPATH adds directories" in proc.stderr
    env = {**os.environ, "FALCOPLUG_PYTHONPATH": str(second)}
    proc = run_host("dump", lib, '{"jitter": 0}', '{"maxEvents": 2}', "dummy.value", env=env)
    assert proc.returncode == 0, proc.stderr
    assert [line.split()[-1] for line in proc.stdout.splitlines()] == ["dummy.value=2", "dummy.value=3"]


def test_a_python_that_cannot_start(kitchen_lib):
    # A PYTHONHOME without a standard library: the interpreter itself fails to start (a wrong
    # FALCOPLUG_PYTHON is refused before that: see test_review_fixes.py).
    env = {k: v for k, v in os.environ.items() if k != "FALCOPLUG_PYTHON"}
    env["PYTHONHOME"] = "/nonexistent"
    proc = run_host("dump", kitchen_lib, "", "", "kitchen.num", env=env)
    assert proc.returncode == 1
    assert "cannot start Python plugin kitchen: Python (" in proc.stderr and "failed to start" in proc.stderr


# -- the build command ---------------------------------------------------------------------------------


def test_build_command(tmp_path):
    out = tmp_path / "libdummy.so"
    result = CliRunner().invoke(build_command, [str(EXAMPLES / "dummy.py"), "-o", str(out), "--keep-source", str(tmp_path / "d.c")])
    assert result.exit_code == 0, result.output
    assert f"built {out}" in result.output and "sourcing, extraction" in result.output
    assert out.exists() and "plugin_extract_fields" in (tmp_path / "d.c").read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("falcoplug-build-")]  # no leftovers


def test_build_refuses_a_broken_plugin(tmp_path):
    with pytest.raises(PluginLoadError, match="bad.ratio: return type float has no field type"):
        build_library(str(SDK_PLUGINS / "broken" / "bad_hint.py"), tmp_path / "x.so")
    result = CliRunner().invoke(build_command, [str(SDK_PLUGINS / "broken" / "two_plugins.py"), "-o", str(tmp_path / "y.so")])
    assert result.exit_code != 0
    assert "several plugin classes" in str(result.exception)
    assert not (tmp_path / "y.so").exists()


def test_out_dir_is_outside_the_repository():
    assert not str(out_dir()).startswith(str(EXAMPLES.parent))
    assert sys.executable  # the libraries run in this test's Python environment
