"""Runs that scale out: partitions of an input run on Dask workers, results merged in event time.

Every worker loads the plugins itself (a ``.so`` path or a Python plugin must exist at the same
place on every worker, with falcoplug installed there), reads its partition, applies the rules or
extracts the fields, and sends back an Arrow table and its counts. The merge concatenates the
tables in partition order and sorts them by event time (a stable sort, so events with the same time
keep their partition's order), then adds the counts up.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError, FalcoplugError
from ..framework.config import PluginSpec
from ..pipeline import Pipeline, Rules, RuleSettings, Stats
from ._deps import require
from .detect import AlertTable, alerts, output_field_infos
from .partition import Partition
from .read import ColumnBuilder
from .session import opened

TIME_COLUMN = "__ts"
JSON_COLUMN = "__json"
log = logging.getLogger("falcoplug.cluster")


@dataclass(frozen=True)
class Job:
    """What every partition runs: the plugins, then rules (alerts) or fields (events)."""

    specs: tuple[PluginSpec, ...]
    rules: tuple[str, ...] = ()
    settings: RuleSettings | None = None
    fields: tuple[str, ...] = ()
    filter: str | None = None
    json_lines: bool = False  # keep each alert's Falco JSON line, to print it after the merge
    lines_only: bool = False  # alerts only to print: their time and line, no typed output fields

    @property
    def detects(self) -> bool:
        return bool(self.rules)


@dataclass
class Counts:
    """A run's counts, added up over partitions (what the summary prints)."""

    events: int = 0
    kept: int = 0
    alerts: int = 0
    by_rule: Counter[str] = field(default_factory=Counter)
    by_priority: Counter[str] = field(default_factory=Counter)
    filtered: bool = False  # a condition decided which events were kept
    rule_order: list[str] = field(default_factory=list)  # the rules as defined: the summary's order

    def add(self, other: Counts) -> None:
        self.filtered = self.filtered or other.filtered
        self.rule_order = self.rule_order or other.rule_order
        self.events += other.events
        self.kept += other.kept
        self.alerts += other.alerts
        self.by_rule.update(other.by_rule)
        self.by_priority.update(other.by_priority)

    def summary(self, seconds: float) -> str:
        """Falco's summary lines, as a single-process run prints them."""
        stats = Stats(self.events, self.kept, self.alerts, Counter(self.by_rule), Counter(self.by_priority),
                      started=time.perf_counter() - seconds, filtered=self.filtered, rule_order=self.rule_order)  # fmt: skip
        return stats.summary()


@dataclass
class PartitionResult:
    index: int
    table: Any
    counts: Counts
    seconds: float


def run_partition(job: Job, part: Partition) -> PartitionResult:
    """One partition, start to end, in this process (what a Dask worker runs)."""
    started = time.perf_counter()
    with opened(list(job.specs), part.input) as host:
        table, counts = _detect(job, host) if job.detects else _read(job, host)
    return PartitionResult(part.index, table, counts, time.perf_counter() - started)


def _detect(job: Job, host: Any) -> tuple[Any, Counts]:
    pa = require("pyarrow")
    rules = Rules.load(host, job.rules, job.settings)
    pipeline = Pipeline(host, rules=rules)
    if job.lines_only:
        return _lines_table(job, host, pipeline), counts_of(pipeline.stats)
    gathered = AlertTable(output_field_infos(rules))
    lines: list[str] = []
    for alert in alerts(host, pipeline):
        gathered.add(alert)
        if job.json_lines:
            lines.append(alert.json_line())
    table = gathered.table()
    if job.json_lines:
        table = table.append_column(JSON_COLUMN, pa.array(lines, pa.string()))
    return table, counts_of(pipeline.stats)


def _lines_table(job: Job, host: Any, pipeline: Pipeline) -> Any:
    """The alerts as the merge needs them to print: time and line (text, or JSON with --json)."""
    pa = require("pyarrow")
    times: list[int] = []
    lines: list[str] = []
    for alert in alerts(host, pipeline, with_fields=job.json_lines):
        times.append(alert.time_ns)
        lines.append(alert.json_line() if job.json_lines else alert.text)
    column = JSON_COLUMN if job.json_lines else "output"
    return pa.table({"time": pa.array(times, pa.timestamp("ns", tz="UTC")), column: pa.array(lines, pa.string())})


