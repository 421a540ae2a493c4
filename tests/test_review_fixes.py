"""Fixes from a review of the SDK: add_output on fields that need an argument, a built library whose
plugin file moved, FALCOPLUG_PYTHON checked, errors that name their plugin once, ``module:Class``
from the working directory, list items that cannot be None, next_batch errors worded alike in and
out of process, and the dummy example's version."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional

import pytest
from click.testing import CliRunner

from falcoplug.cli.main import error_line, main
from falcoplug.errors import ConfigError, PluginError, PluginLoadError
from falcoplug.export import build_library
from falcoplug.framework import Inspector
from falcoplug.sdk import Event, ExtractPlugin, PluginDefinitionError, describe, field, load_plugin_class

from sdk_plugins.support import EXAMPLES, SDK_PLUGINS, built, run_host

ROOT = Path(__file__).resolve().parent.parent
KITCHEN = SDK_PLUGINS / "kitchen.py"
FALCOPLUG = Path(sys.executable).with_name("falcoplug")  # the console script of this environment


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# -- 1. add_output needs a field usable without an argument ----------------------------------------


def test_add_output_on_a_field_with_a_required_argument_fails_at_class_definition():
    with pytest.raises(PluginDefinitionError) as caught:

        class KeyedOutput(ExtractPlugin):
            name, version = "keyed", "0.1.0"

            @field("keyed.value", add_output=True)
            def value(self, event: Event, key: str) -> str:
                """The value at a key."""
                return key

    text = str(caught.value)
    assert text.startswith("plugin class ")  # the class's qualified name follows (a local class here)
    assert "KeyedOutput: field keyed.value: add_output=True needs a field usable without an argument" in text
    assert "bare %keyed.value" in text
    assert caught.value.plugin == "keyed"


def test_add_output_is_fine_when_the_argument_is_optional_or_defaulted():
    class OptionalArgs(ExtractPlugin):
        name, version = "optargs", "0.1.0"

        @field("optargs.opt", add_output=True)
        def opt(self, event: Event, key: Optional[str]) -> str:
            """A key that may be left out."""
            return key or "-"

        @field("optargs.dflt", add_output=True)
        def dflt(self, event: Event, index: int = 0) -> int:
            """An index with a default."""
            return index

        @field("optargs.plain", add_output=True)
        def plain(self, event: Event) -> int:
            """No argument at all."""
            return 1

    fields = {f["name"]: f for f in json.loads(describe(OptionalArgs).extraction.fields_json)}
    assert all(f["addOutput"] for f in fields.values())
    assert fields["optargs.opt"]["arg"]["isRequired"] is False
    assert fields["optargs.dflt"]["arg"]["isRequired"] is False


def test_add_output_check_waits_for_annotations_that_resolve_later(tmp_path):
    # The argument's type is defined after the class: the class definition cannot resolve it, so
    # the complete check, when the plugin is loaded, reports the field.
    plugin = _write(tmp_path / "later_hint.py", '''\
from __future__ import annotations
from falcoplug.sdk import Event, ExtractPlugin, field

class Later(ExtractPlugin):
    name, version = "later", "0.1.0"

    @field("later.value", add_output=True)
    def value(self, event: Event, key: Key) -> str:
        """The key."""
        return key

Key = str
''')
    cls = load_plugin_class(str(plugin))  # importing works
    with pytest.raises(PluginDefinitionError, match="plugin class Later: field later.value: add_output=True"):
        describe(cls)


def test_jsonl_fields_suggested_for_outputs_need_no_argument():
    fields = json.loads(describe(load_plugin_class(str(EXAMPLES / "jsonl.py"))).extraction.fields_json)
    assert not [f["name"] for f in fields if f.get("addOutput") and f.get("arg", {}).get("isRequired")]


@pytest.mark.parametrize("mode", ["inprocess", "built"])
def test_rules_of_the_jsonl_source_load(tmp_path, mode):
    rules = _write(tmp_path / "rules.yaml", """\
