"""The five official plugin rules files load and compile against the fields their plugins declare."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from filter_support import PLUGIN_VERSIONS, DictValues, official_sources

from falcoplug.rules import Priority, RuleEngine, RulesLoader

from shared_data import RULES_DIR  # noqa: E402

# file: (rules, macros, lists, disabled rules)
EXPECTED = {
    "aws_cloudtrail_rules.yaml": (22, 0, 1, 2),
    "gcp_auditlog_rules.yaml": (39, 11, 0, None),
    "github.yaml": (15, 0, 0, None),
    "k8s_audit_rules.yaml": (48, 45, 18, None),
    "okta_rules.yaml": (21, 1, 1, None),
}

pytestmark = pytest.mark.skipif(not RULES_DIR.is_dir(), reason="shared rules files not available")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_official_file_loads(name: str) -> None:
    loader = RulesLoader(official_sources(), PLUGIN_VERSIONS)
    result = loader.load_file(RULES_DIR / name)
    assert result.successful, result.as_verbose_string(loader.contents)
    assert result.warnings == []
    assert loader.compiled is not None
    rules, macros, lists, disabled = EXPECTED[name]
    assert (len(loader.rules), len(loader.compiled.macros), len(loader.compiled.lists)) == (
        rules,
        macros,
        lists,
    )
    if disabled is not None:
        assert sum(not r.enabled for r in loader.rules) == disabled
    assert loader.check_plugin_requirements() is None


def test_priorities_of_k8s_and_cloudtrail_rules() -> None:
    loader = RulesLoader(official_sources(), PLUGIN_VERSIONS)
    loader.load_paths([RULES_DIR / "k8s_audit_rules.yaml", RULES_DIR / "aws_cloudtrail_rules.yaml"])
    counts = Counter((r.source, r.priority) for r in loader.rules)
    assert (
        counts[("k8s_audit", Priority.WARNING)] == 21 and counts[("k8s_audit", Priority.INFORMATIONAL)] == 20
    )
    assert counts[("k8s_audit", Priority.NOTICE)] == 4 and counts[("k8s_audit", Priority.ERROR)] == 2
    assert (
        counts[("aws_cloudtrail", Priority.WARNING)] == 15
        and counts[("aws_cloudtrail", Priority.CRITICAL)] == 5
    )


def test_all_files_in_one_collection() -> None:
    loader = RulesLoader(official_sources(), PLUGIN_VERSIONS)
    results = loader.load_paths([RULES_DIR])
    assert [Path(r.name).name for r in results] == sorted(EXPECTED)
    assert all(r.successful for r in results)
    assert len(loader.rules) == sum(e[0] for e in EXPECTED.values())
    assert loader.check_plugin_requirements() is None
    engine = RuleEngine(loader.rules)
    assert set(engine.sources) == {"k8s_audit", "aws_cloudtrail", "gcp_auditlog", "github", "okta"}


def test_missing_plugin_is_reported() -> None:
    versions = {k: v for k, v in PLUGIN_VERSIONS.items() if k != "json"}
    loader = RulesLoader(official_sources(), versions)
    loader.load_file(RULES_DIR / "k8s_audit_rules.yaml")
    assert (
        loader.check_plugin_requirements()
        == "Plugin requirement not satisfied, must load one of: json (>= 0.7.0)"
    )


def test_without_sources_every_rule_is_skipped() -> None:
    loader = RulesLoader({}, PLUGIN_VERSIONS)
    result = loader.load_file(RULES_DIR / "github.yaml")
    assert result.successful and loader.rules == []
    assert {w.code.name for w in result.warnings} == {"LOAD_UNKNOWN_SOURCE"}


def test_a_k8s_rule_matches() -> None:
    sources = official_sources()
    loader = RulesLoader(sources, PLUGIN_VERSIONS)
    loader.load_file(RULES_DIR / "k8s_audit_rules.yaml")
    engine = RuleEngine(loader.rules, rule_matching="all")
    event = {
        "jevt.value[/stage]": "ResponseComplete",
        "jevt.rawtime": "1540476552",
        "ka.verb": "create",
        "ka.target.resource": "pods",
        "ka.req.pod.containers.privileged": ["true"],
        "ka.req.pod.containers.image.repository": ["nginx"],
        "ka.response.code": "201",
        "ka.user.name": "bob",
        "ka.target.namespace": "default",
    }
    matched = [r.name for r in engine.match("k8s_audit", DictValues(event))]
    assert matched == ["Disallowed K8s User", "Create Privileged Pod"]
    event["ka.user.name"] = "admin"
    assert [r.name for r in engine.match("k8s_audit", DictValues(event))] == ["Create Privileged Pod"]
    event["ka.req.pod.containers.privileged"] = ["false"]
    assert [r.name for r in engine.match("k8s_audit", DictValues(event))] == []
    github = {"github.type": "repository", "github.action": "publicized"}
    assert [r.name for r in engine.match("github", DictValues(github))] == []
