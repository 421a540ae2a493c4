"""``falcoplug run``: a live plugin or a capture in; events, or Falco alerts, out."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from ..events import EventBatch
from ..framework.capture_io import CaptureInput, Recorder
from ..framework.inspector import Inspector, SourcedBatch
from ..pipeline import Pipeline, Rules
from .common import (
    choose_input, config_option, gather_specs, load_plugins, plugin_option, rule_settings, rules_paths,
)  # fmt: skip

log = logging.getLogger("falcoplug.run")


@contextmanager
def progress_bar(label: str, read: Callable[[], tuple[float, str | None]], enabled: bool) -> Iterator[Callable[[], None]]:
    """A progress bar on stderr; ``read`` gives the percentage and an optional text."""
    if not enabled:
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
                  transient=True, console=console) as bar:  # fmt: skip
        task = bar.add_task(label, total=100.0)

        def update() -> None:
            pct, text = read()
            bar.update(task, completed=pct, description=text or label)

        yield update


def head(batch: SourcedBatch, n: int) -> SourcedBatch:
    """The first ``n`` events of a batch."""
    events = EventBatch(batch.events.data, batch.events.offsets[:n])
    return SourcedBatch(events, batch.first_num, batch.source, batch.host)


@click.command("run")
@plugin_option
@config_option
@click.option("-R", "--read", "read_file", type=click.Path(dir_okay=False), help="Replay a .scap capture instead of opening a plugin.")
@click.option("-w", "--write", "write_file", type=click.Path(dir_okay=False), help="Record the events into a .scap capture (.gz: gzip).")
@click.option("--compress/--no-compress", default=None, help="gzip the capture written with -w (default: by its .gz suffix).")
@click.option("-r", "--rules", "rules_files", multiple=True, metavar="RULES", help="A Falco rules file or folder (repeatable): print alerts.")
@click.option("-f", "--filter", "condition", default=None, help="Keep only the events that match this condition.")
@click.option("-n", "--max-events", type=click.IntRange(min=0), default=None, help="Stop after N events.")
@click.option("-o", "--output", "output_format", default=None, help="Output format (%field, %field[arg], %tolower(field), %20field).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event (or Falco's JSON alerts).")
@click.option("--priority", default=None, help="With rules: the minimum rule priority (falco.yaml 'priority').")
@click.option("--rule-matching", type=click.Choice(["first", "all"]), default=None, help="With rules: first or all matching rules.")
@click.option("-q", "--quiet", is_flag=True, help="Print no events or alerts (with -w: only record).")
@click.option("--summary/--no-summary", default=None, help="A summary on stderr at the end (default: with rules).")
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: when it is a terminal).")
def run_command(
    plugin_specs: tuple[str, ...],
    config_file: str | None,
    read_file: str | None,
    write_file: str | None,
    compress: bool | None,
    rules_files: tuple[str, ...],
    condition: str | None,
    max_events: int | None,
    output_format: str | None,
    as_json: bool,
    priority: str | None,
    rule_matching: str | None,
    quiet: bool,
    summary: bool | None,
    progress: bool | None,
) -> None:
    """Run plugins: the input plugin sources events (or -R replays a capture), every plugin extracts;
    print each event (-o, --json), or the alerts of Falco rules (-r).

    SPEC is LIB.so[|INIT_CONFIG[|OPEN_PARAMS]] (as libsinsp's sinsp-example takes it).
    """
    specs, config = gather_specs(plugin_specs, config_file, allow_empty=read_file is not None)
    host = Inspector()
    loaded = load_plugins(host, specs)
    paths = rules_paths(rules_files, config)
    rules = None
    if paths:
        if output_format:
            raise click.UsageError("-o does not apply with rules: alerts use each rule's output")
        settings = rule_settings(config, json_output=as_json, priority=priority, rule_matching=rule_matching)
        rules = Rules(host, settings)
        for warning in rules.load_paths(paths):
            log.info("%s", warning)
    pipeline = Pipeline(host, output_format=output_format, condition=condition, rules=rules, as_json=as_json)
    show_progress = sys.stderr.isatty() if progress is None else progress
    recorder = capture = None
    try:
        if read_file is not None:
            capture = CaptureInput(host, read_file)
            batches, label = capture.batches(), read_file
            read_progress: Callable[[], tuple[float, str | None]] = lambda: (capture.progress(), None)  # noqa: E731
            can_progress = capture.reader.size is not None
        else:
            source, params = choose_input(loaded)
            host.open(source, params)
            batches, label, read_progress = host.batches(), source.name, host.progress
            can_progress = source.backend.has("get_progress")
        if write_file is not None:
            recorder = Recorder(write_file, compress=compress, hostname=host.hostname)
        with progress_bar(label, read_progress, show_progress and can_progress) as tick:
            _loop(batches, pipeline, quiet, max_events, recorder, tick)
    finally:
        if recorder is not None:
            recorder.close()
        if capture is not None:
            capture.close()
        host.destroy()
        if summary or (summary is None and rules is not None):
            click.echo(pipeline.stats.summary(), err=True)


def _loop(batches, pipeline: Pipeline, quiet: bool, max_events: int | None, recorder, tick) -> None:  # type: ignore[no-untyped-def]
    out = sys.stdout
    count = 0
    for batch in batches:
        if max_events is not None and count + len(batch) > max_events:
            batch = head(batch, max_events - count)
        if recorder is not None:
            recorder.write(batch)
        lines = pipeline.lines(batch)
        if lines and not quiet:
            out.write("\n".join(lines) + "\n")
        count += len(batch)
        tick()
        if max_events is not None and count >= max_events:
            break
    out.flush()
