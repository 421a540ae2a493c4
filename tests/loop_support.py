"""The loop test plugin (tests/plugins/loop_plugin.c) and how the loop tests run it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from falcoplug.framework import Inspector

CORES = [pytest.param({"FALCOPLUG_NO_FASTPATH": "0"}, id="compiled"), pytest.param({"FALCOPLUG_NO_FASTPATH": "1"}, id="abi")]


def open_loop(lib: str, params: str) -> Inspector:
    host = Inspector()
    host.load(lib, "")
    host.open("looptest", params)
    return host


def run(lib: str, params: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "falcoplug", "run", "-p", f"{lib}||{params}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})})
