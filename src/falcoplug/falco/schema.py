"""The JSON schemas Falco 0.44 prints with ``--config-schema`` and ``--rule-schema``, and the
check of ``falco.yaml`` against the first (Falco warns about what does not validate, and goes on).

Both are JSON Schema draft-06 documents with a ``definitions`` section, in Falco's shapes. They are
written here as compact tables (``"name": "type"``) and expanded into JSON Schema on demand.
"""

from __future__ import annotations

from functools import cache
from typing import Any

DRAFT = "http://json-schema.org/draft-06/schema#"

# A type is a JSON type name, "[T]" for an array of T, "@Def" for a reference to a definition,
# "any" for no constraint, or a nested table for an inline closed object.
Table = dict[str, Any]

_ABLE: Table = {"rule": "string", "tag": "string"}
_CONFIG_DEFINITIONS: dict[str, Table] = {
    "FalcoConfig": {
        "append_output": "[@AppendOutput]",
        "base_syscalls": "@BaseSyscalls",
        "buffer_format_base64": "boolean",
        "buffered_outputs": "boolean",
        "capture": "@Capture",
        "config_files": "[config_file]",
        "container_engines": {
            "bpm": {"enabled": "boolean"},
            "cri": {"disable_async": "boolean", "enabled": "boolean", "sockets": "[string]"},
            "docker": {"enabled": "boolean"},
            "libvirt_lxc": {"enabled": "boolean"},
            "lxc": {"enabled": "boolean"},
            "podman": {"enabled": "boolean"},
        },
        "engine": "@Engine",
        "falco_libs": "@FalcoLibs",
        "file_output": "@FileOutput",
        "http_output": "@HTTPOutput",
        "json_include_message_property": "boolean",
        "json_include_output_fields_property": "boolean",
        "json_include_output_property": "boolean",
        "json_include_tags_property": "boolean",
        "json_output": "boolean",
        "libs_logger": "@LibsLogger",
        "load_plugins": "[string]",
        "log_level": "string",
        "log_stderr": "boolean",
        "log_syslog": "boolean",
        "metrics": "@Metrics",
        "output_timeout": "integer",
        "outputs_queue": "@OutputsQueue",
        "plugins": "[@Plugin]",
        "plugins_hostinfo": "boolean",
        "priority": "string",
        "program_output": "@ProgramOutput",
        "rule_files": "[string]",
        "rule_matching": "string",
        "rules": "[@Rule]",
        "rules_files": "[string]",
        "static_fields": "object",
        "stdout_output": "@Output",
        "syscall_event_drops": "@SyscallEventDrops",
        "syscall_event_timeouts": "@SyscallEventTimeouts",
        "syslog_output": "@Output",
        "time_format_iso_8601": "boolean",
        "watch_config_files": "boolean",
        "webserver": "@Webserver",
    },
    "Able": _ABLE,
    "AppendOutput": {
        "extra_fields": "[extra_field]",
        "extra_output": "string",
        "match": {"rule": "string", "source": "string", "tags": "[string]"},
        "suggested_output": "boolean",
    },
    "BaseSyscalls": {"all": "boolean", "custom_set": "[string]", "repair": "boolean"},
    "Capture": {
        "default_duration": "duration",
        "enabled": "boolean",
        "max_file_size_mb": "file_size_mb",
        "mode": "capture_mode",
        "path_prefix": "string",
    },
    "Engine": {"kind": "string", "kmod": "@Kmod", "modern_ebpf": "@ModernEbpf", "replay": "@Replay"},
    "FalcoLibs": {
        "snaplen": "integer",
        "thread_table_auto_purging_interval_s": "integer",
        "thread_table_auto_purging_thread_timeout_s": "integer",
        "thread_table_size": "integer",
    },
    "FileOutput": {"enabled": "boolean", "filename": "string", "keep_alive": "boolean"},
    "HTTPOutput": {
        "ca_bundle": "string",
        "ca_cert": "string",
        "ca_path": "string",
        "client_cert": "string",
        "client_key": "string",
        "compress_uploads": "boolean",
        "echo": "boolean",
        "enabled": "boolean",
        "insecure": "boolean",
        "keep_alive": "boolean",
        "max_consecutive_timeouts": "integer",
        "mtls": "boolean",
        "url": "http_url",
        "user_agent": "string",
    },
    "Kmod": {"buf_size_preset": "integer", "drop_failed_exit": "boolean"},
    "LibsLogger": {"enabled": "boolean", "severity": "string"},
    "Metrics": {
        "convert_memory_to_mb": "boolean",
        "enabled": "boolean",
        "include_empty_values": "boolean",
        "interval": "string",
        "jemalloc_stats_enabled": "boolean",
        "kernel_event_counters_enabled": "boolean",
        "kernel_event_counters_per_cpu_enabled": "boolean",
        "kernel_iter_event_counters_enabled": "boolean",
        "libbpf_stats_enabled": "boolean",
        "output_file": "string",
        "output_rule": "boolean",
        "plugins_metrics_enabled": "boolean",
        "resource_utilization_enabled": "boolean",
        "rules_counters_enabled": "boolean",
        "state_counters_enabled": "boolean",
    },
    "ModernEbpf": {
        "buf_size_preset": "integer",
        "cpus_for_each_buffer": "integer",
        "disable_iterators": "boolean",
        "drop_failed_exit": "boolean",
    },
    "Output": {"enabled": "boolean"},
    "OutputsQueue": {"capacity": "integer"},
    "Plugin": {"init_config": "init_config", "library_path": "string", "name": "string", "open_params": "string"},
    "ProgramOutput": {"enabled": "boolean", "keep_alive": "boolean", "program": "string"},
    "Replay": {"capture_file": "string"},
    "Rule": {"disable": "@Able", "enable": "@Able"},
    "SyscallEventDrops": {
        "actions": "[string]",
        "max_burst": "integer",
        "rate": "number",
        "simulate_drops": "boolean",
        "threshold": "number",
    },
    "SyscallEventTimeouts": {"max_consecutives": "integer"},
    "Webserver": {
        "enabled": "boolean",
        "k8s_healthz_endpoint": "string",
        "listen_address": "string",
        "listen_port": "integer",
        "prometheus_metrics_enabled": "boolean",
        "ssl_certificate": "string",
        "ssl_enabled": "boolean",
        "threadiness": "integer",
    },
}
# definitions that must not be empty mappings
_NON_EMPTY = {"Able", "BaseSyscalls", "FalcoLibs", "FileOutput", "HTTPOutput", "Kmod", "LibsLogger", "Metrics",
              "Output", "OutputsQueue", "Rule", "SyscallEventDrops", "SyscallEventTimeouts", "Webserver"}  # fmt: skip
