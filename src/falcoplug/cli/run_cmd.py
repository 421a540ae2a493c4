"""``falcoplug run``: open the input plugin, print every event with a format (or as JSON)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from ..framework.inspector import Inspector
from .common import choose_input, config_option, gather_specs, load_plugins, plugin_option
from .output import DEFAULT_FORMAT, EventFormat


@contextmanager
def _progress(host: Inspector, enabled: bool) -> Iterator[callable]:
    """A progress bar on stderr, fed by the input plugin's ``get_progress``."""
    if not enabled:
        yield lambda: None
        return
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
        transient=True, console=None, redirect_stdout=False, redirect_stderr=False,
    ) as bar:  # fmt: skip
        task = bar.add_task(host.input.name if host.input else "", total=100.0)

        def update() -> None:
            pct, text = host.progress()
            bar.update(task, completed=pct, description=text or (host.input.name if host.input else ""))

        yield update


@click.command("run")
@plugin_option
@config_option
@click.option("-n", "--max-events", type=click.IntRange(min=0), default=None, help="Stop after N events.")
@click.option("-o", "--output", "output_format", default=None, help="Output format with %field tokens.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per event.")
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: when it is a terminal).")
def run_command(
    plugin_specs: tuple[str, ...],
    config_file: str | None,
    max_events: int | None,
    output_format: str | None,
    as_json: bool,
    progress: bool | None,
) -> None:
    """Run plugins: the input plugin sources events, every plugin extracts fields.

    SPEC is LIB.so[|INIT_CONFIG[|OPEN_PARAMS]] (as libsinsp's sinsp-example takes it).
    """
    specs, _ = gather_specs(plugin_specs, config_file)
    host = Inspector()
    loaded = load_plugins(host, specs)
    source, params = choose_input(loaded)
    fmt = EventFormat(output_format or DEFAULT_FORMAT)
    show_progress = sys.stderr.isatty() if progress is None else progress
    out = sys.stdout
    count = 0
    try:
        host.open(source, params)
        with _progress(host, show_progress and source.backend.has("get_progress")) as tick:
            for batch in host.batches():
                if max_events is not None and count + len(batch) > max_events:
                    batch = _head(batch, max_events - count)
                lines = fmt.lines(host, batch, as_json)
                if lines:
                    out.write("\n".join(lines) + "\n")
                count += len(batch)
                tick()
                if max_events is not None and count >= max_events:
                    break
        out.flush()
    finally:
        host.destroy()


def _head(batch, n: int):  # type: ignore[no-untyped-def]
    from ..events import EventBatch
    from ..framework.inspector import SourcedBatch

    events = EventBatch(batch.events.data, batch.events.offsets[:n])
    return SourcedBatch(events, batch.first_num, batch.source, batch.host)
