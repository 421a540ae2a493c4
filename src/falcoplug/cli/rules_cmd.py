"""``falcoplug rules validate``: load and compile rules files as ``falco -V`` does."""

from __future__ import annotations

import sys

import click

from ..framework.inspector import Inspector
from ..framework.manager import check_used
from ..rules import validate_files
from .common import config_option, gather_specs, load_plugins, plugin_option, rules_paths


@click.group("rules")
def rules_group() -> None:
    """Falco rules files."""


@rules_group.command("validate")
@click.option("-r", "--rules", "rules_files", multiple=True, metavar="RULES", help="A rules file or folder (repeatable).")
@plugin_option
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON, as falco -V with json_output.")
def validate_command(rules_files: tuple[str, ...], plugin_specs: tuple[str, ...], config_file: str | None, as_json: bool) -> None:
    """Load and compile rules files against the plugins' fields; print warnings and errors as
    ``falco -V`` does and exit non-zero on errors."""
    specs, config = gather_specs(plugin_specs, config_file, allow_empty=True)
    paths = rules_paths(rules_files, config)
    if not paths:
        raise click.UsageError("no rules file: use -r RULES (or rules_files in falco.yaml)")
    host = Inspector()
    load_plugins(host, specs)
    check_used(host.plugins)  # falco -V refuses an unused plugin before reading any rule
    resolvers = {source: host.resolver(source) for source in host.manager.sources}
    versions = {p.name: p.version for p in host.plugins}
    result = validate_files(paths, resolvers, versions, json_output=as_json)
    if result.stdout:
        sys.stdout.write(result.stdout)
    if result.stderr:
        sys.stderr.write(result.stderr)
    host.destroy()
    sys.exit(result.exit_code)