def counts_of(stats: Stats) -> Counts:
    """A pipeline's statistics as counts that travel between processes."""
    return Counts(stats.events, stats.kept, stats.alerts, Counter(stats.by_rule), Counter(stats.by_priority),
                  stats.filtered, list(stats.rule_order))  # fmt: skip


def _read(job: Job, host: Any) -> tuple[Any, Counts]:
    pa = require("pyarrow")
    builder = ColumnBuilder(host, [*job.fields, "evt.rawtime"], job.filter)
    batches = []
    events = 0
    for batch in host.batches():
        events += len(batch)
        columns = builder.columns(batch)
        if columns[0]:
            batches.append(builder.record_batch(columns))
    table = pa.Table.from_batches(batches, schema=builder.schema)
    names = [*job.fields, TIME_COLUMN]
    table = table.rename_columns(names)
    return table, Counts(events=events, kept=table.num_rows, filtered=job.filter is not None)


def merge(results: Sequence[PartitionResult]) -> tuple[Any, Counts]:
    """The partitions' tables in event-time order (stable: ties keep the input's order), and the
    counts added up."""
    pa, pc = require("pyarrow"), require("pyarrow.compute")
    ordered = sorted(results, key=lambda r: r.index)
    counts = Counts()
    for r in ordered:
        counts.add(r.counts)
    tables = [r.table for r in ordered]
    if not tables:
        raise ConfigError("nothing to merge: the input has no partition")
    table = pa.concat_tables(tables, promote_options="permissive")
    key = "time" if "time" in table.column_names else TIME_COLUMN
    table = table.take(pc.sort_indices(table, sort_keys=[(key, "ascending")]))
    return table, counts


def connect(spec: str) -> tuple[Any, Any]:
    """A Dask client for ``local``, ``local:N`` (a local cluster of N worker processes) or
    ``tcp://host:port`` (an existing scheduler); and the local cluster to close, if any."""
    distributed = require("distributed")
    _quiet_dask()
    if spec == "local" or spec.startswith("local:"):
        workers = os.cpu_count() or 1
        if spec.startswith("local:"):
            try:
                workers = int(spec.split(":", 1)[1])
            except ValueError:
                raise ConfigError(f"--cluster {spec}: the worker count must be a number (local:4)") from None
            if workers < 1:
                raise ConfigError(f"--cluster {spec}: at least one worker is needed")
        cluster = distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
            silence_logs=logging.ERROR,
        )  # fmt: skip
        return distributed.Client(cluster), cluster
    if spec.startswith(("tcp://", "tls://")):
        try:
            return distributed.Client(spec, timeout="5s"), None
        except (OSError, TimeoutError) as exc:
            raise ConfigError(f"--cluster {spec}: no Dask scheduler answers there ({exc})") from None
    raise ConfigError(f"--cluster {spec}: give local, local:N or tcp://HOST:PORT")


def _quiet_dask() -> None:
    """Dask's own INFO lines (workers started, comms closed) say nothing about the run: shown
    with ``falcoplug -v``, as falcoplug's own, not otherwise."""
    if not logging.getLogger("falcoplug").isEnabledFor(logging.INFO):
        for name in ("distributed", "dask"):
            logging.getLogger(name).setLevel(logging.WARNING)


def run_on_cluster(job: Job, parts: Sequence[Partition], spec: str) -> Iterator[PartitionResult]:
    """Every partition on the cluster ``spec``; the results as they finish."""
    distributed = require("distributed")
    client, cluster = connect(spec)
    try:
        futures = {client.submit(run_partition, job, part, pure=False): part for part in parts}
        for future in distributed.as_completed(futures):
            try:
                yield future.result()
            except FalcoplugError:
                raise
            except Exception as exc:  # noqa: BLE001 - a worker's failure, carried back by Dask
                where = futures[future].input.describe()
                raise FalcoplugError(f"partition {where} failed on the cluster: {type(exc).__name__}: {exc}") from None
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_here(job: Job, parts: Sequence[Partition]) -> Iterator[PartitionResult]:
    """Every partition in this process, one after the other (no Dask needed)."""
    for part in parts:
        yield run_partition(job, part)