_CONFIG_REQUIRED = {
    "Engine": ["kind"],
    "Plugin": ["library_path", "name"],
    "ProgramOutput": ["program"],
    "Replay": ["capture_file"],
}

_OVERRIDABLE = ("capture", "capture_duration", "condition", "desc", "enabled", "exceptions", "items", "output",
                "priority", "skip-if-unknown-filter", "tags", "warn_evttypes")  # fmt: skip
_RULE_DEFINITIONS: dict[str, Table] = {
    "Alternative": {"name": "string", "version": "string"},
    "Exception": {"comps": "any", "fields": "any", "name": "string", "values": "any"},
    "FalcoRule": {
        "append": "boolean",
        "capture": "boolean",
        "capture_duration": "integer",
        "condition": "string",
        "desc": "string",
        "enabled": "boolean",
        "exceptions": "[@Exception]",
        "items": "[@Item]",
        "list": "string",
        "macro": "string",
        "output": "string",
        "override": "@Override",
        "priority": "@Priority",
        "required_engine_version": "string",
        "required_plugin_versions": "[@RequiredPluginVersion]",
        "rule": "string",
        "skip-if-unknown-filter": "boolean",
        "source": "string",
        "tags": "[string]",
        "warn_evttypes": "boolean",
    },
    "Override": {key: "@OverriddenItem" for key in _OVERRIDABLE},
    "RequiredPluginVersion": {"alternatives": "[@Alternative]", "name": "string", "version": "string"},
}
_RULE_REQUIRED = {"Alternative": ["name", "version"], "Exception": ["name"], "FalcoRule": [],
                  "RequiredPluginVersion": ["name", "version"]}  # fmt: skip
