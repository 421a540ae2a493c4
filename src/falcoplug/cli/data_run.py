"""``falcoplug run --out FILE`` and ``--cluster SPEC``: events or alerts as tables, runs on Dask.

Without ``--cluster`` the run is the usual single-process one, its events (one column per field of
``--fields`` or of the ``-o`` format) or its alerts (with ``-r``) written to ``--out`` instead of
stdout. With ``--cluster``, the input is split into partitions (the files of a folder or glob given
as open params, or the captures given with ``-R``), each runs on a Dask worker, and the results come
back merged in event-time order: alerts printed (text or ``--json``) or written to ``--out``.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import tempfile
import time
from dataclasses import dataclass, replace

import click

from ..errors import ConfigError
from ..filter import compile_format
from ..framework.config import PluginSpec
from ..framework.heap import event_loop_heap
from ..data import (
    AlertTable,
    ColumnBuilder,
    Counts,
    Job,
    Partition,
    TableWriter,
    merge,
    record_batches,
    run_on_cluster,
    split_input,
    stateful_plugins,
    total,
    write_lines,
    write_table,
)
from ..data.cluster import JSON_COLUMN, TIME_COLUMN, PartitionResult, counts_of, local_workers, start_local_workers
from ..data.detect import alerts, output_field_infos
from ..data.session import Input, main_source, opened
from ..framework.registry import LenientFields
from ..pipeline import DEFAULT_FORMAT, Pipeline, Rules, RuleSettings

log = logging.getLogger("falcoplug.run")


@dataclass(frozen=True)
class TableRun:
    """What ``--out`` / ``--cluster`` need of a ``run`` command line."""

    specs: tuple[PluginSpec, ...]
    read_file: str | None
    out: str | None
    fields: tuple[str, ...]
    output_format: str | None
    condition: str | None
    rules_paths: tuple[str, ...]
    settings: RuleSettings | None
    as_json: bool
    quiet: bool
    max_events: int | None
    summary: bool | None
    cluster: str | None
    split_stateful: bool


def parse_fields(text: str | None) -> tuple[str, ...]:
    """``--fields a,b,c[x,y]``: commas inside brackets belong to an argument."""
    if not text:
        return ()
    fields, depth, current = [], 0, ""
    for ch in text:
        if ch == "," and depth == 0:
            fields.append(current.strip())
            current = ""
            continue
        depth += ch == "["
        depth -= ch == "]"
        current += ch
    fields.append(current.strip())
    named = tuple(f for f in fields if f)
    if not named:
        raise click.BadParameter(f"{text!r} names no field (give a,b,c)", param_hint="'--fields'")
    return named


def run_table(run: TableRun) -> None:
    """Entry point from ``falcoplug run``."""
    if run.out is None and run.cluster is not None and not run.rules_paths:
        raise click.UsageError("--cluster without -r writes events to a table: give --out FILE")
    if run.cluster is not None:
        _run_cluster(run)
    elif run.rules_paths:
        _detect_here(run)
    else:
        _read_here(run)


def _input(run: TableRun) -> tuple[list[PluginSpec], Input]:
    specs = list(run.specs)
    if run.read_file is not None:
        return specs, Input(capture=run.read_file)
    given = [s for s in specs if s.open_params is not None]
    if len(given) > 1:
        raise ConfigError("--out and --cluster read one input; several live sources were given")
    return specs, Input(open_params=given[0].open_params if given else None)


def _event_fields(run: TableRun, host: object) -> tuple[str, ...]:
    """``--fields``, else the fields of the ``-o`` format (or the default one), in order."""
    if run.fields:
        return run.fields
    fmt = run.output_format or DEFAULT_FORMAT
    resolver = LenientFields(host.output_resolver(main_source(host)))  # type: ignore[attr-defined]
    output = compile_format(fmt, resolver)
    names = [f.text for f in output.fields]
    return tuple(dict.fromkeys(names))


def _read_here(run: TableRun) -> None:
    assert run.out is not None
    specs, source = _input(run)
    started = time.perf_counter()
    counts = Counts()
    with opened(specs, source) as host:
        fields = _event_fields(run, host)
        batches = record_batches(host, fields, filter=run.condition, limit=run.max_events)
        first = next(batches, None)
        schema = first.schema if first is not None else ColumnBuilder(host, fields).schema
        with TableWriter(run.out, schema) as writer:  # record_batches tunes the collector per batch
            for batch in [first] if first is not None else []:
                writer.write(batch)
            for batch in batches:
                writer.write(batch)
            counts.kept = writer.rows
            counts.filtered = run.condition is not None
        counts.events = host.next_evtnum() - 1
    _summary(run, counts, time.perf_counter() - started)


def _detect_here(run: TableRun) -> None:
    """Alerts to a file, written a chunk at a time as they are found (memory stays that of a chunk)."""
    assert run.out is not None
    specs, source = _input(run)
    started = time.perf_counter()
    with opened(specs, source) as host:
        rules = Rules.load(host, run.rules_paths, run.settings)
        pipeline = Pipeline(host, rules=rules, condition=run.condition)
        table = AlertTable(output_field_infos(rules))
        with TableWriter(run.out, table.schema()) as writer:
            try:
                with event_loop_heap():
                    for alert in alerts(host, pipeline):
                        table.add(alert)
                        if table.batches:
                            for batch in table.take_batches():
                                writer.write(batch)
                        if run.max_events is not None and pipeline.stats.events >= run.max_events:
                            break
            except KeyboardInterrupt:
                pass  # what was gathered is written, as a live run prints what it had
            table.flush()
            for batch in table.take_batches():
                writer.write(batch)
        counts = counts_of(pipeline.stats)
    _summary(run, counts, time.perf_counter() - started, default=True)


def _run_cluster(run: TableRun) -> None:
    assert run.cluster is not None
    specs, source = _input(run)
    if source.capture is None and source.open_params is None:
        raise ConfigError("--cluster needs the input's open params (SPEC|CONFIG|PARAMS) or -R captures")
    parts = split_input(open_params=source.open_params, capture=source.capture)
    if local_workers(run.cluster):
        start_local_workers()  # the server the workers fork from imports Dask while this process loads the plugins
    stateful = stateful_plugins(specs)
    if stateful and not run.split_stateful and len(parts) > 1:
        log.warning(
            "plugin %s keeps state across events (parsing, async events or capture listening): the input "
            "is not partitioned (--split-stateful partitions it, the state then being per partition)",
            ", ".join(stateful),
        )
        parts = [replace(parts[0], input=source)]
    job = Job(
        tuple(specs), rules=run.rules_paths, settings=run.settings, fields=run.fields or (), filter=run.condition,
        json_lines=run.as_json and run.out is None, lines_only=run.out is None,
    )  # fmt: skip
    if not job.detects and not job.fields:
        with opened(specs, parts[0].input) as host:
            job = replace(job, fields=_event_fields(run, host))
    started = time.perf_counter()
    if job.lines_only:
        counts = _print_cluster_lines(run, job, parts)
    else:
        results: list[PartitionResult] = list(run_on_cluster(job, parts, run.cluster))
        table, counts = merge(results)
        if run.out is not None:
            write_table(table.drop_columns([c for c in (JSON_COLUMN, TIME_COLUMN) if c in table.column_names]), run.out)
    _summary(run, counts, time.perf_counter() - started, default=bool(run.rules_paths))


def _print_cluster_lines(run: TableRun, job: Job, parts: list[Partition]) -> Counts:
    """A cluster run's alert lines to stdout in event-time order; a local worker's lines go from
    its file to stdout without being read into this process (0.3 s of its time on 2 cores for
    181 k JSON alerts, taken from the workers while they ran and added after the last)."""
    assert run.cluster is not None
    with tempfile.TemporaryDirectory(prefix="falcoplug-lines-") as spill:
        # closed before the folder goes, should printing fail: the cluster stops with it
        with contextlib.closing(run_on_cluster(job, parts, run.cluster, spill_dir=spill)) as results:
            if run.quiet:
                return total(results)
            counts = write_lines(results, sys.stdout)
            sys.stdout.flush()
            return counts


def _summary(run: TableRun, counts: Counts, seconds: float, default: bool = False) -> None:
    if run.summary or (run.summary is None and default):
        click.echo(counts.summary(seconds), err=True)
