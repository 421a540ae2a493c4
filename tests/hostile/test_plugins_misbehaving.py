"""Plugins that misbehave (issue 13, items 9 and 11): a NULL state with SUCCESS from init, a
KeyboardInterrupt raised by plugin code, a batch overfilled behind the writer's back. Each ends
the run with one clear error line naming the plugin; nothing is called with a NULL state."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from falcoplug.cli.main import main
from falcoplug.errors import PluginError
from falcoplug.framework.inspector import Inspector

HERE = Path(__file__).parent
NULL_SUCCESS = "^could not initialize plugin: init returned SUCCESS but no plugin state \\(NULL\\)$"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_init_null_state_with_success_is_refused(build_plugin: Callable[..., Path]) -> None:
    host = Inspector()
    plugin = host.register(build_plugin("broken_plugin", INIT_NULL_SUCCESS=None))
    with pytest.raises(PluginError, match=NULL_SUCCESS) as info:
        plugin.init("")
    assert info.value.plugin == "broken"
    # Nothing reaches the plugin with its NULL state afterwards: it counts as never initialized.
    assert not plugin.initialized
    with pytest.raises(PluginError, match="^plugin capability used before init: broken$"):
        plugin.last_error()
    host.destroy()


def test_init_null_state_with_success_from_the_command_line(build_plugin: Callable[..., Path]) -> None:
    lib = build_plugin("broken_plugin", INIT_NULL_SUCCESS=None)
    code, out, err = run("run", "-p", f"{lib}||")
    assert code == 1 and out == ""
    assert err.strip() == (
        "falcoplug: error: plugin broken: could not initialize plugin: init returned SUCCESS but no plugin state (NULL)"
    )


def test_keyboard_interrupt_raised_by_plugin_code_is_a_plugin_failure() -> None:
    # In a child process: the command line's signal handlers are those of a real run.
    spec = f"{HERE / 'misbehaving.py'}:Interrupting"
    proc = subprocess.run(
        [sys.executable, "-m", "falcoplug", "run", "-p", f"{spec}||"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip() == "falcoplug: error: plugin interrupting: next_batch: KeyboardInterrupt"


def test_overfilled_batch_is_refused() -> None:
    spec = f"{HERE / 'misbehaving.py'}:Overfill"
    code, out, err = run("run", "-p", f"{spec}||", "-o", "%evt.num")
    assert code == 1 and out == ""
    assert err.strip() == (
        "falcoplug: error: plugin overfill: next_batch: wrote 1029 events into a batch of capacity 1024"
    )