PRIORITY_NAMES = ("EMERGENCY", "ALERT", "CRITICAL", "ERROR", "WARNING", "NOTICE", "INFO", "INFORMATIONAL", "DEBUG")

# Types that are not a plain JSON type or a reference.
_SPECIAL: dict[str, dict[str, Any]] = {
    "any": {},
    "init_config": {"anyOf": [{"type": "object"}, {"type": "string"}, {"type": "null"}]},
    "duration": {"type": "integer", "minimum": 0},
    "file_size_mb": {"type": "integer", "minimum": 0, "maximum": 1048576},
    "http_url": {"type": "string", "format": "uri", "qt-uri-protocols": ["http"]},
    "config_file": {"oneOf": [
        {"type": "string"},
        {"type": "object", "required": ["path"], "properties": {
            "path": {"type": "string"},
            "strategy": {"type": "string", "enum": ["append", "override", "add-only"]},
        }},
    ]},  # fmt: skip
    "extra_field": {"anyOf": [{"type": "object", "additionalProperties": {"type": "string"}}, {"type": "string"}]},
    "capture_mode": {"type": "string", "enum": ["rules", "all_rules"]},
}


def _expand(spec: Any) -> dict[str, Any]:
    if isinstance(spec, dict):
        return _closed_object(spec)
    if spec.startswith("["):
        return {"type": "array", "items": _expand(spec[1:-1])}
    if spec.startswith("@"):
        return {"$ref": f"#/definitions/{spec[1:]}"}
    if spec in _SPECIAL:
        return dict(_SPECIAL[spec])
    return {"type": spec}


def _closed_object(table: Table, required: list[str] | None = None, title: str | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": "object", "additionalProperties": False}
    if title is not None:
        doc["title"] = title
    doc["properties"] = {key: _expand(spec) for key, spec in table.items()}
    if required is not None:
        doc["required"] = list(required)
    return doc


@cache
def config_schema() -> dict[str, Any]:
    """The schema of ``falco.yaml`` (``falco --config-schema``)."""
    definitions = {}
    for name, table in _CONFIG_DEFINITIONS.items():
        title = None if name == "AppendOutput" else name  # the one definition Falco leaves untitled
        definition = _closed_object(table, _CONFIG_REQUIRED.get(name), title=title)
        if name in _NON_EMPTY:
            definition["minProperties"] = 1
        definitions[name] = definition
    return {"$schema": DRAFT, "$ref": "#/definitions/FalcoConfig", "definitions": definitions}


@cache
def rule_schema() -> dict[str, Any]:
    """The schema of a rules file (``falco --rule-schema``)."""
    definitions: dict[str, Any] = {
        name: _closed_object(table, _RULE_REQUIRED.get(name), title=name) for name, table in _RULE_DEFINITIONS.items()
    }
    definitions["Override"]["minProperties"] = 1
    definitions["Item"] = {"title": "Item", "anyOf": [{"type": "integer"}, {"type": "string"}]}
    definitions["OverriddenItem"] = {"title": "OverriddenItem", "type": "string", "enum": ["append", "replace"]}
    definitions["Priority"] = {"title": "Priority", "type": "string", "enum": list(PRIORITY_NAMES)}
    return {"$schema": DRAFT, "type": "array", "items": {"$ref": "#/definitions/FalcoRule"}, "definitions": definitions}


def validate_config(doc: Any) -> str:
    """Falco's verdict on a configuration document: ``ok``, or ``failed for <where>: <why>``
    naming the first problem (Falco reports it, then goes on with what it understands)."""
    import jsonschema

    validator = jsonschema.Draft6Validator(config_schema())
    errors = sorted(validator.iter_errors(doc), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if not errors:
        return "ok"
    error = errors[0]
    where = "<root>" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return f"failed for {where}: {_why(error)}"


def _why(error: Any) -> str:
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        names = ", ".join(f"'{name}'" for name in extra)
        return ("Object contains a property that could not be validated using 'properties' "
                f"or 'additionalProperties' constraints: {names}.")  # fmt: skip
    if error.validator == "type":
        return f"Value type not permitted by 'type' constraint (expected {error.validator_value})."
    if error.validator == "required":
        return f"Missing required property {error.message.split()[0]}."
    return str(error.message)
