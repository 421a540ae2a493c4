"""``falcoplug run``: live plugins or a capture in; events, or Falco alerts, out."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import click

from ..abi.loop import watch_signals
from ..errors import ConfigError, stop_signal
from ..filter import FilterError
from ..framework import extraction_errors
from ..framework.capture_io import Recorder
from ..framework.config import PluginSpec
from ..framework.heap import event_loop_heap
from ..framework.inspector import Inspector, SourcedBatch
from ..framework.metrics import MetricsReporter, collect, format_metrics
from ..framework.multisource import MultiSource
from ..pipeline import Pipeline, Rules, RuleSettings, Stats
from .common import choose_inputs, config_option, gather_specs, load_plugins, plugin_option, rule_settings, rules_paths

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


@dataclass
class RunOptions:
    output_format: str | None
    condition: str | None
    as_json: bool
    quiet: bool
    max_events: int | None
    rules_paths: list[str]
    settings: RuleSettings | None
    metrics_interval: float | None
    metrics: bool


def make_pipeline(host: Inspector, opts: RunOptions, plugin_versions: Mapping[str, str] | None = None) -> Pipeline:
    """``plugin_versions``: every loaded plugin, when this host has only some of them (several live
    sources): Falco has one rules engine, and any loaded plugin satisfies ``required_plugin_versions``."""
    rules = None
    if opts.rules_paths:
        rules = Rules(host, opts.settings)
        rules.loader.plugin_versions.update(plugin_versions or {})
        for warning in rules.load_paths(opts.rules_paths):
            log.info("%s", warning)
    return Pipeline(host, output_format=opts.output_format, condition=opts.condition, rules=rules, as_json=opts.as_json)


@click.command("run")
@plugin_option
@config_option
@click.option("-R", "--read", "read_file", type=click.Path(dir_okay=False), help="Replay a .scap capture instead of opening a plugin.")
@click.option("-w", "--write", "write_file", type=click.Path(dir_okay=False), help="Record the events into a .scap capture (.gz: gzip).")
@click.option("--compress/--no-compress", default=None, help="gzip the capture written with -w (default: by its .gz suffix).")
@click.option("-r", "--rules", "rules_files", multiple=True, metavar="RULES", help="A Falco rules file or folder (repeatable): print alerts.")
@click.option("-f", "--filter", "condition", default=None, help="Keep only the events that match this condition.")
@click.option("-n", "--max-events", type=click.IntRange(min=0), default=None, help="Stop after N events.")
@click.option("-o", "--output", "output_format", default=None,
              help="Output format (%field, %field[arg], %tolower(field), %20field); as in libsinsp, an event "
                   "with a missing value is not printed unless the format starts with * (<NA> then).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event (or Falco's JSON alerts).")
@click.option("--priority", default=None, help="With rules: the minimum rule priority (falco.yaml 'priority').")
@click.option("--rule-matching", type=click.Choice(["first", "all"]), default=None, help="With rules: first or all matching rules.")
@click.option("-q", "--quiet", is_flag=True,
              help="Print no events or alerts (with -w: only record; with -o: the fields are still extracted).")  # fmt: skip
@click.option("--summary/--no-summary", default=None, help="A summary on stderr at the end (default: with rules).")
@click.option("--metrics", is_flag=True, help="Print the plugins' metrics on stderr at the end.")
@click.option("--metrics-interval", type=click.FloatRange(min=0.001), default=None, metavar="SECONDS",
              help="Also print the metrics every SECONDS while running.")  # fmt: skip
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: when it is a terminal).")
@click.option("--out", "out_file", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Write the events (or with -r the alerts) as a table: .parquet, .csv or .jsonl.")  # fmt: skip
@click.option("--fields", "table_fields", default=None, metavar="A,B,C",
              help="With --out: the columns (default: the fields of the -o format).")  # fmt: skip
@click.option("--cluster", default=None, metavar="SPEC",
              help="Run the input's partitions on Dask: local, local:N or tcp://HOST:PORT.")  # fmt: skip
@click.option("--split-stateful", is_flag=True,
              help="With --cluster: partition even when a plugin parses or injects async events (state per partition).")  # fmt: skip
@click.option("--strict", is_flag=True, help="A failed field extraction ends the run with its error (default: <NA>, logged and counted).")
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
    metrics: bool,
    metrics_interval: float | None,
    progress: bool | None,
    out_file: str | None = None,
    table_fields: str | None = None,
    cluster: str | None = None,
    split_stateful: bool = False,
    strict: bool = False,
) -> None:
    """Run plugins: each input plugin sources events (or -R replays a capture), every plugin parses
    and extracts; print each event (-o, --json), or the alerts of Falco rules (-r).

    SPEC is LIB.so[|INIT_CONFIG[|OPEN_PARAMS]] (as libsinsp's sinsp-example takes it); module:Class,
    file.py and the bundled plugins' names (k8saudit, json, cloudtrail) work too. Several plugins
    given open params run as several live sources at once, as in Falco.
    """
    _stop_on_sigterm()
    extraction_errors.start(strict=strict)
    specs, config = gather_specs(plugin_specs, config_file, allow_empty=read_file is not None)
    paths = rules_paths(rules_files, config)
    if paths and output_format:
        raise click.UsageError("-o does not apply with rules: alerts use each rule's output")
    settings = rule_settings(config, json_output=as_json, priority=priority, rule_matching=rule_matching) if paths else None
    opts = RunOptions(output_format, condition, as_json, quiet, max_events, paths, settings, metrics_interval, metrics)
    if out_file is not None or cluster is not None:
        from .data_run import TableRun, parse_fields, run_table  # Arrow and Dask: imported when asked for

        run_table(TableRun(
            tuple(specs), read_file, out_file, parse_fields(table_fields), output_format, condition, tuple(paths),
            settings, as_json, quiet, max_events, summary, cluster, split_stateful,
        ))  # fmt: skip
        return
    show_progress = sys.stderr.isatty() if progress is None else progress
    if read_file is not None:
        _run_capture(specs, read_file, write_file, compress, opts, show_progress, summary)
        return
    host = Inspector()
    loaded = load_plugins(host, specs)
    inputs = choose_inputs(loaded)
    if len(inputs) > 1:
        if write_file is not None:
            raise ConfigError("-w records one input; several live sources were given")
        host.destroy()
        versions = {plugin.name: plugin.version for _, plugin in loaded}
        _run_sources(specs, [spec for spec, _, _ in inputs], opts, summary, versions)
        return
    _, source, params = inputs[0]
    pipeline = make_pipeline(host, opts)
    recorder = None
    try:
        host.open(source, params)
        pipeline.prepare()
        if write_file is not None:
            recorder = Recorder(write_file, compress=compress, hostname=host.hostname)
            recorder.write_initial(host.dump_state_events())
        with progress_bar(source.name, host.progress, show_progress and source.backend.has("get_progress")) as tick:
            _loop(host, host.batches(), pipeline, opts, recorder, tick)
    finally:
        if recorder is not None:
            recorder.close()
        _finish(host, [pipeline], opts, summary)


def _run_capture(specs: Sequence[PluginSpec], path: str, write_file: str | None, compress: bool | None,
                 opts: RunOptions, show_progress: bool, summary: bool | None) -> None:  # fmt: skip
    host = Inspector()
    load_plugins(host, specs)
    pipeline = make_pipeline(host, opts)
    recorder = None
    try:
        host.open_capture(path)
        pipeline.prepare()
        if write_file is not None:
            recorder = Recorder(write_file, compress=compress, hostname=host.hostname)
        capture_size_known = host._capture is not None and host._capture.size is not None
        with progress_bar(path, host.progress, show_progress and capture_size_known) as tick:
            _loop(host, host.batches(), pipeline, opts, recorder, tick)
    finally:
        if recorder is not None:
            recorder.close()
        _finish(host, [pipeline], opts, summary)


def _stop_on_sigterm() -> None:
    """SIGTERM ends a run as Ctrl-C does: the input is closed, the summary printed, exit 0. Either
    signal also stops the compiled loops after the plugin call they are in (a plugin blocked in
    ``extract_fields`` would otherwise be called again for the next event)."""

    if threading.current_thread() is threading.main_thread():
        # stop_signal remembers that a signal came: a KeyboardInterrupt raised by plugin code is
        # then a plugin failure, not a quiet end. The handlers are restored when the command ends.
        previous = {sig: signal.signal(sig, stop_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        click.get_current_context().call_on_close(lambda: [signal.signal(s, h) for s, h in previous.items()])
        watch_signals()


def _loop(host: Inspector, batches: Iterator[SourcedBatch], pipeline: Pipeline, opts: RunOptions,
          recorder: Recorder | None, tick: Callable[[], None]) -> None:  # fmt: skip
    try:
        with event_loop_heap():
            _pump(host, batches, pipeline, opts, recorder, tick)
    except KeyboardInterrupt:  # the user ends a live run: a normal end, as in Falco
        sys.stdout.flush()


def _pump(host: Inspector, batches: Iterator[SourcedBatch], pipeline: Pipeline, opts: RunOptions,
          recorder: Recorder | None, tick: Callable[[], None]) -> None:  # fmt: skip
    out = sys.stdout
    reporter = _reporter([host], opts)
    count = 0  # events, or with a condition (-f) events that match it, as libsinsp counts -n
    count_matches = pipeline.condition is not None and pipeline.rules is None
    for batch in batches:
        if opts.max_events is not None and not count_matches and count + len(batch) > opts.max_events:
            batch = batch.head(opts.max_events - count)
        if recorder is not None:
            recorder.write(batch)
        if opts.quiet and pipeline.rules is None:  # nothing to print: the condition only, if any
            mark = pipeline.stats.mark()
            try:
                kept = pipeline.count(batch, extract=opts.output_format is not None)
            except KeyboardInterrupt:
                pipeline.stats.restore(mark)
                raise
            if count_matches:
                if opts.max_events is not None and count + kept > opts.max_events:
                    pipeline.stats.kept -= count + kept - opts.max_events
                    kept = opts.max_events - count
                count += kept
        else:
            mark, printing = pipeline.stats.mark(), False
            try:
                text = None if opts.quiet or count_matches else pipeline.text(batch)
                if text is not None:  # written by the compiled core, a batch at a time
                    printing = True
                    out.write(text)
                    lines = []
                else:  # one entry per kept event (None: the format leaves it out, yet -n counts it)
                    lines = pipeline.outputs(batch)
                if count_matches and opts.max_events is not None and count + len(lines) > opts.max_events:
                    pipeline.stats.kept -= count + len(lines) - opts.max_events
                    lines = lines[: opts.max_events - count]
                printing = True  # from here on the batch counts: its lines are (being) written
                printed = [line for line in lines if line is not None]
                if printed and not opts.quiet:
                    out.write("\n".join(printed) + "\n")
            except KeyboardInterrupt:  # what the summary counts is what was printed
                if not printing:
                    pipeline.stats.restore(mark)
                raise
            if count_matches:
                count += len(lines)
        if not count_matches:
            count += len(batch)
        tick()
        if reporter is not None:
            reporter.tick()
        if opts.max_events is not None and count >= opts.max_events:
            break
    out.flush()


def _run_sources(specs: Sequence[PluginSpec], inputs: Sequence[PluginSpec], opts: RunOptions, summary: bool | None,
                 versions: Mapping[str, str]) -> None:  # fmt: skip
    """Several live sources: one inspector per input, with its own instances of the other plugins."""
    others = [s for s in specs if s not in inputs]
    hosts: list[Inspector] = []
    pipelines: dict[int, Pipeline] = {}
    try:
        for spec in inputs:
            host = Inspector()
            hosts.append(host)
            loaded = load_plugins(host, [spec, *others])
            pipelines[id(host)] = make_pipeline(host, opts, versions)
            host.open(loaded[0][1], spec.open_params or "")
        _check_sources(list(pipelines.values()))
        runner = MultiSource(hosts, process=lambda batch: pipelines[id(batch.host)].lines(batch))
        reporter = _reporter(hosts, opts)
        out = sys.stdout
        try:
            for _source, line in runner:
                if not opts.quiet:
                    out.write(line + "\n")
                if reporter is not None:
                    reporter.tick()
                if opts.max_events is not None and sum(p.stats.events for p in pipelines.values()) >= opts.max_events:
                    runner.stop()
                    break
        except KeyboardInterrupt:
            runner.stop()
        out.flush()
    finally:
        _finish(hosts, list(pipelines.values()), opts, summary)


def _check_sources(pipelines: list[Pipeline]) -> None:
    """With several live sources, the condition and output are shared: a field may belong to only
    some sources (the others have no value for it, and skip a condition they cannot compile), but it
    must belong to at least one."""
    checks = [p.check() for p in pipelines]
    errors = [error for error, _ in checks]
    if all(error is not None for error in errors):
        raise errors[0]  # type: ignore[misc]
    nowhere = set.intersection(*(missing for _, missing in checks))
    if nowhere:
        raise FilterError(f"unknown filter: {sorted(nowhere)[0]}")
    for pipeline in pipelines:
        pipeline.lenient = True
        pipeline.prepare()


def _reporter(hosts: Sequence[Inspector], opts: RunOptions) -> MetricsReporter | None:
    if opts.metrics_interval is None:
        return None
    return MetricsReporter(list(hosts), lambda line: click.echo(line, err=True), interval=opts.metrics_interval)


def _finish(hosts: Inspector | Sequence[Inspector], pipelines: Sequence[Pipeline], opts: RunOptions, summary: bool | None) -> None:
    hosts = [hosts] if isinstance(hosts, Inspector) else list(hosts)
    try:
        if opts.metrics or opts.metrics_interval is not None:
            for line in format_metrics([*collect(hosts), *extraction_errors.current().metrics()]):
                click.echo(line, err=True)
    finally:
        for host in hosts:
            host.destroy()
    if pipelines and (summary or (summary is None and opts.rules_paths)):
        click.echo(_combined([p.stats for p in pipelines]).summary(), err=True)


def _combined(stats: Sequence[Stats]) -> Stats:
    """One summary for several live sources, as Falco prints one for its single rules engine."""
    if len(stats) == 1:
        return stats[0]
    total = Stats(filtered=any(s.filtered for s in stats), rule_order=stats[0].rule_order,
                  started=min(s.started for s in stats))  # fmt: skip
    for s in stats:
        total.events, total.kept, total.alerts = total.events + s.events, total.kept + s.kept, total.alerts + s.alerts
        total.by_rule.update(s.by_rule)
        total.by_priority.update(s.by_priority)
    return total
