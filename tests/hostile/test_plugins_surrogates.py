"""A lone surrogate in a Python plugin's string (issue 13, item 3) never ends a run with a
traceback: it prints as its escape text (as the Go plugins' JSON reader keeps ``\\ud800``), in text
and JSON output, rules alerts, event_to_string and tables."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shared_data import K8S_AUDIT_DIR

PLUGIN = '''
from falcoplug.sdk import Event, ExtractPlugin, field


class Sur(ExtractPlugin):
    """Strings no encoder can write"""
    name, version = "sur", "0.1.0"
    extract_event_sources = ["k8s_audit"]

    @field("sur.s")
    def s(self, event: Event) -> str:
        """A lone surrogate between two letters"""
        return "a\\ud800b"

    @field("sur.l")
    def items(self, event: Event) -> list[str]:
        """The same in a list"""
        return ["\\udfff", "ok"]
'''
RULES = "- rule: r\n  desc: d\n  condition: ka.verb = create\n  output: x %sur.s\n  priority: INFO\n  source: k8s_audit\n"


@pytest.fixture()
def sample(tmp_path: Path) -> tuple[Path, Path]:
    path = K8S_AUDIT_DIR / "create_configmap.json"
    if not path.exists():
        pytest.skip(f"{path} not found: the shared sample data is absent")
    plugin = tmp_path / "sur.py"
    plugin.write_text(PLUGIN)
    return path, plugin


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "falcoplug", "run", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=60)  # fmt: skip


def test_text_json_and_alerts_print_the_escape(sample: tuple[Path, Path], tmp_path: Path) -> None:
    log, plugin = sample
    specs = ["-p", f"k8saudit||{log}", "-p", "json", "-p", str(plugin)]
    text = run(*specs, "-o", "%evt.num %sur.s %sur.l", cwd=tmp_path)
    assert text.returncode == 0 and "Traceback" not in text.stderr, text.stderr
    assert text.stdout == "1 a\\ud800b (\\udfff,ok)\n"
    as_json = run(*specs, "-o", "%sur.s", "--json", cwd=tmp_path)
    assert json.loads(as_json.stdout) == {"sur.s": "a\\ud800b"}
    (tmp_path / "r.yaml").write_text(RULES)
    alerts = run(*specs, "-r", str(tmp_path / "r.yaml"), cwd=tmp_path)
    assert alerts.returncode == 0 and alerts.stdout.rstrip().endswith("x a\\ud800b"), alerts.stderr


def test_tables_take_the_escape(sample: tuple[Path, Path], tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    import falcoplug.data as fd

    log, plugin = sample
    table = fd.read_table(["k8saudit", "json", str(plugin)], open=str(log), fields=["sur.s", "sur.l"])
    assert table.to_pylist() == [{"sur.s": "a\\ud800b", "sur.l": ["\\udfff", "ok"]}]
