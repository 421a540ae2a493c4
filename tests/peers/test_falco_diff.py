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
