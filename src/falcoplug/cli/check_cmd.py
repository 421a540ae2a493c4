"""``falcoplug check``: the plugin author's conformance and release checker."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..check import CHECKS, Budget, CheckOptions, Limits, Report, Status, WithPlugin, check_plugin, manifest
from ..check.sandbox import ChildFailure, Sandbox, WorkerError
from ..errors import ConfigError

_STYLE = {Status.PASS: "green", Status.WARN: "yellow", Status.FAIL: "bold red", Status.SKIP: "dim"}


def _require_plugin_file(location: str, option: str) -> None:
    """A plugin named by a path (not a bundled name or module:Class) must exist: a missing one is a
    mistake on the command line, not a check that is skipped."""
    looks_like_path = "/" in location or location.endswith((".so", ".py"))
    if looks_like_path and not Path(location).exists():
        raise click.BadParameter(f"{location}: no such file", param_hint=f"'{option}'")


def _budget(ctx: click.Context, param: click.Parameter, value: str) -> Budget:
    try:
        return Budget.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("check")
@click.argument("plugin")
@click.option("--config", "config", default="", help="Init config for the plugin (default: empty).")
@click.option("--open-params", default=None, help="Open params for a sourcing plugin (default: its first suggestion, or empty).")
@click.option("--budget", default="15s", callback=_budget, show_default=True,
              help="Fuzzing budget: seconds ('20s', '1m') or a number of calls ('5000').")
@click.option("--seed", type=int, default=None, help="Seed of the generated inputs (a failure replays with the same seed).")
@click.option("--with", "with_plugins", multiple=True, metavar="LIB[|CONFIG[|PARAMS]]",
              help="A sourcing plugin whose real events the extractor is fed (and recorded for the replay check).")
@click.option("--against", default=None, metavar="OLD", help="An older release: a library, a Python plugin or a manifest (.json).")
@click.option("--manifest", "manifest_out", default=None, type=click.Path(dir_okay=False, writable=True),
              help="Write the plugin's release manifest (fields, source, ID...) to this file and stop.")
@click.option("--registry", default=None, type=click.Path(exists=True, dir_okay=False),
              help="A registry.yaml newer than the bundled copy.")
@click.option("--only", multiple=True, type=click.Choice(list(CHECKS)), help="Run only these checks (repeatable).")
@click.option("--timeout", "call_timeout", default=5.0, show_default=True, type=click.FloatRange(min=0.01),
              help="Time limit of one plugin call, in seconds.")  # fmt: skip
@click.option("--memory", "memory_mb", default=1024, show_default=True, type=click.IntRange(min=16),
              help="Memory the plugin's process may add, in MiB.")  # fmt: skip
@click.option("--save-dir", default=None, type=click.Path(file_okay=False), help="Where failing inputs are written.")
@click.option("--events", "replay_events", default=100, show_default=True, type=click.IntRange(min=1),
              help="Events recorded for the replay check.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (for CI).")
@click.option("--verbose-passes", is_flag=True, help="List every passing rule, not only a count.")
def check_command(plugin: str, config: str, open_params: str | None, budget: Budget, seed: int | None,
                  with_plugins: tuple[str, ...], against: str | None, manifest_out: str | None, registry: str | None,
                  only: tuple[str, ...], call_timeout: float, memory_mb: int, save_dir: str | None,
                  replay_events: int, as_json: bool, verbose_passes: bool) -> None:  # fmt: skip
    """Check PLUGIN (a .so, a Python plugin or a bundled name) as a reviewer would: loading, crashes
    and hangs, resilience to arbitrary input, the API's memory rules, replay, release versioning,
    the registry and sourcing. Exit code 0: pass, 1: failures, 2: could not run."""
    limits = Limits(call_timeout=call_timeout, memory=memory_mb << 20)
    for text in with_plugins:
        _require_plugin_file(WithPlugin.parse(text).location, "--with")
    if manifest_out:
        sys.exit(_write_manifest(plugin, manifest_out, limits))
    options = CheckOptions(
        config=config, open_params=open_params, budget=budget, seed=seed,
        with_plugins=[WithPlugin.parse(w) for w in with_plugins], against=against, registry=registry,
        limits=limits, save_dir=Path(save_dir) if save_dir else None, replay_events=replay_events, only=only,
    )  # fmt: skip
    try:
        report = check_plugin(plugin, options)
    except ConfigError as exc:
        click.echo(f"falcoplug: error: {exc}", err=True)
        sys.exit(2)
    if as_json:
        click.echo(report.dumps())
    else:
        render(report, Console(), verbose_passes)
    sys.exit(report.exit_code)


def _write_manifest(plugin: str, path: str, limits: Limits) -> int:
    try:
        with Sandbox(limits) as box:
            info = box.call("load", plugin)["info"]
    except (ChildFailure, WorkerError) as exc:
        click.echo(f"falcoplug: error: cannot load {plugin}: {exc}", err=True)
        return 2
    if "fields" not in info:
        click.echo(f"falcoplug: error: {plugin} does not load; run falcoplug check on it", err=True)
        return 2
    Path(path).write_text(json.dumps(manifest(info), indent=2) + "\n")
    click.echo(f"wrote the manifest of {info['name']} {info['version']} to {path}", err=True)
    return 0


def render(report: Report, console: Console, verbose_passes: bool = False) -> None:
    """The report as tables, one per check; passes folded into a count unless asked for."""
    info = report.info
    head = f"[bold]{info.get('name') or report.plugin}[/bold] {info.get('version') or ''}  ({report.location})"
    console.print(head)
    if info.get("capabilities"):
        console.print(f"capabilities: {', '.join(info['capabilities'])}; seed {info.get('seed')}", style="dim")
    for key, title in CHECKS.items():
        findings = report.of(key)
        if not findings:
            continue
        status = report.status_of(key)
        table = Table(title=Text(f"{title}: {status.value.upper()}", style=_STYLE[status]), title_justify="left",
                      show_header=True, header_style="bold", expand=False, show_lines=False)  # fmt: skip
        table.add_column("", width=4)
        table.add_column("finding", overflow="fold", max_width=48)
        table.add_column("detail", overflow="fold", max_width=60)
        table.add_column("what to change", overflow="fold", max_width=44)
        passes = [f for f in findings if f.status is Status.PASS]
        shown = findings if verbose_passes else [f for f in findings if f.status is not Status.PASS]
        for f in shown:
            table.add_row(Text(f.status.value, style=_STYLE[f.status]), f.title, f.detail, f.fix)
        if passes and not verbose_passes:
            names = "; ".join(f.title for f in passes)
            table.add_row(Text("pass", style=_STYLE[Status.PASS]), f"{len(passes)} passed", names if len(names) < 400 else names[:397] + "...", "")
        console.print(table)
    if report.could_not_run:
        console.print(f"[bold red]could not run:[/bold red] {report.could_not_run}")
    fails, warns = len(report.failures()), len(report.warnings())
    verdict = "FAIL" if report.failed or report.could_not_run else "PASS"
    console.print(Text(f"{verdict}: {fails} failures, {warns} warnings ({info.get('seconds', 0)} s)",
                       style=_STYLE[Status.FAIL if verdict == "FAIL" else Status.PASS]))  # fmt: skip
