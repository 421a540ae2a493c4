"""Falco 0.44.1 vs ``falcoplug run``: the official k8s rules over every sample trace, with the real Go
plugins and with falcoplug's Python ports. Alerts (text and JSON, all keys and ``output_fields``;
the host name aside) and the summary lines Falco prints must be identical.

The 47 sample traces are read concatenated (``captures/all_k8s_audit.jsonl``): one process per
side and format instead of one per file. Falco's capture mode is compared too (a replay of
``captures/go_k8saudit.scap``), and so are its load-time checks and a run of two live sources.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from peerhosts import (
    ALL_K8S_AUDIT,
    C_DUMMY,
    FALCO,
    GO_JSON,
    GO_K8SAUDIT,
    GO_K8SAUDIT_SCAP,
    K8S_RULES,
    PORT_DEVIATIONS,
    TIMEOUT,
    assert_same_lines,
)

SYNC = '{"useAsync":false}'  # the Go SDK's async extraction only slows Falco down here (same alerts)
SUMMARY_START = "Events detected:"
# Lines falcoplug adds to the summary (Falco prints its own figures only with -v)
FALCOPLUG_ONLY = re.compile(r"^(Events processed: |Events matching the filter: |Extraction failures: |   \S.* \(.*\): \d+$)")


@dataclass(frozen=True)
class Output:
    alerts: list[str]
    summary: list[str]


def _split(lines: Sequence[str]) -> Output:
    at = next((i for i, line in enumerate(lines) if line.startswith(SUMMARY_START)), len(lines))
    return Output(list(lines[:at]), list(lines[at:]))


def _config(tmp: Path, extra: dict[str, str] | None = None) -> Path:
    """falco.yaml with the Go k8saudit (reading every sample) and json, and ``extra`` plugin entries."""
    entries = {
        "k8saudit": f"{{name: k8saudit, library_path: {GO_K8SAUDIT}, init_config: '{SYNC}', open_params: {ALL_K8S_AUDIT}}}",
        "json": f"{{name: json, library_path: {GO_JSON}, init_config: '{SYNC}'}}",
        **(extra or {}),
    }
    path = tmp / "falco.yaml"
    path.write_text(
        "plugins:\n" + "".join(f"  - {entry}\n" for entry in entries.values())
        + f"load_plugins: [{', '.join(entries)}]\nstdout_output: {{enabled: true}}\n"
    )
    return path


@cache
def falco(config: Path, as_json: bool, replay: bool = False) -> Output:
    """Falco's alerts and summary; ``replay``: of ``captures/go_k8saudit.scap`` (capture mode)."""
    args = [str(FALCO), "-c", str(config), "-r", str(K8S_RULES), "--disable-source=syscall"]
    if replay:
        args += ["-o", "engine.kind=replay", "-o", f"engine.replay.capture_file={GO_K8SAUDIT_SCAP}"]
    if as_json:
        args += ["-o", "json_output=true"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    return _split(proc.stdout.splitlines())


def falcoplug(plugins: Sequence[str], as_json: bool) -> Output:
    args = [sys.executable, "-m", "falcoplug", "run", *plugins, "-r", str(K8S_RULES)]
    if as_json:
        args.append("--json")
    proc = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    summary = [line for line in _split(proc.stderr.splitlines()).summary if not FALCOPLUG_ONLY.match(line)]
    return Output(proc.stdout.splitlines(), summary)


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _config(tmp_path_factory.mktemp("falco"))


def _plugins(kind: str, config: Path) -> list[str]:
    if kind == "go":
        return ["-c", str(config)]
    if kind == "replay":
        return ["-R", str(GO_K8SAUDIT_SCAP), "-p", f"{GO_K8SAUDIT}|{SYNC}", "-p", f"{GO_JSON}|{SYNC}"]
    return ["-p", f"k8saudit||{ALL_K8S_AUDIT}", "-p", "json"]


KINDS = ["go", "python", "replay"]  # the Go plugins; the Python ports; a libsinsp capture replayed


_HOSTNAME = re.compile(r'^\{"hostname":"[^"]*",')


def _without_hostname(line: str) -> str:
    return _HOSTNAME.sub("{", line)


@pytest.mark.parametrize("kind", KINDS)
def test_text_alerts_and_summary(kind: str, config: Path) -> None:
    want = falco(config, as_json=False, replay=kind == "replay")
    got = falcoplug(_plugins(kind, config), as_json=False)
    assert len(want.alerts) == 46
    assert_same_lines(want.alerts, got.alerts)
    assert_same_lines(want.summary, got.summary)


@pytest.mark.parametrize("kind", KINDS)
def test_json_alerts(kind: str, config: Path) -> None:
    want = falco(config, as_json=True, replay=kind == "replay")
    got = falcoplug(_plugins(kind, config), as_json=True)
    assert len(want.alerts) == 46
    used = {key for line in want.alerts for key in json.loads(line)["output_fields"]}
    assert not used & PORT_DEVIATIONS, "a deviation of the ports shows in these alerts: compare without it"
    assert_same_lines([_without_hostname(x) for x in want.alerts], [_without_hostname(x) for x in got.alerts])
    assert_same_lines(want.summary, got.summary)


# -- Falco's load-time checks: the same verdict and words --------------------------------------------


def _extractor(name: str, fields: list[str], sources: list[str]) -> str:
    """A C extraction-only plugin (tests/plugins/broken_plugin.c) with these string fields."""
    from cbuild import build_plugin, cstr

    defines: dict[str, object] = {
        "NO_SOURCING": None,
        "PLUGIN_NAME": cstr(name),
        "FIELDS_JSON": cstr(json.dumps([{"name": f, "type": "string", "desc": f} for f in fields])),
        "EXTRACT_EVENT_SOURCES": cstr(json.dumps(sources)),
    }
    return str(build_plugin("broken_plugin", defines))


def _load_check(tmp: Path, extra: list[tuple[str, str]]) -> tuple[str, str]:
    """Falco's and falcoplug's errors (last stderr line, prefix removed) for the Go k8saudit + json
    and ``extra`` plugins (name, library), in that order."""
    path = _config(tmp, {name: f"{{name: {name}, library_path: {lib}}}" for name, lib in extra})
    falco_run = subprocess.run([str(FALCO), "-c", str(path), "-r", str(K8S_RULES), "--disable-source=syscall"],
                               capture_output=True, text=True, timeout=TIMEOUT)  # fmt: skip
    ours = subprocess.run([sys.executable, "-m", "falcoplug", "run", "-c", str(path), "-r", str(K8S_RULES)],
                          capture_output=True, text=True, timeout=TIMEOUT)  # fmt: skip
    want = falco_run.stderr.strip().splitlines()[-1] if falco_run.returncode else ""
    got = ours.stderr.strip().splitlines()[-1] if ours.returncode else ""
    return want.removeprefix("Error: "), got.removeprefix("falcoplug: error: ")


@pytest.mark.parametrize(
    ("fields", "sources", "message"),
    [
        (["ka.verb"], ["k8s_audit"], "Plugin 'extra' supports extraction of field 'ka.verb' that is overlapping for source 'k8s_audit'"),
        (["evt.num"], ["k8s_audit"], "Plugin 'extra' supports extraction of field 'evt.num' that is overlapping for source 'k8s_audit'"),
        (["extra.value"], ["nowhere"], "Plugin 'extra' is loaded but unused as not compatible with any known event source"),
        (["extra.value"], ["syscall"], ""),  # syscall is always known, even with --disable-source=syscall
    ],
    ids=["plugin field", "host field", "unused", "syscall"],
)
def test_load_time_checks_as_falco(fields: list[str], sources: list[str], message: str, tmp_path: Path) -> None:
    want, got = _load_check(tmp_path, [("extra", _extractor("extra", fields, sources))])
    assert want == message
    assert got == want


# -- several live sources ------------------------------------------------------------------------------

DUMMY_RULES = """\
- required_plugin_versions:
  - {name: dummy_c, version: 0.3.0}
  - {name: k8saudit, version: 0.18.0}
- rule: Dummy divisible by three
  desc: a rule of the second source
  condition: dummy.divisible[3] = 1
  output: value=%dummy.value str=%dummy.strvalue
  priority: NOTICE
  source: dummy_c
"""


def _comparable(line: str) -> tuple[str, str, str]:
    """An alert without what depends on when it ran (the dummy's events are stamped on arrival)."""
    alert = json.loads(line)
    if alert["source"] == "dummy_c":
        alert["output"] = alert["output"].split(": ", 1)[1]
        del alert["time"], alert["output_fields"]["evt.time"]
    del alert["hostname"]
    return alert["source"], alert["rule"], json.dumps(alert, sort_keys=True)


def test_two_live_sources_as_falco(tmp_path: Path) -> None:
    """k8saudit and dummy_c at once: one rules engine (a rules file requiring both plugins loads),
    the same alerts of each source, and one summary over both."""
    dummy = C_DUMMY.as_posix()
    config = _config(tmp_path, {"dummy_c": f"""{{name: dummy_c, library_path: {dummy}, init_config: '{{"jitter":0}}', """
                                           """open_params: '{"start":1,"maxEvents":20}'}"""})  # fmt: skip
    rules = tmp_path / "dummy_rules.yaml"
    rules.write_text(DUMMY_RULES)
    args = ["-r", str(K8S_RULES), "-r", str(rules)]
    falco_run = subprocess.run([str(FALCO), "-c", str(config), *args, "--disable-source=syscall", "-o", "json_output=true"],
                               capture_output=True, text=True, timeout=TIMEOUT)  # fmt: skip
    assert falco_run.returncode == 0, falco_run.stderr
    ours = subprocess.run([sys.executable, "-m", "falcoplug", "run", "-c", str(config), *args, "--json"],
                          capture_output=True, text=True, timeout=TIMEOUT)  # fmt: skip
    assert ours.returncode == 0, ours.stderr
    want = _split(falco_run.stdout.splitlines())
    got_summary = [line for line in _split(ours.stderr.splitlines()).summary if not FALCOPLUG_ONLY.match(line)]
    assert len(want.alerts) == 46 + 7
    assert sorted(map(_comparable, ours.stdout.splitlines())) == sorted(map(_comparable, want.alerts))
    assert_same_lines(want.summary, got_summary)
