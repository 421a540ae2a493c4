"""What Falco prints and exits: the plugins (``--list-plugins``, ``--plugin-info``), the fields of
the sources (``--list``, ``-N``, ``--format``) and the rules (``-L``, ``-l RULE``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..abi.constants import SchemaType
from ..errors import FalcoplugError
from ..framework.inspector import Inspector
from ..framework.plugin import SYSCALL_SOURCE, Plugin
from ..pipeline import Rules
from .errors import FalcoError, FalcoRuntimeError

# libsinsp's names of the field types (its PT_* names without the prefix)
_TYPES = {"string": "CHARBUF", "bytebuf": "BYTEBUF"}


def wrap_text(text: str, indent: int, line_len: int) -> str:
    """Falco's word wrap: each word followed by a space; a new line (indented) when the next word
    would pass ``line_len - indent``."""
    out: list[str] = []
    length = 0
    for word in text.split():
        if length + len(word) + 1 <= line_len - indent:
            length += len(word) + 1
        else:
            out.append("\n" + " " * indent)
            length = len(word) + 1
        out.append(word + " ")
    return "".join(out)


# -- plugins ---------------------------------------------------------------------------------------
def _capabilities(plugin: Plugin) -> list[str]:
    lines = []
    if plugin.has_sourcing:
        lines.append(f"  - Event Sourcing (ID={plugin.id}, source='{plugin.event_source}')")
    if plugin.has_extraction:
        lines.append("  - Field Extraction")
    if plugin.parse_sources or "event parsing" in plugin.capability_names():
        lines.append("  - Event Parsing")
    if "async events" in plugin.capability_names():
        lines.append("  - Async Events")
    if "capture listening" in plugin.capability_names():
        lines.append("  - Capture Listening")
    return lines


def _plugin_text(plugin: Plugin) -> str:
    lines = [f"Name: {plugin.name}", f"Description: {plugin.description}", f"Contact: {plugin.contact}",
             f"Version: {plugin.version}", "Capabilities: ", *_capabilities(plugin)]  # fmt: skip
    return "\n".join(lines) + "\n"


def plugins_text(plugins: Sequence[Plugin]) -> str:
    return f"{len(plugins)} Plugins Loaded:\n\n" + "".join(_plugin_text(p) + "\n" for p in plugins) + "\n"


def plugin_info_text(plugin: Plugin) -> str:
    out = _plugin_text(plugin) + "\n"
    kind, schema = plugin.init_schema
    if schema and kind == SchemaType.JSON:
        out += f"Init config schema type: JSON\n{schema}\n\n"
    else:
        out += "No init config schema available\n\n"
    if plugin.has_sourcing:
        try:
            params = plugin.list_open_params() if plugin.initialized else []
        except FalcoplugError:
            params = []
        if params:
            out += "Suggested open params:\n"
            for p in params:
                out += f"{p['value']}" + (f": {p['desc']}" if p.get("desc") else "") + "\n"
        else:
            out += ("No suggested open params available: plugin has not been configured, or it does not "
                    "implement the open params suggestion functionality\n")  # fmt: skip
        out += "\n"
    return out


# -- fields ------------------------------------------------------------------------------------------
def _type_name(info: Any) -> str:
    name = _TYPES.get(info.type_name, info.type_name.upper())
    return f"LIST({name})" if info.is_list else name


def _flags(info: Any) -> list[str]:
    flags = []
    if info.arg_allowed and not info.arg_required:
        flags.append("ARG_ALLOWED")
    if info.arg_index:
        flags.append("ARG_INDEX")
    if info.arg_key:
        flags.append("ARG_KEY")
    if info.arg_required:
        flags.append("ARG_REQUIRED")
    if info.is_list:
        flags.append("EPF_IS_LIST")
    return flags


def _classes(host: Inspector, only: str | None) -> list[dict[str, Any]]:
    """The field classes of the plugin sources: libsinsp's ``evt`` class, then each plugin's."""
    sources = [s for s in host.manager.sources if s != SYSCALL_SOURCE]
    if only is not None:
        if only == SYSCALL_SOURCE:
            raise FalcoError("the syscall source's fields need the kernel: falcoplug runs plugin sources only")
        if only not in sources:
            raise FalcoError(f"Unknown event source: {only}")
        sources = [only]
    classes: dict[str, dict[str, Any]] = {}
    for source in sources:
        for info in host.resolver(source).fields():
            owner = info.owner
            entry = classes.setdefault(owner, {"name": owner, "sources": [], "fields": {}})
            if source not in entry["sources"]:
                entry["sources"].append(source)
            entry["fields"].setdefault(info.name, info)
    return list(classes.values())


def list_fields(host: Inspector, only: str | None, fmt: str, names_only: bool) -> str:
    if fmt == "text" and not names_only:
        # libsinsp's classes of every known source (syscall included) and the plugins', as
        # `falcoplug fields --list` prints them: one implementation of Falco's text.
        from ..cli.fields_cmd import falco_list

        if only is not None and only not in host.manager.sources:
            raise FalcoError(f"Unknown event source: {only}")
        return falco_list(host, only)
    classes = _classes(host, only)
    if names_only:
        return "".join(f"{name}\n" for c in classes for name in c["fields"])
    if fmt == "json":
        return json.dumps({"fieldclasses": [_class_json(c) for c in classes]}, indent=2, sort_keys=True) + "\n"
    if fmt == "markdown":
        return "".join(_class_markdown(c) for c in classes)
    return "".join(_class_text(c) for c in classes)


def _title(c: dict[str, Any]) -> str:
    return f"{c['name']} (All event types)" if c["name"] == "evt" else f"{c['name']} (plugin)"


def _class_text(c: dict[str, Any]) -> str:
    lines = ["-------------------------------", f"{'Field Class:':<30}{_title(c)}"]
    if c["name"] == "evt":
        lines.append(f"{'Description:':<30}These fields can be used for all event types ")
    lines += [f"{'Event Sources:':<30}{' '.join(sorted(c['sources']))} ", ""]
    for info in c["fields"].values():
        flags = _flags(info) if c["name"] != "evt" else []
        desc = (f"({','.join(flags)}) " if flags else "") + info.desc
        head = info.name if len(info.name) <= 30 else info.name + "\n" + " " * 30
        lines.append(f"{head:<30}{wrap_text(desc, 30, 120)}")
    return "\n".join(lines) + "\n\n"


def _class_markdown(c: dict[str, Any]) -> str:
    lines = [f"## Field Class: {_title(c) if c['name'] != 'evt' else 'evt'}", ""]
    if c["name"] == "evt":
        lines += ["These fields can be used for all event types", ""]
    lines += [f"Event Sources: {' '.join(sorted(c['sources']))} ", "", "Name | Type | Description",
              ":----|:-----|:-----------"]  # fmt: skip
    lines += [f"`{info.name}` | {_type_name(info)} | {info.desc}" for info in c["fields"].values()]
    return "\n".join(lines) + "\n\n"


def _class_json(c: dict[str, Any]) -> dict[str, Any]:
    fields = []
    for info in c["fields"].values():
        argument = None
        if info.arg_allowed or info.arg_required:
            argument = {"index": info.arg_index, "key": info.arg_key, "required": info.arg_required}
        fields.append({"argument": argument, "desc": info.desc, "is_list": info.is_list, "name": info.name,
                       "type": _type_name(info)})  # fmt: skip
    doc: dict[str, Any] = {"event_sources": sorted(c["sources"]), "fields": fields, "name": c["name"]}
    doc["desc"] = "These fields can be used for all event types" if c["name"] == "evt" else ""
    return doc


# -- rules ------------------------------------------------------------------------------------------
def describe_rules(rules: Rules, name: str | None, as_json: bool) -> str:
    loaded = [r for r in rules.loader.rules if name is None or r.name == name]
    if name is not None and not loaded:
        raise FalcoRuntimeError(f'Rule "{name}" is not loaded')
    if as_json:
        return json.dumps(_rules_json(rules, loaded), separators=(",", ":")) + "\n"
    out = [f"{'Rule':<50} Description\n", f"{'----':<50} -----------\n"]
    for rule in loaded:
        out.append(f"{rule.name:<50} {wrap_text(rule.description, 51, 110)}\n\n")
    return "".join(out)


def _rules_json(rules: Rules, loaded: Sequence[Any]) -> dict[str, Any]:
    docs = []
    for rule in loaded:
        fields = [f.text for f in rule.output_format.fields]
        docs.append({
            "details": {"condition_compiled": rule.condition, "output_compiled": rule.output,
                        "output_fields": list(dict.fromkeys(fields)),
                        "condition_fields": list(dict.fromkeys(f.text for f in rule.fields))},
            "info": {"capture": rule.capture, "capture_duration": rule.capture_duration, "condition": rule.condition,
                     "description": rule.description, "enabled": rule.enabled, "name": rule.name,
                     "output": rule.output, "priority": rule.priority.text, "source": rule.source,
                     "tags": sorted(rule.tags)},
        })  # fmt: skip
    return {"rules": docs}
