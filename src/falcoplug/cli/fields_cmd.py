"""``falcoplug fields``: the fields available per event source, like ``falco --list``."""

from __future__ import annotations

import json
from typing import Any

import click

from ..framework.inspector import Inspector
from .common import config_option, gather_specs, plugin_option


def _arg_text(info: Any) -> str:
    if not (info.arg_allowed or info.arg_required):
        return ""
    kind = "idx" if info.arg_index and not info.arg_key else "key" if info.arg_key and not info.arg_index else "idx|key"
    return f"[{kind}]" if info.arg_required else f"[{kind}] (optional)"


@click.command("fields")
@plugin_option
@config_option
@click.option("--source", "only_source", default=None, help="Only this event source.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def fields_command(plugin_specs: tuple[str, ...], config_file: str | None, only_source: str | None, as_json: bool) -> None:
    """List the fields of each event source: libsinsp's generic fields and the plugins' fields."""
    specs, _ = gather_specs(plugin_specs, config_file, allow_empty=True)
    host = Inspector()
    for spec in specs:
        host.register(spec.location)
    sources = [s for s in host.manager.sources if only_source in (None, s)]
    doc: dict[str, list[dict[str, Any]]] = {}
    for source in sources:
        entries = []
        for info in host.resolver(source).fields():
            entry = {"name": info.name, "type": info.type_name, "class": info.owner, "desc": info.desc}
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
                title = "Field Class: evt (generic)" if current == "evt" else f"Field Class: {current} (plugin)"
                click.echo(f"{title}\n{'-' * len(title)}")
            name = entry["name"] + entry.get("arg", "")
            kind = entry["type"] + (" (list)" if entry.get("list") else "")
            click.echo(f"{name:<40} {kind:<16} {entry['desc']}")
        click.echo("")
