"""Check 1 (child side): libsinsp's registration rules, every one of them, as passes and failures.

``framework.plugin.Plugin`` stops at the first rule a plugin breaks, as libsinsp does; a plugin
author wants the whole list. The rules and their wording are the framework's (``parse_version``,
``api_version_problem``, the capability pairs, ``parse_fields_json``); only the collecting is here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import jsonschema

from ..abi.constants import API_VERSION_STR, SchemaType
from ..backend import PluginBackend
from ..errors import FalcoplugError
from ..framework.fields import parse_fields_json
from ..framework.plugin import (
    REQUIRED_SYMBOLS, SYSCALL_SOURCE, Plugin, _capabilities, api_version_problem, parse_version,
)  # fmt: skip

# semver.org's own pattern, written out: MAJOR.MINOR.PATCH[-prerelease][+build]
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
# Field classes libsinsp defines itself: a plugin field under one of them shadows or is shadowed.
HOST_FIELD_CLASSES = frozenset(
    {"evt", "proc", "thread", "fd", "fdlist", "user", "group", "syscall", "span", "fs", "container", "k8s"}
)


def problem(name: str, ok: bool, message: str, severity: str = "fail") -> Rule:
    """A rule whose message only makes sense when it fails."""
    return Rule(name, ok, "" if ok else message, severity)


@dataclass
class Rule:
    """One registration rule: its name, whether it holds, and libsinsp's words when it does not."""

    name: str
    ok: bool
    message: str = ""
    severity: str = "fail"  # "fail": libsinsp refuses the plugin; "warn": a reviewer would object

    def as_tuple(self) -> tuple[str, bool, str, str]:
        return (self.name, self.ok, self.message, self.severity)


def _call(rules: list[Rule], name: str, fn: Any) -> Any:
    try:
        return fn()
    except FalcoplugError as exc:
        rules.append(Rule(name, False, str(exc)))
    except Exception as exc:  # noqa: BLE001 - a plugin's info function misbehaving is a finding
        rules.append(Rule(name, False, f"{type(exc).__name__}: {exc}"))
    return None


def registration_rules(backend: PluginBackend) -> list[Rule]:
    """libsinsp's ``resolve_dylib_symbols`` rules, in its order, without stopping at a failure."""
    rules: list[Rule] = []
    b = backend
    if not b.has("get_required_api_version"):
        rules.append(Rule("required API version", False, "plugin_get_required_api_version symbol not implemented"))
    else:
        required = _call(rules, "required API version", b.get_required_api_version) or ""
        parsed = parse_version(required)
        if parsed is None:
            rules.append(Rule("required API version", False, f"plugin provided an invalid required API version: '{required}'"))
        else:
            why = api_version_problem(parsed)
            rules.append(Rule(
                "required API version", why is None,
                f"plugin required API version '{required}' not compatible with the framework's "
                f"API version '{API_VERSION_STR}': {why}" if why else f"{required} (framework {API_VERSION_STR})",
            ))  # fmt: skip
    missing = [s for s in REQUIRED_SYMBOLS if not b.has(s)]
    rules.append(Rule(
        "required symbols", not missing,
        ", ".join(f"required symbol not implemented: 'plugin_{s}'" for s in missing) or "all present",
    ))  # fmt: skip
    if b.has("get_version"):
        version = _call(rules, "version", b.get_version) or ""
        valid = parse_version(version) is not None
        rules.append(Rule("version", valid, version if valid else f"plugin provided an invalid version string: '{version}'"))
    caps, broken = _capabilities(b)
    for text in broken:
        rules.append(Rule("capabilities", False, f"broken plugin capabilities: {text}"))
    if not broken:
        rules.append(Rule("capabilities", bool(caps), "plugin does not implement any capability" if not caps else "ok"))
    if b.has("get_event_source") and b.has("get_id") and b.get_id() != 0:
        source = _call(rules, "event source", b.get_event_source) or ""
        rules.append(Rule("event source", source != SYSCALL_SOURCE,
                          "plugin can't implement the reserved event source 'syscall'" if source == SYSCALL_SOURCE else source))
    if b.has("get_fields"):
        name = (_call(rules, "name", b.get_name) or "") if b.has("get_name") else ""
        fields = _call(rules, "fields", lambda: parse_fields_json(b.get_fields(), name))
        if fields is not None:
            rules.append(Rule("fields", True, f"{len(fields)} fields"))
    return rules


def metadata_rules(plugin: Plugin) -> list[Rule]:
    """What libsinsp accepts but a reviewer would not: loose versions, empty texts, bad schemas."""
    rules: list[Rule] = []
    warn = "warn"
    rules.append(problem("semver version", bool(SEMVER.match(plugin.version)),
                      f"version '{plugin.version}' is not MAJOR.MINOR.PATCH semver", warn))
    rules.append(problem("description", bool(plugin.description.strip()), "empty description", warn))
    rules.append(problem("contact", bool(plugin.contact.strip()), "empty contact", warn))
    if plugin.required_api_version and not SEMVER.match(plugin.required_api_version.strip()):
        rules.append(problem("required API version format", False,
                          f"required API version '{plugin.required_api_version}' is not MAJOR.MINOR.PATCH", warn))
    rules += _schema_rules(plugin)
    if plugin.has_extraction:
        rules += _field_rules(plugin)
    return rules


def _schema_rules(plugin: Plugin) -> list[Rule]:
    kind, text = plugin.init_schema
    if not text or kind == SchemaType.NONE:
        return [Rule("init schema", True, "none")]
    if kind != SchemaType.JSON:
        return [problem("init schema", False, f"get_init_schema returned an unknown schema type {kind}")]
    try:
        doc = json.loads(text)
    except ValueError as exc:
        return [problem("init schema", False, f"get_init_schema did not return valid JSON: {exc}")]
    if not isinstance(doc, dict):
        return [problem("init schema", False, "get_init_schema did not return a json object")]
    try:
        jsonschema.validators.validator_for(doc, default=jsonschema.Draft7Validator).check_schema(doc)
    except jsonschema.exceptions.SchemaError as exc:
        return [problem("init schema", False, f"get_init_schema did not return a valid json schema: {exc.message}")]
    return [Rule("init schema", True, "valid JSON Schema")]


def _field_rules(plugin: Plugin) -> list[Rule]:
    no_desc = [f.name for f in plugin.fields if not f.desc.strip()]
    no_prefix = [f.name for f in plugin.fields if "." not in f.name.strip(".")]
    host_class = [f.name for f in plugin.fields if f.name.split(".", 1)[0] in HOST_FIELD_CLASSES]
    names = [f.name for f in plugin.fields]
    dups = sorted({n for n in names if names.count(n) > 1})
    return [
        problem("field descriptions", not no_desc, f"fields without a description: {', '.join(no_desc[:8])}", "warn"),
        problem("field prefix", not no_prefix, f"fields without a 'prefix.' of their own: {', '.join(no_prefix[:8])}", "warn"),
        problem("field names", not host_class, f"fields under a class libsinsp defines: {', '.join(host_class[:8])}", "warn"),
        problem("unique field names", not dups, f"fields declared twice: {', '.join(dups)}"),
    ]
