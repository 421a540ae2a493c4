"""falcoplug's main job as the README shows it: ``scripts/demo`` runs the bundled k8saudit and json
plugins over the bundled sample audit logs with the official rules, and the bundled ``falco.yaml``
does the same through ``falcoplug run -c``."""

from __future__ import annotations

import filecmp
import fnmatch
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import falcoplug.plugins
from shared_data import SHARED_DATA as SHARED

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(falcoplug.plugins.__file__).resolve().parent / "data"


def check_output(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr
    alerts = result.stdout.splitlines()
    assert len(alerts) == 46
    assert any(": Warning Pod started with privileged container (" in a for a in alerts)
    assert any(": Notice Attach/Exec to pod (user=minikube-user" in a and "command=bash" in a for a in alerts)
    assert "Events processed: 51" in result.stderr
    assert "Events detected: 46" in result.stderr
    assert "Triggered rules by rule name:" in result.stderr


def test_demo_script():
    env = dict(os.environ, FALCOPLUG_DEMO_PYTHON=sys.executable)  # this environment, no install
    result = subprocess.run(["bash", str(ROOT / "scripts" / "demo")], capture_output=True, text=True, env=env, timeout=120)
    check_output(result)
    assert "k8saudit||" in result.stderr  # the command it runs is shown


def test_bundled_falco_yaml_loads_the_plugins_by_name():
    result = subprocess.run([sys.executable, "-m", "falcoplug", "run", "-c", "falco.yaml"], cwd=DATA,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    check_output(result)


def test_bundled_data_is_an_unchanged_copy():
    files = sorted(p.name for p in (DATA / "k8s_audit").glob("*.json"))
    assert len(files) == 47
    assert (DATA / "rules" / "k8s_audit_rules.yaml").is_file()
    assert "Apache License 2.0" in (DATA / "README.md").read_text()
    if not SHARED.is_dir():
        pytest.skip("../shared/data is not here to compare with")
    for name in files:
        assert filecmp.cmp(DATA / "k8s_audit" / name, SHARED / "k8s_audit" / name, shallow=False), name
    assert filecmp.cmp(DATA / "rules" / "k8s_audit_rules.yaml", SHARED / "rules" / "k8s_audit_rules.yaml", shallow=False)


def test_the_package_ships_the_data():
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["falcoplug"]
    package = DATA.parent.parent
    for path in DATA.rglob("*"):
        if path.is_file():
            rel = path.relative_to(package).as_posix()
            assert any(fnmatch.fnmatch(rel, p) for p in patterns), rel


def test_stock_falco_yaml_with_library_names(tmp_path):
    """Falco's own configuration style: library_path libk8saudit.so / libjson.so (no such files here)
    reach the bundled plugins; init_config as a mapping; the webhook params replaced by the samples."""
    config = tmp_path / "falco.yaml"
    config.write_text(f"""
rules_files: [{DATA / 'rules' / 'k8s_audit_rules.yaml'}]
plugins:
  - name: k8saudit
    library_path: libk8saudit.so
    init_config:
      maxEventSize: 262144
      webhookMaxBatchSize: 12582912
    open_params: "{DATA / 'k8s_audit' / 'exec_pod.json'}"
  - name: json
    library_path: libjson.so
    init_config: ""
load_plugins: [k8saudit, json]
json_output: true
""")
    result = subprocess.run([sys.executable, "-m", "falcoplug", "run", "-c", str(config)],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    (alert,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert alert["rule"] == "Attach/Exec Pod" and alert["priority"] == "Notice" and alert["source"] == "k8s_audit"
    assert alert["output_fields"]["ka.uri.param[command]"] == "bash"
    assert alert["output_fields"]["ka.target.subresource"] == "exec"
