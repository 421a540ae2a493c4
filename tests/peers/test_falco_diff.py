"""Falco 0.44.1 vs ``falcoplug run``: the official k8s rules over every sample trace, with the real Go
plugins and with falcoplug's Python ports. Alerts (text and JSON, all keys and ``output_fields``;
the host name aside) and the summary lines Falco prints must be identical.

The 47 sample traces are read concatenated (``captures/all_k8s_audit.jsonl``): one process per
side and format instead of one per file.
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
    FALCO,
    GO_JSON,
    GO_K8SAUDIT,
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


def _config(tmp: Path) -> Path:
    path = tmp / "falco.yaml"
    path.write_text(
        "plugins:\n"
        f"  - {{name: k8saudit, library_path: {GO_K8SAUDIT}, init_config: '{SYNC}', open_params: {ALL_K8S_AUDIT}}}\n"
        f"  - {{name: json, library_path: {GO_JSON}, init_config: '{SYNC}'}}\n"
        "load_plugins: [k8saudit, json]\n"
        "stdout_output: {enabled: true}\n"
    )
    return path


@cache
def falco(config: Path, as_json: bool) -> Output:
    args = [str(FALCO), "-c", str(config), "-r", str(K8S_RULES), "--disable-source=syscall"]
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
    return ["-p", f"k8saudit||{ALL_K8S_AUDIT}", "-p", "json"]


_HOSTNAME = re.compile(r'^\{"hostname":"[^"]*",')


def _without_hostname(line: str) -> str:
    return _HOSTNAME.sub("{", line)


@pytest.mark.parametrize("kind", ["go", "python"])
def test_text_alerts_and_summary(kind: str, config: Path) -> None:
    want = falco(config, as_json=False)
    got = falcoplug(_plugins(kind, config), as_json=False)
    assert len(want.alerts) == 46
    assert_same_lines(want.alerts, got.alerts)
    assert_same_lines(want.summary, got.summary)


@pytest.mark.parametrize("kind", ["go", "python"])
def test_json_alerts(kind: str, config: Path) -> None:
    want = falco(config, as_json=True)
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
    plugins = [("k8saudit", str(GO_K8SAUDIT)), ("json", str(GO_JSON)), *extra]
    path = tmp / "falco.yaml"
    entries = "".join(f"  - {{name: {n}, library_path: {lib}, init_config: '{SYNC}'}}\n" for n, lib in plugins)
    entries = entries.replace(f"{GO_K8SAUDIT}, init_config: '{SYNC}'}}",
                              f"{GO_K8SAUDIT}, init_config: '{SYNC}', open_params: {ALL_K8S_AUDIT}}}")  # fmt: skip
    path.write_text(f"plugins:\n{entries}load_plugins: [{', '.join(n for n, _ in plugins)}]\n"
                    "stdout_output: {enabled: true}\n")  # fmt: skip
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
