"""The command line: inspect, run (specs, formats, JSON, falco.yaml), and its error handling."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cbuild import build_plugin, cstr
from click.testing import CliRunner

import falcoplug.plugins
from falcoplug.cli.main import main


@pytest.fixture(scope="module")
def src() -> str:
    return str(build_plugin("source_plugin"))


@pytest.fixture(scope="module")
def ext() -> str:
    return str(build_plugin("extractor_plugin"))


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_run_with_format(src, ext):
    code, out, _ = run("run", "-p", f"{src}|{{}}|count=3", "-p", ext,
                       "-o", "*%evt.num %test.value %ext.list.str %ext.key[x] %ext.bool %ext.ip6 %ext.odd")  # fmt: skip
    assert code == 0
    assert out.splitlines() == [
        "1 0 (a0,b0) x=0 true 2001:db8:: <NA>",
        "2 1 (a1,b1) x=1 false 2001:db8::1 odd1",
        "3 2 (a2,b2) x=2 false 2001:db8::2 <NA>",
    ]


def test_run_default_format(src):
    code, out, _ = run("run", "-p", f"{src}||count=2")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("1 ") and lines[0].endswith('[testsrc] {"value": 0}')


def test_run_json(src, ext):
    code, out, _ = run("run", "-p", f"{src}||count=2", "-p", ext, "--json", "-o", "*%evt.num %ext.str %ext.list.u64 %ext.bool %ext.odd")
    assert code == 0
    docs = [json.loads(line) for line in out.splitlines()]
    assert docs[0] == {"evt.num": 1, "ext.str": "v0", "ext.list.u64": [0, 1, 2], "ext.bool": True, "ext.odd": None}


def test_max_events(src):
    code, out, _ = run("run", "-p", f"{src}||count=100,batch=7", "-n", "10", "-o", "%evt.num")
    assert code == 0 and out.split() == [str(i) for i in range(1, 11)]


def test_falco_yaml(src, ext, tmp_path):
    config = tmp_path / "falco.yaml"
    config.write_text(
        "plugins:\n"
        f"  - name: testsrc\n    library_path: {src}\n    init_config:\n      payload_prefix: 'x'\n    open_params: 'count=2'\n"
        f"  - name: testext\n    library_path: {ext}\n"
        "  - name: unused\n    library_path: /nope.so\n"
        "load_plugins: [testsrc, testext]\n"
    )
    code, out, err = run("run", "-c", str(config), "-o", "%test.str %ext.str")
    assert code == 0, err
    assert out.splitlines() == ["x0 v0", "x1 v1"]


def test_errors_are_one_line(src):
    code, out, err = run("run", "-p", "/nope/libx.so")
    assert code == 1
    assert err.strip().splitlines() == [
        "falcoplug: error: cannot load plugin /nope/libx.so: can't load plugin dynamic library: "
        "/nope/libx.so: cannot open shared object file: No such file or directory"
    ]
    code, _, err = run("run", "-p", f"{src}|not json|count=1")
    assert code == 1 and err.strip() == "falcoplug: error: error in plugin testsrc: init config is not a valid json"
    code, _, err = run("run", "-p", f"{src}||count=1", "-o", "%test.nope")
    assert code == 1 and err.strip() == "falcoplug: error: unknown filter: test.nope (did you mean test.num?)"
    code, _, err = run("run", "-p", f"{src}||count=5,fail_at=2")
    assert code == 1 and err.strip().endswith("plugin testsrc: failed at event 2")


def test_inspect_text_and_json(src):
    code, out, _ = run("inspect", src)
    assert code == 0
    assert "testsrc 0.2.1" in out and "test.value" in out and "Open params" in out
    code, out, _ = run("inspect", src, "--json")
    doc = json.loads(out)
    assert doc["name"] == "testsrc" and doc["id"] == 999 and doc["event_source"] == "test"
    assert doc["capabilities"] == ["event sourcing", "field extraction"]
    assert {f["name"] for f in doc["fields"]} >= {"test.value", "test.str"}
    assert doc["init_schema"]["type"] == "object"
    assert doc["open_params"]


def test_inspect_with_failing_init_still_shows_the_plugin():
    lib = str(build_plugin("broken_plugin", {"INIT_FAIL": None}))
    code, out, _ = run("inspect", lib, "--json")
    assert code == 0
    assert json.loads(out)["init_error"] == "could not initialize plugin: init failed on purpose"


def test_inspect_broken_plugin_fails():
    lib = str(build_plugin("broken_plugin", {"API_VERSION": cstr("4.0.0")}))
    code, _, err = run("inspect", lib)
    assert code == 1 and "major versions disagree" in err


def test_fastpath_and_abi_mode_print_the_same(src, ext):
    """The compiled fast path and the pure ABI-mode fallback give identical output."""
    args = [sys.executable, "-m", "falcoplug", "run", "-p", f"{src}||count=50,batch=8", "-p", ext, "-o",
            "*%evt.num %test.str %ext.u64 %ext.rel %ext.abs %ext.bool %ext.ip4 %ext.ip6 %ext.net %ext.list.u64 "
            "%ext.list.str %ext.list.empty %ext.list.ip %ext.key[k] %ext.idx[2] %ext.opt %ext.odd %ext.fail"]  # fmt: skip
    fast = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    slow = subprocess.run(args, capture_output=True, text=True, check=True,
                          env={**os.environ, "FALCOPLUG_NO_FASTPATH": "1"}).stdout  # fmt: skip
    assert fast == slow and len(fast.splitlines()) == 50


def test_fastpath_and_abi_mode_replay_and_read_json_the_same(src, ext, tmp_path):
    """The compiled scan of a capture's plugin blocks and the orjson check of the json helpers,
    against their Python forms (ABI mode): the same lines from a replay and from k8saudit + json."""
    capture = tmp_path / "c.scap"
    subprocess.run([sys.executable, "-m", "falcoplug", "run", "-p", f"{src}||count=3000,batch=7", "-p", ext, "-q",
                    "-w", str(capture)], check=True, capture_output=True)  # fmt: skip
    samples = Path(falcoplug.plugins.__file__).parent / "data" / "k8s_audit"
    runs = {
        "replay": ["-R", str(capture), "-p", src, "-p", ext, "-o", "*%evt.num %evt.time %test.str %ext.u64"],
        "json": ["-p", f"k8saudit||{samples}", "-p", "json", "-o",
                 "*%ka.verb %ka.user.name %jevt.value[/responseStatus] %jevt.value[/objectRef] %ka.req.pod.containers.image"],
    }  # fmt: skip
    for name, args in runs.items():
        base = [sys.executable, "-m", "falcoplug", "run", *args]
        fast = subprocess.run(base, capture_output=True, text=True, check=True).stdout
        slow = subprocess.run(base, capture_output=True, text=True, check=True,
                              env={**os.environ, "FALCOPLUG_NO_FASTPATH": "1"}).stdout  # fmt: skip
        assert fast == slow and len(fast.splitlines()) >= 50, name


@pytest.mark.parametrize("env", [{}, {"FALCOPLUG_NO_FASTPATH": "1"}], ids=["compiled", "abi"])
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_format_without_star_prints_only_complete_events(src, ext, env, as_json):
    """As libsinsp: without a leading ``*``, an event where a field has no value is not printed
    (ext.odd has a value on odd events only); with ``*`` every event prints, ``<NA>``/null for it."""
    base = [sys.executable, "-m", "falcoplug", "run", "-p", f"{src}||count=6,batch=4", "-p", ext, *(["--json"] if as_json else [])]
    environ = {**os.environ, **env}
    bare = subprocess.run([*base, "-o", "%evt.num %ext.odd"], capture_output=True, text=True, check=True, env=environ)
    star = subprocess.run([*base, "-o", "*%evt.num %ext.odd"], capture_output=True, text=True, check=True, env=environ)
    if as_json:
        assert [json.loads(line)["evt.num"] for line in bare.stdout.splitlines()] == [2, 4, 6]
        assert [json.loads(line)["ext.odd"] for line in star.stdout.splitlines()][:2] == [None, "odd1"]
    else:
        assert bare.stdout.splitlines() == ["2 odd1", "4 odd3", "6 odd5"]
        assert star.stdout.splitlines()[:2] == ["1 <NA>", "2 odd1"] and len(star.stdout.splitlines()) == 6


def test_falco_yaml_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("plugins:\n  - name: [unclosed\n")
    code, _, err = run("run", "-c", str(bad))
    assert code == 1 and len(err.strip().splitlines()) == 1 and "(line 3, column 1)" in err
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("plugins: []\nload_plugins: [zzz]\n")
    code, _, err = run("run", "-c", str(unknown))
    assert code == 1 and "load_plugins names 'zzz', which has no entry in plugins:" in err


# -- one error style, one exit-code policy, and the rough edges a new user meets (issue 15 §3) ----
K8S_SAMPLE = os.path.join(os.path.dirname(__file__), "..", "src", "falcoplug", "plugins", "data", "k8s_audit",
                          "attach_pod.json")  # fmt: skip


def test_usage_errors_are_one_line_in_falcoplugs_style_exit_2(tmp_path):
    code, out, err = run("run", "-R", str(tmp_path))
    assert code == 2 and not out
    assert err.strip().splitlines() == [
        f"falcoplug: error: Invalid value for '-R' / '--read': File '{tmp_path}' is a directory. "
        "(see 'main run --help')"
    ]
    code, _, err = run("--bogus")
    assert code == 2 and err.startswith("falcoplug: error: No such option '--bogus'") and len(err.splitlines()) == 1


def test_verbose_after_the_subcommand(src):
    code, out, _ = run("run", "-p", f"{src}||count=2", "-v", "-o", "%evt.num")
    assert code == 0 and out.split() == ["1", "2"]
    code, out, _ = run("fields", "-vv", "-p", src, "--json")
    assert code == 0 and "test" in json.loads(out)


def test_priority_says_the_valid_values(src):
    rules = os.path.join(os.path.dirname(__file__), "data")
    code, _, err = run("run", "-p", f"{src}||count=1", "-r", rules, "--priority", "warn")
    assert code == 1 and "invalid priority 'warn': valid values are emergency, alert" in err


def test_spec_with_pipes_names_the_spec_and_its_split(src):
    code, _, err = run("run", "-p", f"{src}||a|b", "-n", "1")
    assert code == 1
    assert err.strip() == (f"falcoplug: error: error in plugin testsrc: init config is not a valid json (plugin spec "
                           f"'{src}||a|b' splits on its first and last '|': init config '|a', open params 'b')")  # fmt: skip
    code, out, _ = run("run", "--help")
    assert "splits on its first" in " ".join(out.split())


def test_misspelt_fields_get_a_suggestion(tmp_path):
    base = ["run", "-p", f"k8saudit|{{}}|{K8S_SAMPLE}", "-p", "json"]
    code, _, err = run(*base, "-f", "ka.usr.name = x")
    assert code == 1
    assert err.strip() == ("falcoplug: error: filter_check called with nonexistent field ka.usr.name "
                           "(did you mean ka.user.name or ka.impuser.name or ka.cluster.name?)")  # fmt: skip
    code, _, err = run(*base, "-o", "%ka.usr.name")
    assert code == 1 and err.strip().endswith("ka.usr.name (did you mean ka.user.name or ka.impuser.name or ka.cluster.name?)")
    rules = tmp_path / "r.yaml"
    rules.write_text("- rule: r\n  desc: d\n  condition: ka.verbb exists\n  output: x\n  priority: INFO\n  source: k8s_audit\n")
    code, _, err = run(*base, "-r", str(rules))
    assert code == 1 and "LOAD_ERR_COMPILE_CONDITION" in err and err.strip().endswith("(did you mean ka.verb?)")



def test_fields_blank_line_before_each_class():
    code, out, _ = run("fields", "-p", "k8saudit", "-p", "json", "--source", "k8s_audit")
    lines = out.splitlines()
    titles = [i for i, line in enumerate(lines) if line.startswith("Field Class:")]
    assert len(titles) == 3 and all(lines[i - 1] == "" for i in titles)


def test_inspect_text_keeps_brackets_and_shows_parsing_and_tables():
    plugin = os.path.join(os.path.dirname(__file__), "sdk_plugins", "stateful.py") + ":Counter"
    result = CliRunner().invoke(main, ["inspect", plugin], env={"COLUMNS": "300"})
    assert result.exit_code == 0
    assert "Parses: every source; all event types" in result.stdout
    assert "Owned tables: sdkcount.hits" in result.stdout
    result = CliRunner().invoke(main, ["inspect", "k8saudit"], env={"COLUMNS": "400"})
    assert "ka.uri.param[key]" in result.stdout or "[key]" in result.stdout
    doc = json.loads(CliRunner().invoke(main, ["inspect", plugin, "--json"]).stdout)
    assert doc["parse_event_types"] == "all" and doc["owned_tables"] == ["sdkcount.hits"]


def test_fields_of_an_unknown_source_is_an_error():
    code, _, err = run("fields", "-p", "k8saudit", "--source", "nosuch")
    assert code == 1
    assert "unknown event source 'nosuch' (known here: syscall, k8s_audit)" in err
