"""The five official rules files load and compile in falcoplug against real plugins (C test plugins
built to declare the fields the official plugins declare, with their real types), through the same
path as ``falcoplug run -r``."""

from __future__ import annotations

import json

import pytest
from cbuild import build_plugin, cstr
from filter_support import CLOUDTRAIL, GCPAUDIT, GITHUB, JSON, K8SAUDIT, OKTA, PLUGIN_VERSIONS
from shared_data import RULES_DIR

from falcoplug.filter.fields import TYPE_NAMES, FieldInfo
from falcoplug.framework import Inspector
from falcoplug.pipeline import Rules

pytestmark = pytest.mark.skipif(not RULES_DIR.is_dir(), reason="shared rules files not available")

# rules file: (plugin name, ID, source, its fields, rules, macros, lists)
FILES = {
    "k8s_audit_rules.yaml": ("k8saudit", 1, "k8s_audit", K8SAUDIT, 48, 45, 18),
    "aws_cloudtrail_rules.yaml": ("cloudtrail", 2, "aws_cloudtrail", CLOUDTRAIL, 22, 0, 1),
    "gcp_auditlog_rules.yaml": ("gcpaudit", 12, "gcp_auditlog", GCPAUDIT, 39, 11, 0),
    "github.yaml": ("github", 8, "github", GITHUB, 15, 0, 0),
    "okta_rules.yaml": ("okta", 7, "okta", OKTA, 21, 1, 1),
}


def fields_json(infos: list[FieldInfo]) -> str:
    entries = []
    for info in infos:
        entry: dict[str, object] = {"type": TYPE_NAMES[info.ftype], "name": info.name, "desc": info.name}
        if info.is_list:
            entry["isList"] = True
        if info.arg_index or info.arg_key:
            entry["arg"] = {"isIndex": info.arg_index, "isKey": info.arg_key, "isRequired": info.arg_required}
        entries.append(entry)
    return json.dumps(entries)


def plugin(name: str, plugin_id: int, source: str, infos: list[FieldInfo]) -> str:
    return str(build_plugin("broken_plugin", {
        "PLUGIN_NAME": cstr(name), "PLUGIN_VERSION": cstr(PLUGIN_VERSIONS[name]), "PLUGIN_ID": plugin_id,
        "EVENT_SOURCE": cstr(source), "FIELDS_JSON": cstr(fields_json(infos)),
    }))  # fmt: skip


def json_plugin() -> str:
    return str(build_plugin("broken_plugin", {
        "PLUGIN_NAME": cstr("json"), "PLUGIN_VERSION": cstr(PLUGIN_VERSIONS["json"]), "NO_SOURCING": None,
        "FIELDS_JSON": cstr(fields_json(JSON)),
    }))  # fmt: skip


@pytest.mark.parametrize("name", sorted(FILES))
def test_official_rules_file_compiles_against_real_plugins(name):
    plugin_name, plugin_id, source, infos, n_rules, n_macros, n_lists = FILES[name]
    host = Inspector()
    host.load(plugin(plugin_name, plugin_id, source, infos))
    host.load(json_plugin())
    rules = Rules(host)
    warnings = rules.load_paths([RULES_DIR / name])
    assert warnings == []
    compiled = rules.loader.compiled
    assert compiled is not None
    assert (len(rules.loader.rules), len(compiled.macros), len(compiled.lists)) == (n_rules, n_macros, n_lists)
    assert {r.source for r in rules.loader.rules} == {source}
    host.destroy()


def test_missing_plugin_version_is_refused():
    host = Inspector()
    host.load(str(build_plugin("broken_plugin", {
        "PLUGIN_NAME": cstr("cloudtrail"), "PLUGIN_VERSION": cstr("0.1.0"), "PLUGIN_ID": 2,
        "EVENT_SOURCE": cstr("aws_cloudtrail"), "FIELDS_JSON": cstr(fields_json(CLOUDTRAIL)),
    })))  # fmt: skip
    host.load(json_plugin())
    with pytest.raises(Exception, match="cloudtrail"):
        Rules(host).load_paths([RULES_DIR / "aws_cloudtrail_rules.yaml"])
