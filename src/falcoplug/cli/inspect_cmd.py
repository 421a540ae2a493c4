"""``falcoplug inspect``: what a plugin is, what it can do, and its fields."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..abi.constants import SchemaType
from ..errors import FalcoplugError
from ..framework.inspector import Inspector
from ..framework.manager import unused_message
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


def _event_types(mask: bytes) -> list[int] | str:
    """The event types a mask lets through: ``"all"``, or their numbers."""
    if all(mask):
        return "all"
    return [code for code, on in enumerate(mask) if on]


def owned_tables(host: Inspector, plugin: Plugin) -> list[str]:
    """The tables the plugin added to the host's registry (during init)."""
    return sorted(t.name for t in host.tables if getattr(t, "owner_name", None) == plugin.name)


def describe(plugin: Plugin, init_error: str | None, host: Inspector | None = None) -> dict[str, Any]:
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
    if plugin.has_parsing:
        doc["parse_event_sources"] = sorted(plugin.parse_sources)
        doc["parse_event_types"] = _event_types(plugin.parse_event_types)
    if plugin.async_events:
        doc["async_events"] = sorted(plugin.async_events)
        doc["async_event_sources"] = sorted(plugin.async_sources)
    if schema and kind == SchemaType.JSON:
        try:
            doc["init_schema"] = json.loads(schema)
        except ValueError:
            doc["init_schema"] = schema
    if host is not None and init_error is None:
        tables = owned_tables(host, plugin)
        if tables:
            doc["owned_tables"] = tables
    if init_error is not None:
        doc["init_error"] = init_error
    elif plugin.has_sourcing:
        doc["open_params"] = plugin.list_open_params()
    return doc


def _types_text(types: list[int] | str) -> str:
    return "all event types" if types == "all" else "event types " + ", ".join(map(str, types))


def _print(doc: dict[str, Any], console: Console) -> None:
    """The text view; every text from the plugin is escaped (rich would take ``[user]`` as markup)."""

    def line(text: str) -> None:
        console.print(escape(text), highlight=False)

    console.print(f"[bold]{escape(doc['name'])}[/bold] {escape(doc['version'])}  ({escape(doc['location'])})",
                  highlight=False)  # fmt: skip
    for key, label in (("description", "Description"), ("contact", "Contact"),
                       ("required_api_version", "Required API version")):  # fmt: skip
        line(f"{label}: {doc[key]}")
    line(f"Capabilities: {', '.join(doc['capabilities'])}")
    if "id" in doc:
        line(f"Event source: {doc['event_source'] or '(none)'} (ID {doc['id']})")
    if "extract_event_sources" in doc:
        line(f"Extracts from: {', '.join(doc['extract_event_sources']) or 'every source'}")
    if "parse_event_sources" in doc:
        sources = ", ".join(doc["parse_event_sources"]) or "every source"
        line(f"Parses: {sources}; {_types_text(doc['parse_event_types'])}")
    if "async_events" in doc:
        line(f"Async events: {', '.join(doc['async_events'])}"
             + (f" (into {', '.join(doc['async_event_sources'])})" if doc.get("async_event_sources") else ""))
    if "owned_tables" in doc:
        line(f"Owned tables: {', '.join(doc['owned_tables'])}")
    if "init_error" in doc:
        console.print(f"[yellow]Init failed:[/yellow] {escape(doc['init_error'])}", highlight=False)
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
            table.add_row(escape(f["name"]), escape(ftype), escape(arg_text), escape(f["desc"]))
        console.print(table)
    if "init_schema" in doc:
        console.print("Init schema:")
        console.print_json(json.dumps(doc["init_schema"]))
    if doc.get("open_params"):
        console.print("Open params suggestions:")
        for p in doc["open_params"]:
            line(f"  {p['value']}" + (f"  ({p['desc']})" if p["desc"] else ""))


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
    doc = describe(plugin, init_error, host)
    if not host.manager.is_used(plugin):  # Falco refuses to run it alone: say so, still describe it
        click.echo(f"falcoplug: warning: {unused_message(plugin)}", err=True)
    if as_json:
        click.echo(json.dumps(doc, indent=2))
    else:
        _print(doc, Console(soft_wrap=False))
    if plugin.initialized:
        plugin.destroy()