- rule: any user
  desc: every record with a user
  condition: jsonl.has[user] = true
  output: user %jsonl.value[user]
  priority: WARNING
  source: jsonl
""")
    plugin = str(EXAMPLES / "jsonl.py") if mode == "inprocess" else str(built(EXAMPLES / "jsonl.py"))
    result = CliRunner().invoke(
        main, ["run", "-p", f"{plugin}||{EXAMPLES / 'data' / 'events.jsonl'}", "-r", str(rules)]
    )
    assert result.exit_code == 0, result.output
    assert "Warning user alice" in result.output


# -- 2. a built library whose plugin file moved; FALCOPLUG_PYTHON ------------------------------------


def _host_values(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [line.split()[-1] for line in proc.stdout.splitlines()]


def test_moved_plugin_file_is_found_through_falcoplug_pythonpath(tmp_path):
    first, second, third = tmp_path / "first", tmp_path / "second", tmp_path / "third"
    source = (EXAMPLES / "dummy.py").read_text()
    plugin = _write(first / "moving_dummy.py", source)
    lib = build_library(str(plugin), tmp_path / "libmoving.so")
    args = ('{"jitter": 0}', '{"maxEvents": 2}', "dummy.value")
    assert _host_values(run_host("dump", lib, *args)) == ["dummy.value=2", "dummy.value=3"]

    second.mkdir()
    shutil.move(str(plugin), second / "moving_dummy.py")
    env = {k: v for k, v in os.environ.items() if k != "FALCOPLUG_PYTHONPATH"}
    proc = run_host("dump", lib, *args, env=env)
    assert proc.returncode == 1
    assert f"no such file: {plugin}, and no moving_dummy.py on the search path" in proc.stderr
    assert "set FALCOPLUG_PYTHONPATH to the directory it was moved to" in proc.stderr

    proc = run_host("dump", lib, *args, env={**env, "FALCOPLUG_PYTHONPATH": str(third)})
    assert proc.returncode == 1
    assert f"not in FALCOPLUG_PYTHONPATH={third} either" in proc.stderr

    # Found in the second directory of the variable.
    proc = run_host("dump", lib, *args, env={**env, "FALCOPLUG_PYTHONPATH": f"{third}{os.pathsep}{second}"})
    assert proc.returncode == 0, proc.stderr
    assert _host_values(proc) == ["dummy.value=2", "dummy.value=3"]

    # The variable's directories are searched in order: the first copy wins (same declarations,
    # another body), and its declarations are still checked against the library.
    _write(third / "moving_dummy.py", source.replace("return int(event.payload)", "return int(event.payload) + 1000"))
    proc = run_host("dump", lib, *args, env={**env, "FALCOPLUG_PYTHONPATH": f"{third}{os.pathsep}{second}"})
    assert proc.returncode == 0, proc.stderr
    assert _host_values(proc) == ["dummy.value=1002", "dummy.value=1003"]
    _write(third / "moving_dummy.py", source.replace('version = "0.11.4"', 'version = "0.11.5"'))
    proc = run_host("dump", lib, *args, env={**env, "FALCOPLUG_PYTHONPATH": f"{third}{os.pathsep}{second}"})
    assert proc.returncode == 1 and "changed since this library was built" in proc.stderr


def test_moved_plugin_file_through_the_falcoplug_c_adapter(tmp_path):
    # falcoplug itself runs Python already: the library's start-up still completes the search
    # path from the variable and finds the moved file.
    plugin = _write(tmp_path / "old" / "adapter_dummy.py", (EXAMPLES / "dummy.py").read_text())
    lib = build_library(str(plugin), tmp_path / "libadapter.so")
    moved = tmp_path / "new"
    moved.mkdir()
    shutil.move(str(plugin), moved / "adapter_dummy.py")
    argv = [str(FALCOPLUG), "run", "-p", f'{lib}|{{"jitter":0}}|{{"maxEvents":3}}', "-o", "%dummy.value"]
    env = {k: v for k, v in os.environ.items() if k != "FALCOPLUG_PYTHONPATH"}
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.startswith("falcoplug: error: could not initialize plugin: cannot start Python plugin dummy")
    assert "no such file" in proc.stderr and "FALCOPLUG_PYTHONPATH" in proc.stderr
    proc = subprocess.run(argv, capture_output=True, text=True, env={**env, "FALCOPLUG_PYTHONPATH": str(moved)}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["2", "3", "4"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [("/nonexistent/python", "No such file or directory"), ("/", "not a regular file")],
)
def test_falcoplug_python_that_names_no_executable_is_an_error(value, reason):
    lib = built(KITCHEN)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONHOME"}
    proc = run_host("dump", lib, "", "", "kitchen.num", env={**env, "FALCOPLUG_PYTHON": value})
    assert proc.returncode == 1
    assert (
        f"could not initialize plugin kitchen: cannot start Python plugin kitchen: FALCOPLUG_PYTHON={value} "
        f"does not name an executable file ({reason})"
    ) in proc.stderr


def test_falcoplug_python_naming_the_interpreter_works():
    lib = built(KITCHEN)
    proc = run_host("dump", lib, '{"count": 2}', "", "kitchen.num", env={**os.environ, "FALCOPLUG_PYTHON": sys.executable})
    assert proc.returncode == 0, proc.stderr
    assert _host_values(proc) == ["kitchen.num=0", "kitchen.num=1"]


# -- 3. errors name their plugin, once ---------------------------------------------------------------

BOOM = '''\
from falcoplug.sdk import Event, ExtractPlugin, field

class Boom(ExtractPlugin):
    name, version = "boom", "0.1.0"

    def init(self) -> None:
        raise RuntimeError("init exploded")

    @field("boom.x")
    def x(self, event: Event) -> int:
        """x"""
        return 1
'''


def test_cli_init_error_names_the_plugin(tmp_path):
    plugin = _write(tmp_path / "boom.py", BOOM)
    result = CliRunner().invoke(main, ["run", "-p", str(plugin), "-p", str(EXAMPLES / "dummy.py"), "-o", "%boom.x"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        "falcoplug: error: plugin boom: could not initialize plugin: init: RuntimeError: init exploded"
    )


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (PluginError("could not initialize plugin: init: X", plugin="boom"), "plugin boom: could not initialize plugin: init: X"),
        (PluginError("error in plugin boom: bad", plugin="boom"), "error in plugin boom: bad"),
        (PluginError("plugin class Boom (boom): no", plugin="boom"), "plugin class Boom (boom): no"),
        # "dummy.py" does not name the plugin dummy
        (PluginError("init: cannot read /x/dummy.py", plugin="dummy"), "plugin dummy: init: cannot read /x/dummy.py"),
        (PluginLoadError("cannot load plugin /x/a.py: no", plugin="/x/a.py"), "cannot load plugin /x/a.py: no"),
        (PluginError("no name here"), "no name here"),
        (ConfigError("bad config"), "bad config"),
    ],
)
def test_error_line(error, line):
    assert error_line(error) == line


def test_load_errors_are_not_prefixed_twice(tmp_path):
    plugin = _write(tmp_path / "broken_import.py", "import falcoplug_no_such_module_anywhere\n")
    with pytest.raises(PluginLoadError) as caught:
        Inspector().register(str(plugin))
    assert str(caught.value).count("cannot load plugin") == 1
    assert str(caught.value).startswith(f"cannot load plugin {plugin}: ModuleNotFoundError")
    result = CliRunner().invoke(main, ["inspect", str(tmp_path / "missing.py")])
    assert result.exit_code == 1
    assert result.output.count("cannot load plugin") == 1 and "no such file" in result.output
    # an error of the framework's own checks is still prefixed with the location
    with pytest.raises(PluginLoadError, match="^cannot load plugin /nonexistent/libx.so: can't load plugin dynamic library"):
        Inspector().register("/nonexistent/libx.so")


NONAME = '''\
from falcoplug.sdk import Event, ExtractPlugin, field

class NoName(ExtractPlugin):
    version = "0.1.0"

    @field("noname.x")
    def x(self, event: Event) -> int:
        """x"""
        return 1
'''


def test_a_file_whose_only_class_has_no_name_reports_that_class(tmp_path):
    plugin = _write(tmp_path / "noname.py", NONAME)
    with pytest.raises(PluginLoadError) as caught:
        Inspector().register(str(plugin))
    assert str(caught.value) == (
        f"cannot load plugin {plugin}: plugin class NoName: declares no name (set the class attribute `name`)"
    )
    result = CliRunner().invoke(main, ["inspect", str(plugin)])
    assert result.exit_code == 1 and "plugin class NoName: declares no name" in result.output


def test_nameless_bases_are_not_taken_for_the_plugin(tmp_path):
    # A nameless base with a concrete subclass: the subclass is the plugin.
    based = _write(tmp_path / "based.py", NONAME + '\n\nclass Named(NoName):\n    name = "named"\n')
    assert load_plugin_class(str(based)).__name__ == "Named"
    # Two nameless leaves: nothing says which was meant.
    two = _write(tmp_path / "two.py", NONAME + "\n\nclass Other(ExtractPlugin):\n    pass\n")
    with pytest.raises(PluginLoadError, match="it defines no plugin class"):
        load_plugin_class(str(two))


# -- 4. package.module:Class from the working directory ---------------------------------------------

PKG_PLUGIN = '''\
from falcoplug.sdk import Event, ExtractPlugin, field

class CwdPlugin(ExtractPlugin):
    name, version = "cwdplugin", "0.1.0"

    @field("cwdplugin.x")
    def x(self, event: Event) -> int:
        """x"""
        return 1
'''


@pytest.fixture
def cwd_package(tmp_path, monkeypatch):
    """A package in a fresh working directory that is not on sys.path; sys.path and the package's
    modules are restored afterwards."""
    _write(tmp_path / "review_cwd_pkg" / "__init__.py", "")
    _write(tmp_path / "review_cwd_pkg" / "plug.py", PKG_PLUGIN)
    _write(tmp_path / "review_cwd_pkg" / "needs_dep.py", "import review_cwd_missing_dependency\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p and os.path.abspath(p) != str(tmp_path)])
    yield tmp_path
    for name in [m for m in sys.modules if m == "review_cwd_pkg" or m.startswith("review_cwd_pkg.")]:
        del sys.modules[name]


def test_module_reference_from_the_working_directory(cwd_package):
    cls = load_plugin_class("review_cwd_pkg.plug:CwdPlugin")
    assert cls.name == "cwdplugin"
    assert sys.path[0] == str(cwd_package)  # kept, so that the plugin's later imports work too


def test_module_reference_missing_dependency_is_reported_as_such(cwd_package):
    with pytest.raises(PluginLoadError, match="No module named 'review_cwd_missing_dependency'"):
        load_plugin_class("review_cwd_pkg.needs_dep")


def test_module_reference_not_in_the_working_directory_either(cwd_package):
    before = list(sys.path)
    with pytest.raises(PluginLoadError, match="No module named 'review_cwd_nowhere'"):
        load_plugin_class("review_cwd_nowhere.plug:X")
    assert sys.path == before


def test_module_reference_with_the_console_script(tmp_path):
    _write(tmp_path / "review_cli_pkg" / "__init__.py", "")
    _write(tmp_path / "review_cli_pkg" / "plug.py", PKG_PLUGIN)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([str(FALCOPLUG), "inspect", "review_cli_pkg.plug:CwdPlugin", "--json"],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["name"] == "cwdplugin"


# -- 5. documentation -------------------------------------------------------------------------------


def test_docs_name_libraries_as_paths_and_existing_results():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Writing a plugin in Python", 1)[1]
    assert "falcoplug run -p './libdummy.so|" in section and "-p 'libdummy.so" not in section
    assert "-p './libsysgen.so||" in (EXAMPLES / "threadstats.py").read_text()
    sdk_doc = (ROOT / "docs" / "sdk.md").read_text()
    assert "RESULTS_sdk.md" not in sdk_doc
    assert 'the "Python SDK" section of\n`benchmarks/RESULTS.md`' in sdk_doc
    assert "\n## Python SDK" in (ROOT / "benchmarks" / "RESULTS.md").read_text()


# -- 6. list items, next_batch errors, the dummy's version -------------------------------------------


def test_a_list_of_optional_items_is_refused():
    class Holes(ExtractPlugin):
        name, version = "holes", "0.1.0"

        @field("holes.list")
        def items(self, event: Event) -> list[int | None]:
            """A list with holes."""
            return [1, None]

    refused = r"field holes.list: return type list\[int \| None\]: a list item cannot be None"
    with pytest.raises(PluginDefinitionError, match=refused):
        describe(Holes)

    class Fine(ExtractPlugin):
        name, version = "fine", "0.1.0"

        @field("fine.list")
        def items(self, event: Event) -> list[int] | None:
            """A list, or no value."""
            return None

    assert json.loads(describe(Fine).extraction.fields_json)[0]["isList"] is True


@pytest.mark.parametrize("fault", ["bad_payload"])
def test_next_batch_errors_are_worded_alike_in_process_and_built(fault):
    messages = []
    for location in (str(KITCHEN), str(built(KITCHEN))):
        insp = Inspector()
        insp.load(location, {"fail_in": fault})
        insp.open("kitchen", "")
        with pytest.raises(PluginError) as caught:
            list(insp.events())
        messages.append(str(caught.value))
        assert caught.value.plugin == "kitchen"
        insp.destroy()
    assert messages[0] == messages[1] == "plugin kitchen: next_batch: an event payload must be bytes or str, got int"


def test_dummy_declares_the_official_version_of_its_params_format():
    desc = describe(load_plugin_class(str(EXAMPLES / "dummy.py")))
    assert desc.info.version == "0.11.4"  # falcosecurity/plugins: {"start","maxEvents"} open params
    insp = Inspector()
    insp.load(str(EXAMPLES / "dummy.py"), {"jitter": 0})
    insp.open("dummy", '{"start": 10, "maxEvents": 3}')
    assert [event["dummy.value"] for event in insp.events()] == [11, 12, 13]
    insp.destroy()


# -- Ctrl-C in plugin code is the user's; sys.exit() in plugin code is a plugin failure ---------------

import textwrap  # noqa: E402


def _raising_source(tmp_path, exc: str):  # type: ignore[no-untyped-def]
    path = tmp_path / f"raiser_{exc.lower()}.py"
    path.write_text(textwrap.dedent(f'''
        from falcoplug.sdk import SourcePlugin, SourceInstance

        class Stop(SourceInstance):
            def next_batch(self, writer):
                raise {exc}()

        class Raiser(SourcePlugin):
            name, version, id, event_source = "raiser", "0.1.0", 4242, "raiser"

            def open(self, params):
                return Stop()
    '''))
    return str(path)


def test_ctrl_c_in_plugin_code_reaches_the_host(tmp_path):
    from falcoplug.framework import Inspector

    host = Inspector()
    host.load(_raising_source(tmp_path, "KeyboardInterrupt"))
    host.open("raiser", "")
    with pytest.raises(KeyboardInterrupt):
        list(host.events())


def test_sys_exit_in_plugin_code_is_a_plugin_failure(tmp_path):
    from falcoplug.errors import PluginError
    from falcoplug.framework import Inspector

    host = Inspector()
    host.load(_raising_source(tmp_path, "SystemExit"))
    host.open("raiser", "")
    with pytest.raises(PluginError, match="next_batch: SystemExit"):
        list(host.events())
