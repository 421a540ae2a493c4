"""``falcoplug check``: each deliberately broken plugin (C and Python) is caught by the check meant
for it, the checker never crashes, and well-behaved plugins pass. Budgets are small on purpose."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from falcoplug.abi.ffi import fastpath
from falcoplug.check import Budget, CheckOptions, Limits, Report, Status, WithPlugin, check_plugin
from falcoplug.check.registry import check_registry, load_registry
from falcoplug.check.release import changes, check_release
from falcoplug.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
PY = ROOT / "tests" / "sdk_plugins" / "check_broken.py"
FAST = Limits(call_timeout=1.5, memory=1 << 30)


def run(location: str | Path, tmp_path: Path, *only: str, calls: int = 300, **kw: Any) -> Report:
    options = CheckOptions(seed=7, budget=Budget(seconds=20, calls=calls), limits=FAST, save_dir=tmp_path,
                           only=only, replay_events=20, **kw)  # fmt: skip
    return check_plugin(str(location), options)


def titles(report: Report, check: str, status: Status = Status.FAIL) -> list[str]:
    return [f.title for f in report.of(check) if f.status is status]


@pytest.fixture(scope="module")
def chk(request: pytest.FixtureRequest) -> Any:
    """Builds tests/plugins/check_broken.c with the given macros (cached)."""
    import shutil

    import cbuild

    if shutil.which(cbuild.CC) is None:
        pytest.skip("no C compiler to build the check fixtures")
    return lambda **defines: cbuild.build_plugin("check_broken", defines)


# -- well-behaved plugins pass ------------------------------------------------------------------
def test_good_c_plugin_passes_every_check(chk: Any, tmp_path: Path) -> None:
    report = run(chk(), tmp_path)
    assert report.exit_code == 0, report.failures()
    for check in ("loading", "isolation", "resilience", "memory", "replay", "sourcing"):
        assert report.status_of(check) is Status.PASS, (check, report.of(check))
    # ID 999 is the registry's development ID: a warning, not a failure.
    assert titles(report, "registry", Status.WARN) == ["ID 999 is the development ID", "the name chkplug is not registered"]


def test_good_python_plugin_passes(tmp_path: Path) -> None:
    report = run(f"{PY}:CheckGood", tmp_path)
    assert report.exit_code == 0, report.failures()
    assert report.status_of("replay") is Status.PASS


# -- each fault, caught by its check ------------------------------------------------------------
def test_c_crash_on_random_payload_is_caught_and_minimized(chk: Any, tmp_path: Path) -> None:
    report = run(chk(CRASH_ON_RANDOM=True), tmp_path, "resilience", "isolation")
    crash = [f for f in report.failures("resilience") if "SIGSEGV" in f.title]
    assert crash, report.findings
    saved = json.loads(Path(crash[0].data["input"]).read_text())
    assert saved["failure"] == "crash" and saved["call"] == "extract_fields" and saved["seed"] == 7
    assert len(bytes.fromhex(saved["payload_hex"])) <= 8  # halved down from the failing payload
    assert report.exit_code == 1


def test_python_abort_is_caught(tmp_path: Path) -> None:
    report = run(f"{PY}:CheckCrash", tmp_path, "resilience")
    assert any("SIGABRT" in t for t in titles(report, "resilience")), report.findings


@pytest.mark.parametrize("location", ["c", "py"])
def test_hang_in_extract_fields_is_caught(chk: Any, tmp_path: Path, location: str) -> None:
    target = chk(HANG=True) if location == "c" else f"{PY}:CheckHang"
    report = run(target, tmp_path, "resilience", "isolation", calls=100)
    hangs = [f for f in report.failures("isolation") if f.data.get("kind") == "hang"]
    assert hangs and "does not return" in hangs[0].title and "empty payload" in hangs[0].title


@pytest.mark.parametrize("location", ["c", "py"])
def test_leak_per_call_is_caught(chk: Any, tmp_path: Path, location: str) -> None:
    target = chk(LEAK=True) if location == "c" else f"{PY}:CheckLeak"
    report = run(target, tmp_path, "isolation")
    assert any("memory grows" in t for t in titles(report, "isolation")), report.findings


@pytest.mark.parametrize("location", ["c", "py"])
def test_nondeterministic_field_on_replay_is_caught(chk: Any, tmp_path: Path, location: str) -> None:
    target = chk(NONDET=True) if location == "c" else f"{PY}:CheckNondet"
    report = run(target, tmp_path, "replay")
    (finding,) = report.failures("replay")
    assert finding.title.endswith(".seen differs on replay")
    # Live, the value is whatever the source had produced by then; a replay produces nothing.
    assert re.search(r"first at event 1: live [1-9]\d*, replay 0", finding.detail), finding.detail
    assert "parse events" in finding.fix


@pytest.mark.parametrize("location", ["c", "py"])
def test_removed_field_with_minor_bump_is_caught(chk: Any, tmp_path: Path, location: str) -> None:
    if location == "c":
        old, new = chk(), chk(DROP_FIELD=True, PLUGIN_VERSION='"1.3.0"')
    else:
        old, new = f"{PY}:CheckGood", f"{PY}:CheckDropped"
    report = run(new, tmp_path, "release", against=str(old))
    (finding,) = report.failures("release")
    assert finding.title == "1.2.0 -> 1.3.0 is a minor bump, but the changes need major"
    assert "extra removed" in finding.detail and "2.0.0" in finding.fix


def test_release_against_a_manifest_from_the_cli(chk: Any, tmp_path: Path) -> None:
    manifest = tmp_path / "old.json"
    result = CliRunner().invoke(main, ["check", str(chk()), "--manifest", str(manifest)])
    assert result.exit_code == 0, result.output
    assert json.loads(manifest.read_text())["version"] == "1.2.0"
    report = run(chk(PLUGIN_VERSION='"1.2.1"', NONDET=True), tmp_path, "release", against=str(manifest))
    (finding,) = report.failures("release")
    assert "needs minor" in finding.title or "need minor" in finding.title
    assert "field chk.seen added" in finding.detail


@pytest.mark.parametrize("location", ["c", "py"])
def test_id_of_another_registered_plugin_is_caught(chk: Any, tmp_path: Path, location: str) -> None:
    target = chk(PLUGIN_ID=2) if location == "c" else f"{PY}:CheckStolenId"
    report = run(target, tmp_path, "registry")
    assert "ID 2 is registered to plugin cloudtrail" in titles(report, "registry")


def test_shared_storage_across_fields_is_caught(chk: Any, tmp_path: Path) -> None:
    report = run(chk(SHARED_STORAGE=True), tmp_path, "memory")
    shared = report.failures("memory")
    assert shared and shared[0].title == "chk.text and chk.extra share storage in one extract_fields call"
    assert "asked alone" in shared[0].detail


# -- units: release, registry, options ----------------------------------------------------------
def _manifest(version: str, fields: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"name": "p", "version": version, "fields": fields, "id": 5, "event_source": "s",
            "capabilities": ["event sourcing", "field extraction"], "required_api_version": "3.10.0", **extra}  # fmt: skip


F1 = {"name": "p.a", "type": "string", "desc": "a"}
F2 = {"name": "p.b", "type": "uint64", "desc": "b"}


@pytest.mark.parametrize(
    ("old", "new", "status", "needed"),
    [
        (_manifest("1.0.0", [F1]), _manifest("1.1.0", [F1, F2]), Status.PASS, "minor"),
        (_manifest("1.0.0", [F1]), _manifest("1.0.1", [F1, F2]), Status.FAIL, "minor"),
        (_manifest("1.0.0", [F1, F2]), _manifest("2.0.0", [F1]), Status.PASS, "major"),
        (_manifest("1.0.0", [F1]), _manifest("1.0.0", [F1]), Status.FAIL, "patch"),
        (_manifest("1.0.0", [F1]), _manifest("1.0.1", [{**F1, "type": "uint64"}]), Status.FAIL, "major"),
        (_manifest("0.3.0", [F1, F2]), _manifest("0.4.0", [F1]), Status.WARN, "major"),
        (_manifest("1.0.0", [F1]), _manifest("1.1.0", [F1], required_api_version="3.12.0"), Status.PASS, "minor"),
        (_manifest("1.0.0", [F1]), _manifest("1.0.1", [F1], id=6), Status.FAIL, "major"),
    ],
)
def test_release_rules(old: dict[str, Any], new: dict[str, Any], status: Status, needed: str) -> None:
    report = Report("p", "p")
    check_release(report, old, new, "old")
    (finding,) = report.of("release")
    assert finding.status is status, finding
    assert finding.data["required"] == needed


def test_description_change_is_a_patch_with_a_caution() -> None:
    found = changes(_manifest("1.0.0", [F1]), _manifest("1.0.1", [{**F1, "desc": "other"}]))
    assert found == [("patch", "field p.a: description changed (a major change if its meaning did)")]


def test_registry_rules_and_a_newer_registry_file(tmp_path: Path) -> None:
    bundled = load_registry()
    report = Report("k8saudit", "k8saudit")
    check_registry(report, {"name": "k8saudit", "id": 1, "event_source": "k8s_audit"}, bundled)
    assert report.failures() == [] and report.warnings() == []
    newer = tmp_path / "registry.yaml"
    newer.write_text("reserved_sources: [syscall]\nplugins:\n  - name: mine\n    capabilities:\n"
                     "      sourcing: {supported: true, id: 1, source: k8s_audit}\n")  # fmt: skip
    report = Report("k8saudit", "k8saudit")
    check_registry(report, {"name": "k8saudit", "id": 1, "event_source": "k8s_audit"}, load_registry(newer))
    assert [f.title for f in report.failures()] == ["ID 1 is registered to plugin mine"]
    report = Report("x", "x")
    check_registry(report, {"name": "x", "id": 4242, "event_source": "syscall"}, bundled)
    assert "event source 'syscall' is reserved" in [f.title for f in report.failures()]


def test_options_parse() -> None:
    assert Budget.parse("20s") == Budget(seconds=20.0)
    assert Budget.parse("5000") == Budget(seconds=None, calls=5000)
    with pytest.raises(ValueError, match="invalid budget"):
        Budget.parse("soon")
    assert WithPlugin.parse("lib.so|{}|a|b") == WithPlugin("lib.so", "{}|a", "b")


# -- the command line ----------------------------------------------------------------------------
def test_cli_json_and_exit_codes(chk: Any, tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["--budget", "100", "--seed", "3", "--timeout", "2", "--save-dir", str(tmp_path)]
    good = runner.invoke(main, ["check", str(chk()), *args, "--only", "loading", "--json"])
    assert good.exit_code == 0, good.output
    doc = json.loads(good.output)
    assert doc["result"] == "pass" and doc["checks"]["loading"]["status"] == "pass" and doc["info"]["seed"] == 3
    bad = runner.invoke(main, ["check", str(chk(PLUGIN_ID=2)), *args, "--only", "registry"], env={"COLUMNS": "240"})
    assert bad.exit_code == 1
    assert "ID 2 is registered to plugin cloudtrail" in bad.output and "7. Registry: FAIL" in bad.output
    missing = runner.invoke(main, ["check", str(tmp_path / "nope.so"), *args])
    assert missing.exit_code == 2
    assert "could not run" in missing.output and "nope.so" in missing.output


def test_every_load_rule_is_reported_not_only_the_first(build_plugin: Any, tmp_path: Path) -> None:
    lib = build_plugin("broken_plugin", API_VERSION='"2.0.0"', PLUGIN_VERSION='"1.x"', OMIT_get_contact=None)
    report = run(lib, tmp_path, "loading")
    failed = {f.title: f.detail for f in report.failures("loading")}
    assert "major versions disagree" in failed["required API version"]
    assert failed["required symbols"] == "required symbol not implemented: 'plugin_get_contact'"
    assert failed["version"] == "plugin provided an invalid version string: '1.x'"
    assert report.exit_code == 1 and report.could_not_run is None
    assert not report.of("resilience")  # libsinsp would refuse it: nothing else runs


def test_extractor_fed_by_a_source_plugin_with_with(tmp_path: Path) -> None:
    import cbuild

    source, extractor = cbuild.build_plugin("source_plugin"), cbuild.build_plugin("extractor_plugin")
    report = run(extractor, tmp_path, "resilience", "memory", "replay", with_plugins=[WithPlugin(str(source))])
    assert any(f.title.startswith("10 real events from") for f in report.of("resilience"))
    # The fixture echoes the key it is given; echoing the checker's own non-UTF-8 key is no fault.
    assert report.exit_code == 0, report.failures()
    (replay,) = report.of("replay")
    assert replay.status is Status.PASS and replay.detail.startswith("10 events x 18 fields")


@pytest.mark.skipif(fastpath is None, reason="only the compiled helper overwrites the stack for sure (FALCOPLUG_NO_FASTPATH)")
def test_value_on_the_stack_is_caught(chk: Any, tmp_path: Path) -> None:
    report = run(chk(STACK_VALUE=True), tmp_path, "resilience", "memory")
    (finding,) = [f for f in report.failures("memory") if f.title == "invalid result for chk.text"]
    # Gone stack memory reads as garbage at once, or changes at the next call into the plugin.
    assert "changed before the next extract_fields call" in finding.detail or "not valid UTF-8" in finding.detail


def test_runaway_memory_is_stopped_and_named(tmp_path: Path) -> None:
    options = CheckOptions(seed=7, budget=Budget(seconds=20, calls=100), limits=Limits(call_timeout=20, memory=64 << 20),
                           save_dir=tmp_path, only=("resilience", "isolation"))  # fmt: skip
    report = check_plugin(f"{PY}:CheckBalloon", options)
    (finding,) = [f for f in report.failures("isolation") if f.data.get("kind") == "memory"]
    assert finding.title == "runaway memory in extract_fields(pychk.text on an empty payload (pychksrc))"
    assert "over the 64 MiB limit" in finding.detail
