"""Falco's own syscall rules files, and syscall rules loaded beside plugin rules.

The three official files stop at their ``required_plugin_versions`` (the container plugin), as in
Falco 0.44.1. With that requirement taken out and the ``container.*``/``k8s.*`` fields (the container
plugin's) replaced by a libsinsp field, every condition and output compiles, with no warning, as
Falco says of the same text (``tests/test_syscall_validate.py`` compares with Falco itself).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from shared_data import K8S_AUDIT_DIR, RULES_DIR

from falcoplug.cli.main import main
from falcoplug.framework.inspector import Inspector
from falcoplug.framework.registry import SourceFields
from falcoplug.rules import RulesLoader, validate_files

SYSCALL_RULES = RULES_DIR / "syscall"
FIXTURES = Path(__file__).resolve().parent / "data" / "syscall_rules"
REQUIREMENT = "Error: Plugin requirement not satisfied, must load one of: container (>= 0.4.0)\n"
# file: (rules, macros, lists, disabled rules)
EXPECTED = {
    "falco_rules.yaml": (25, 87, 49, 0),
    "falco-incubating_rules.yaml": (31, 82, 54, 0),
    "falco-sandbox_rules.yaml": (37, 183, 60, 12),
}
needs_rules = pytest.mark.skipif(not SYSCALL_RULES.is_dir(), reason="shared syscall rules files not available")


def syscall_sources() -> dict[str, SourceFields]:
    return {"syscall": SourceFields("syscall", [])}


@needs_rules
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_official_file_stops_at_the_container_requirement(name: str) -> None:
    report = validate_files([SYSCALL_RULES / name], syscall_sources(), {})
    assert (report.stdout, report.stderr, report.exit_code) == ("", REQUIREMENT, 1)


@needs_rules
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_official_file_compiles_without_the_container_plugin_fields(name: str, tmp_path: Path) -> None:
    text = (SYSCALL_RULES / name).read_text()
    text = re.sub(r"(?ms)^- required_plugin_versions:.*?(?=^- |\Z)", "", text)
    text = re.sub(r"\b(container|k8s)\.[a-zA-Z_.]+(\[[^\]]*\])?", "proc.name", text)
    path = tmp_path / name
    path.write_text(text)
    loader = RulesLoader(syscall_sources(), {})
    result = loader.load_file(path)
    assert result.successful, result.as_verbose_string(loader.contents)
    assert result.warnings == []
    assert loader.compiled is not None
    rules, macros, lists, disabled = EXPECTED[name]
    assert (len(loader.rules), len(loader.compiled.macros), len(loader.compiled.lists)) == (rules, macros, lists)
    assert sum(not r.enabled for r in loader.rules) == disabled
    assert {r.source for r in loader.rules} == {"syscall"}


@needs_rules
def test_container_fields_are_the_container_plugins(tmp_path: Path) -> None:
    text = re.sub(r"(?ms)^- required_plugin_versions:.*?(?=^- |\Z)", "", (SYSCALL_RULES / "falco_rules.yaml").read_text())
    path = tmp_path / "falco_rules.yaml"
    path.write_text(text)
    report = validate_files([path], syscall_sources(), {})
    assert report.exit_code == 1 and "filter_check called with nonexistent field container." in report.stdout


@pytest.mark.skipif(not (K8S_AUDIT_DIR.is_dir() and RULES_DIR.is_dir()), reason="shared k8s samples not available")
def test_syscall_rules_beside_k8s_rules_change_no_alert() -> None:
    """Rules of the known but idle ``syscall`` source are loaded and never evaluated."""
    runner = CliRunner()
    base = ["run", "-p", f"k8saudit||{K8S_AUDIT_DIR}", "-p", "json", "-r", str(RULES_DIR / "k8s_audit_rules.yaml")]
    alone = runner.invoke(main, base)
    mixed = runner.invoke(main, [*base, "-r", str(FIXTURES / "ok_plain.yaml"), "-r", str(FIXTURES / "ok_warnings.yaml")])
    assert alone.exit_code == 0 and mixed.exit_code == 0, mixed.output
    assert alone.stdout.count("\n") == 46
    assert mixed.stdout == alone.stdout
    host = Inspector()
    host.load("k8saudit")
    host.load("json")
    loader = RulesLoader({s: host.resolver(s) for s in host.manager.sources}, {p.name: p.version for p in host.plugins})
    loader.load_paths([RULES_DIR / "k8s_audit_rules.yaml", FIXTURES / "ok_plain.yaml", FIXTURES / "ok_warnings.yaml"])
    assert sum(r.source == "syscall" for r in loader.rules) == 6
    host.destroy()
