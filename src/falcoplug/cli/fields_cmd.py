"""``falcoplug fields``: the fields available per event source, like ``falco --list``."""

from __future__ import annotations

import json
from typing import Any

import click

from ..errors import ConfigError
from ..framework.inspector import Inspector
from ..syscall import SYSCALL_SOURCE, field_classes
from .common import config_option, gather_specs, plugin_option


def _arg_text(info: Any) -> str:
    if not (info.arg_allowed or info.arg_required):
        return ""
    kind = "idx" if info.arg_index and not info.arg_key else "key" if info.arg_key and not info.arg_index else "idx|key"
    return f"[{kind}]" if info.arg_required else f"[{kind}] (optional)"


# --- falco --list -------------------------------------------------------------------------------
# The tags libsinsp's get_fields() shows before a description, by filtercheck flag.
_BUILTIN_TAGS = {
    "EPF_ARG_REQUIRED": "ARG_REQUIRED", "EPF_ARG_ALLOWED": "ARG_ALLOWED", "EPF_FILTER_ONLY": "FILTER_ONLY",
    "EPF_NO_RHS": "EPF_NO_RHS", "EPF_NO_TRANSFORMER": "EPF_NO_TRANSFORMER", "EPF_IS_LIST": "EPF_IS_LIST",
    "EPF_TABLE_ONLY": "EPF_TABLE_ONLY", "EPF_DEPRECATED": "EPF_DEPRECATED",
}  # fmt: skip
_UNLISTED = frozenset({"EPF_TABLE_ONLY", "EPF_DEPRECATED", "EPF_PRINT_ONLY"})
_INDENT = 30
_WRAP = 89  # Falco wraps descriptions at this many characters after the name column


def _wrap(text: str) -> str:
    """Falco's wrapping: words (each followed by a space) until a line would pass the width."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + len(word) > _WRAP:
            lines.append(line)
            line = ""
        line += word + " "
    lines.append(line)
    return ("\n" + " " * _INDENT).join(lines)


def _plugin_tags(info: Any) -> list[str]:
    optional = (info.arg_index or info.arg_key) and not info.arg_required
    tags = [name for name, on in (("ARG_INDEX", info.arg_index), ("ARG_KEY", info.arg_key),
                                  ("ARG_REQUIRED", info.arg_required), ("ARG_ALLOWED", optional),
                                  ("EPF_IS_LIST", info.is_list)) if on]  # fmt: skip
    return sorted(tags)


def _field_line(name: str, tags: list[str], desc: str) -> str:
    head = name.ljust(_INDENT) if len(name) <= _INDENT else name + "\n" + " " * _INDENT
    return head + _wrap((f"({','.join(tags)}) " if tags else "") + desc)


def _class_block(title: str, desc: str, sources: list[str], lines: list[str]) -> str:
    out = ["-------------------------------", f"Field Class:                  {title}"]
    if desc:
        out.append(f"Description:                  {_wrap(desc)}")
    out += ["Event Sources:                " + "".join(f"{s} " for s in sources), "", *lines, ""]
    return "\n".join(out)


def _builtin_block(cls: Any, sources: list[str]) -> str:
    title = f"{cls.name} ({cls.shortdesc})" if cls.shortdesc else cls.name
    lines = [
        _field_line(f.name, sorted(_BUILTIN_TAGS[x] for x in f.flags if x in _BUILTIN_TAGS), f.desc)
        for f in cls.fields
        if not f.flags & _UNLISTED
    ]
    return _class_block(title, cls.desc, sources, lines)


def _plugin_block(plugin: Any, sources: list[str]) -> str:
    lines = [_field_line(f.name, _plugin_tags(f), f.desc) for f in plugin.fields if "hidden" not in f.properties]
    return _class_block(f"{plugin.name} (plugin)", "", sources, lines)


def falco_list(host: Inspector, only_source: str | None) -> str:
    """What ``falco --list[=SOURCE]`` prints: the field classes of each source in turn (libsinsp's,
    then the compatible plugins' in load order), each class once, with the sources it serves."""
    sources = [s for s in host.manager.sources if only_source in (None, s)]
    classes: dict[str, tuple[Any, list[str]]] = {}  # key -> (class or plugin, its sources)
    for source in sources:
        members: list[tuple[str, Any]] = []
        for cls in field_classes():
            if not cls.hidden and ("FL_GENERIC" in cls.flags or source == SYSCALL_SOURCE):
                members.append((f"{cls.name}:{cls.shortdesc}", cls))
        members += [(f"plugin:{p.name}", p) for p in host.plugins if p.has_extraction and p.is_extract_compatible(source)]
        for key, member in members:
            classes.setdefault(key, (member, []))[1].append(source)
    blocks = [
        _plugin_block(member, sorted(srcs)) if key.startswith("plugin:") else _builtin_block(member, sorted(srcs))
        for key, (member, srcs) in classes.items()
    ]
    return "\n".join(blocks) + "\n" if blocks else ""


@click.command("fields")
@plugin_option
@config_option
@click.option("--source", "only_source", default=None, help="Only this event source.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option(
    "--list", "falco_format", is_flag=True, help="Print the list as falco --list does (with --source: --list=SOURCE)."
)
def fields_command(
    plugin_specs: tuple[str, ...], config_file: str | None, only_source: str | None, as_json: bool, falco_format: bool
) -> None:
    """List the fields of each event source: libsinsp's fields (the whole syscall catalogue for the
    ``syscall`` source) and the plugins' fields."""
    specs, _ = gather_specs(plugin_specs, config_file, allow_empty=True)
    host = Inspector()
    for spec in specs:
        host.register(spec.location)
    if only_source is not None and only_source not in host.manager.sources:
        known = ", ".join(host.manager.sources)
        raise ConfigError(f"unknown event source '{only_source}' (known here: {known})")
    if falco_format:
        click.echo(falco_list(host, only_source), nl=False)
        return
    builtin = {f.name for cls in field_classes() if "FL_GENERIC" not in cls.flags for f in cls.fields}
    sources = [s for s in host.manager.sources if only_source in (None, s)]
    doc: dict[str, list[dict[str, Any]]] = {}
    for source in sources:
        entries = []
        for info in host.resolver(source).fields():
            owner = f"{info.owner} (syscall)" if source == SYSCALL_SOURCE and info.name in builtin else info.owner
            entry = {"name": info.name, "type": info.type_name, "class": owner, "desc": info.desc}
            if info.is_list:
                entry["list"] = True
            if _arg_text(info):
                entry["arg"] = _arg_text(info)
            entries.append(entry)
        doc[source] = entries
    if as_json:
        click.echo(json.dumps(doc, indent=2))
        return
    for source, entries in doc.items():
        click.echo(f"Event source: {source}\n")
        current = None
        for entry in entries:
            if entry["class"] != current:
                if current is not None:  # a blank line between field classes
                    click.echo("")
                current = entry["class"]
                kind = "" if current.endswith("(syscall)") else " (generic)" if current == "evt" else " (plugin)"
                title = f"Field Class: {current}{kind}"
                click.echo(f"{title}\n{'-' * len(title)}")
            name = entry["name"] + entry.get("arg", "")
            kind = entry["type"] + (" (list)" if entry.get("list") else "")
            click.echo(f"{name:<40} {kind:<16} {entry['desc']}")
        click.echo("")
