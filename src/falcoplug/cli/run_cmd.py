"""``falcoplug run``: a live plugin or a capture in, events (or JSON) out, optionally recorded."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from ..events import EventBatch
from ..framework.capture_io import CaptureInput, Recorder
from ..framework.inspector import Inspector, SourcedBatch
from .common import choose_input, config_option, gather_specs, load_plugins, plugin_option
from .output import DEFAULT_FORMAT, EventFormat


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
@click.option("-n", "--max-events", type=click.IntRange(min=0), default=None, help="Stop after N events.")
@click.option("-o", "--output", "output_format", default=None, help="Output format with %field tokens.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per event.")
@click.option("-q", "--quiet", is_flag=True, help="Print no events (with -w: only record).")
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: when it is a terminal).")
def run_command(
    plugin_specs: tuple[str, ...],
    config_file: str | None,
    read_file: str | None,
    write_file: str | None,
    compress: bool | None,
    max_events: int | None,
    output_format: str | None,
    as_json: bool,
    quiet: bool,
    progress: bool | None,
) -> None:
    """Run plugins: the input plugin sources events (or -R replays a capture), every plugin extracts.

    SPEC is LIB.so[|INIT_CONFIG[|OPEN_PARAMS]] (as libsinsp's sinsp-example takes it).
    """
    specs, _ = gather_specs(plugin_specs, config_file, allow_empty=read_file is not None)
    host = Inspector()
    loaded = load_plugins(host, specs)
    fmt = EventFormat(output_format or DEFAULT_FORMAT)
    show_progress = sys.stderr.isatty() if progress is None else progress
    recorder = None
    capture = None
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
        _loop(host, batches, fmt, as_json, quiet, max_events, recorder,
              progress_bar(label, read_progress, show_progress and can_progress))  # fmt: skip
    finally:
        if recorder is not None:
            recorder.close()
        if capture is not None:
            capture.close()
        host.destroy()


def _loop(host, batches, fmt, as_json, quiet, max_events, recorder, bar) -> None:  # type: ignore[no-untyped-def]
    out = sys.stdout
    count = 0
    with bar as tick:
        for batch in batches:
            if max_events is not None and count + len(batch) > max_events:
                batch = head(batch, max_events - count)
            if recorder is not None:
                recorder.write(batch)
            if not quiet:
                lines = fmt.lines(host, batch, as_json)
                if lines:
                    out.write("\n".join(lines) + "\n")
            count += len(batch)
            tick()
            if max_events is not None and count >= max_events:
                break
    out.flush()
