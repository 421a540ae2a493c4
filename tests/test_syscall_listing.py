"""``falcoplug fields --list``: Falco's ``--list`` text, byte for byte (the syscall catalogue, and
plugin classes beside it), compared with the real Falco when ``../shared/peers`` is there."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from falcoplug.cli.main import main

REPO = Path(__file__).resolve().parent.parent
PEERS = Path(os.environ.get("FALCOPLUG_SHARED_PEERS") or REPO.parent / "shared" / "peers")
FALCO = PEERS / "bin" / "falco"
GO = PEERS / "plugins" / "go"
needs_falco = pytest.mark.skipif(not FALCO.exists(), reason="../shared/peers (the real Falco) is absent")


def fields(*args: str) -> str:
    result = CliRunner().invoke(main, ["fields", "--list", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def falco_list(config: Path, source: str | None) -> str:
    flag = "--list" if source is None else f"--list={source}"
    done = subprocess.run([str(FALCO), "-c", str(config), flag], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_syscall_list_shape() -> None:
    text = fields("--source", "syscall")
    assert text.startswith("-------------------------------\nField Class:                  evt (All event types)\n")
    assert "\nevt.arg                       (ARG_REQUIRED) one of the event arguments specified by name or by number." in text
    assert "\nproc.exe_ino.ctime_duration_proc_start\n                              Number of nanoseconds" in text
    assert "evt.dir " not in text and "evt.count.procinfo" not in text  # deprecated, table only
    assert text.count("Field Class:") == 8


@needs_falco
def test_syscall_list_as_falco() -> None:
    assert fields("--source", "syscall") == falco_list(PEERS / "falco" / "minimal.yaml", "syscall")


@needs_falco
@pytest.mark.parametrize("source", [None, "k8s_audit"])
def test_plugin_classes_as_falco(source: str | None, tmp_path: Path) -> None:
    config = tmp_path / "falco.yaml"
    config.write_text(
        "plugins:\n"
        f"  - {{name: k8saudit, library_path: {GO / 'libk8saudit.so'}, init_config: ''}}\n"
        f"  - {{name: json, library_path: {GO / 'libjson.so'}, init_config: ''}}\n"
        "load_plugins: [k8saudit, json]\n"
    )
    args = ["-p", str(GO / "libk8saudit.so"), "-p", str(GO / "libjson.so")]
    if source is not None:
        args += ["--source", source]
    assert fields(*args) == falco_list(config, source)
