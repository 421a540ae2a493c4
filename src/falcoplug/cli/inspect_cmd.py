"""``falcoplug inspect``: what a plugin is, what it can do, and its fields."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from ..abi.constants import SchemaType
from ..errors import FalcoplugError
from ..framework.inspector import Inspector
from ..framework.plugin import Plugin


def _field_doc(info: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": info.name, "type": info.type_name, "desc": info.desc}
    if info.display:
        doc["display"] = info.display
    if info.is_list:
        doc["isList"] = True
    if info.arg_allowed or info.arg_required:
        doc["arg"] = {"isRequired": info.arg_required, "isIndex": info.arg_index, "isKey": info.arg_key}
    if info.properties:
        doc["properties"] = list(info.properties)
    if info.add_output:
        doc["addOutput"] = True
    return doc


def describe(plugin: Plugin, init_error: str | None) -> dict[str, Any]:
    """Everything ``inspect`` shows, as a JSON-ready mapping."""
    kind, schema = plugin.init_schema
    doc: dict[str, Any] = {
        "name": plugin.name,
        "version": plugin.version,
        "description": plugin.description,
        "contact": plugin.contact,
        "required_api_version": plugin.required_api_version,
        "location": plugin.location,
        "capabilities": plugin.capability_names(),
    }
    if plugin.has_sourcing:
        doc["id"] = plugin.id
        doc["event_source"] = plugin.event_source
    if plugin.has_extraction:
        doc["extract_event_sources"] = sorted(plugin.extract_sources)
        doc["fields"] = [_field_doc(f) for f in plugin.fields]
    if plugin.parse_sources:
        doc["parse_event_sources"] = sorted(plugin.parse_sources)
    if plugin.async_events:
        doc["async_events"] = sorted(plugin.async_events)
        doc["async_event_sources"] = sorted(plugin.async_sources)
    if schema and kind == SchemaType.JSON:
        try:
            doc["init_schema"] = json.loads(schema)
        except ValueError:
            doc["init_schema"] = schema
    if init_error is not None:
        doc["init_error"] = init_error
    elif plugin.has_sourcing:
        doc["open_params"] = plugin.list_open_params()
    return doc


def _print(doc: dict[str, Any], console: Console) -> None:
    console.print(f"[bold]{doc['name']}[/bold] {doc['version']}  ({doc['location']})", highlight=False)
    for key, label in (("description", "Description"), ("contact", "Contact"),
                       ("required_api_version", "Required API version")):  # fmt: skip
        console.print(f"{label}: {doc[key]}", highlight=False)
    console.print(f"Capabilities: {', '.join(doc['capabilities'])}", highlight=False)
    if "id" in doc:
        console.print(f"Event source: {doc['event_source'] or '(none)'} (ID {doc['id']})", highlight=False)
    if "extract_event_sources" in doc:
        console.print(f"Extracts from: {', '.join(doc['extract_event_sources']) or 'every source'}", highlight=False)
    if "async_events" in doc:
        console.print(f"Async events: {', '.join(doc['async_events'])}", highlight=False)
    if "init_error" in doc:
        console.print(f"[yellow]Init failed:[/yellow] {doc['init_error']}", highlight=False)
    if doc.get("fields"):
        table = Table(title="Fields", show_lines=False)
        for col in ("Name", "Type", "Arg", "Description"):
            table.add_column(col, overflow="fold")
        for f in doc["fields"]:
            arg = f.get("arg")
            arg_text = ""
            if arg:
                kinds = [k for k, flag in (("index", arg["isIndex"]), ("key", arg["isKey"])) if flag]
                arg_text = "/".join(kinds) + (" (required)" if arg["isRequired"] else "")
            ftype = f["type"] + (" (list)" if f.get("isList") else "")
            table.add_row(f["name"], ftype, arg_text, f["desc"])
        console.print(table)
    if "init_schema" in doc:
        console.print("Init schema:")
        console.print_json(json.dumps(doc["init_schema"]))
    if doc.get("open_params"):
        console.print("Open params suggestions:")
        for p in doc["open_params"]:
            console.print(f"  {p['value']}" + (f"  ({p['desc']})" if p["desc"] else ""), highlight=False)


@click.command("inspect")
@click.argument("location")
@click.option("--init-config", default="", help="Init config to initialize the plugin with.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def inspect_command(location: str, init_config: str, as_json: bool) -> None:
    """Show a plugin's information, capabilities, fields, init schema and open params."""
    host = Inspector()
    plugin = host.register(location)
    init_error = None
    try:
        plugin.init(init_config)
    except FalcoplugError as exc:
        init_error = str(exc)
    doc = describe(plugin, init_error)
    if as_json:
        click.echo(json.dumps(doc, indent=2))
    else:
        _print(doc, Console(soft_wrap=False))
    if plugin.initialized:
        plugin.destroy()
