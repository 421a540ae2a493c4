"""Falco rules files: loading, compilation per event source, matching and alerts.

Public API::

    loader = RulesLoader(sources, plugin_versions)          # sources: {name: FieldResolver}
    loader.load_paths(["rules.yaml", "rules.d/"])            # -> [LoadResult], stops at first error
    loader.check_plugin_requirements()                       # -> None or Falco's error text
    engine = RuleEngine(loader.rules, min_priority="notice", rule_matching="first")
    engine.fields("k8s_audit")                               # BoundFields to prefetch
    for rule in engine.match("k8s_audit", values):           # values: ValueSource of one event
        alert = AlertFormatter(sources).alert(rule, values, ts_ns)
        alert.text, alert.json_line()
    validate_files(paths, sources, plugin_versions)          # -> Validation(stdout, stderr, ok)
"""

from .alerts import Alert, AlertFormatter, AlertOptions, iso8601_z
from .compiler import AppendOutput, CompiledCollection, CompiledRule, CompileOptions, ExtraField, describe
from .engine import RuleEngine, SourceRules
from .loader import RulesLoader, check_plugin_requirements, expand_paths
from .priority import Priority
from .results import Context, ErrorCode, LoadResult, Problem, WarningCode, format_validation
from .validate import Validation, validate_files
from .versions import ENGINE_VERSION, Version

__all__ = [
    "ENGINE_VERSION",
    "Alert",
    "AlertFormatter",
    "AlertOptions",
    "AppendOutput",
    "CompileOptions",
    "CompiledCollection",
    "CompiledRule",
    "Context",
    "ErrorCode",
    "ExtraField",
    "LoadResult",
    "Priority",
    "Problem",
    "RuleEngine",
    "RulesLoader",
    "SourceRules",
    "Validation",
    "Version",
    "WarningCode",
    "check_plugin_requirements",
    "describe",
    "expand_paths",
    "format_validation",
    "iso8601_z",
    "validate_files",
]
