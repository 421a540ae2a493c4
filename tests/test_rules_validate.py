"""``rules validate`` output: Falco's ``-V`` text (file:line contexts, snippets, codes) and exit status."""

from __future__ import annotations

import json
from pathlib import Path

from filter_support import PLUGIN_VERSIONS, official_sources, resolver

from falcoplug.rules import validate_files

SOURCES = {"test": resolver("test", [])}
GOOD = "- rule: r\n  desc: d\n  condition: t.str = a\n  output: o\n  priority: INFO\n  source: test\n"


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content)
    return path


def test_valid_file(tmp_path: Path) -> None:
    path = write(tmp_path, "ok.yaml", GOOD.replace("t.str = a", "evt.num > 0"))
    report = validate_files([path], SOURCES)
    assert report.ok and report.exit_code == 0
    assert report.stdout == f"{path}: Ok\n"
    assert report.stderr == ""


def test_file_with_warnings(tmp_path: Path) -> None:
    path = write(
        tmp_path, "warn.yaml", "- list: unused\n  items: [a]\n" + GOOD.replace("t.str = a", "evt.num > 0")
    )
    report = validate_files([path], SOURCES)
    assert report.ok
    assert report.stdout == f"{path}: Ok, with warnings\n"
    assert report.stderr == (
        f"{path}: Ok, with warnings\n1 Warnings:\nIn rules content: ({path}:0:0)\n    list 'unused': ({path}:0:2)\n"
        "------\n- list: unused\n  ^\n------\n"
        "LOAD_UNUSED_LIST (Unused list): List not referred to by any other rule/macro\n\n"
    )


def test_invalid_file(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", "- macro: m\n  append: false\n")
    report = validate_files([path], SOURCES)
    assert not report.ok and report.exit_code == 1
    assert report.stdout == (
        f"{path}: Invalid\n1 Errors:\nIn rules content: ({path}:0:0)\n    macro 'm': ({path}:0:2)\n"
        "------\n- macro: m\n  ^\n------\n"
        "LOAD_ERR_YAML_VALIDATE (Error validating internal structure of YAML file): "
        "Item has no mapping for key 'condition'\n\n"
    )


def test_errors_and_warnings_together(tmp_path: Path) -> None:
    path = write(tmp_path, "both.yaml", "- bogus: 1\n- rule: r\n  desc: d\n")
    report = validate_files([path], SOURCES)
    assert "1 Errors:" in report.stdout and "\n\n1 Warnings:\n" in report.stdout
    assert "LOAD_UNKNOWN_ITEM (Unknown rules file item): Unknown top level item" in report.stdout


def test_every_file_is_reported(tmp_path: Path) -> None:
    bad = write(tmp_path, "a_bad.yaml", "- rule: [\n")
    good = write(tmp_path, "b_good.yaml", "- required_engine_version: 10\n")
    report = validate_files([tmp_path], SOURCES)
    assert not report.ok
    assert report.stdout.startswith(f"{bad}: Invalid\n1 Errors:\n")
    assert f"\n{good}: Ok\n" in report.stdout
    assert "LOAD_ERR_YAML_PARSE (YAML parse error)" in report.stdout


def test_json_output(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", "- macro: m\n  append: false\n")
    report = validate_files([path], SOURCES, json_output=True)
    data = json.loads(report.stdout)
    (result,) = data["falco_load_results"]
    assert result["successful"] is False and result["name"] == str(path)
    (err,) = result["errors"]
    assert (
        err["code"] == "LOAD_ERR_YAML_VALIDATE"
        and err["message"] == "Item has no mapping for key 'condition'"
    )
    assert err["context"]["locations"][1] == {
        "item_type": "macro",
        "item_name": "m",
        "position": {"name": str(path), "line": 0, "column": 2, "offset": 2},
    }


def test_unmet_plugin_requirement_fails(tmp_path: Path) -> None:
    path = write(tmp_path, "req.yaml", "- required_plugin_versions:\n  - name: json\n    version: 0.7.0\n")
    report = validate_files([path], SOURCES, {})
    assert not report.ok
    assert report.stderr.endswith("Plugin requirement not satisfied, must load one of: json (>= 0.7.0)\n")


def test_official_files_validate() -> None:
    from shared_data import RULES_DIR as rules
    if not rules.is_dir():
        return
    report = validate_files([rules], official_sources(), PLUGIN_VERSIONS)
    assert report.ok, report.stdout
    assert report.stdout.count(": Ok\n") == 5
