"""JSON nested beyond any parser's depth, from a user or a plugin (issue 13, item 7): an init config
of 50,000 nested ``[ ]`` and a ``get_fields`` text of 200,000 nested ``[`` are one clear error each
(libsinsp's words), never a RecursionError."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cbuild import cstr

from falcoplug.errors import ConfigError, PluginLoadError
from falcoplug.framework.fields import parse_fields_json
from falcoplug.framework.inspector import Inspector


def test_deep_init_config_is_not_a_valid_json() -> None:
    deep = "[" * 50_000 + "]" * 50_000
    with pytest.raises(ConfigError, match="^error in plugin k8saudit: init config is not a valid json$"):
        Inspector().load("k8saudit", deep)


def test_deep_init_config_from_the_command_line() -> None:
    from click.testing import CliRunner

    from falcoplug.cli.main import main

    deep = "[" * 50_000 + "]" * 50_000
    result = CliRunner().invoke(main, ["run", "-p", f"json|{deep}"])
    assert result.exit_code == 1
    assert result.stderr.strip() == "falcoplug: error: error in plugin json: init config is not a valid json"


def test_deep_get_fields_json_is_an_invalid_json() -> None:
    with pytest.raises(PluginLoadError, match="^error in plugin deep: get_fields returned an invalid JSON$"):
        parse_fields_json("[" * 200_000, "deep")


def test_deep_get_fields_from_a_c_plugin(build_plugin: Callable[..., Path]) -> None:
    # 60,000 levels: a -D macro stays under the kernel's 128 KiB limit for one argument.
    lib = build_plugin("broken_plugin", FIELDS_JSON=cstr("[" * 60_000 + "]" * 60_000))
    with pytest.raises(PluginLoadError, match="get_fields returned an invalid JSON"):
        Inspector().register(lib)
