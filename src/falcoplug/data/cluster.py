"""Runs that scale out: partitions of an input run on Dask workers, results merged in event time.

Every worker loads the plugins itself (a ``.so`` path or a Python plugin must exist at the same
place on every worker, with falcoplug installed there), reads its partitions, applies the rules or
extracts the fields, and sends back per partition its counts and an Arrow table, or for alerts that
are only printed their lines and times (:class:`AlertLines`; through a file on a local cluster). The
partitions go to the workers in a few groups balanced by size (one task each: a task and its result
cost a round trip); when the plugins keep no state across events, a worker runs all its groups of a
run in one inspector, the rules compiled once. The merge concatenates the tables in partition order
and sorts them by event time (a stable sort, so events with the same time keep their partition's
order), then adds the counts up.
"""

from __future__ import annotations

import bisect
import codecs
import errno
import itertools
import logging
import operator
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO, TextIO

from ..errors import ConfigError, FalcoplugError
from ..framework.config import PluginSpec
from ..framework.heap import event_loop_heap
from ..framework.inspector import Inspector
from ..pipeline import Pipeline, Rules, RuleSettings, Stats
from ._deps import require
from .detect import AlertTable, alerts, output_field_infos
from .partition import Partition, keeps_state
from .read import ColumnBuilder
from .session import open_input, opened

TIME_COLUMN = "__ts"
GROUPS_PER_WORKER = 2  # a slow worker (a busy core) then waits for less than half its share
JSON_COLUMN = "__json"
log = logging.getLogger("falcoplug.cluster")

# A local cluster's workers share the machine's cores with the run's own partitions, so Dask's
# diagnostics, made for a dashboard nobody watches here, are turned down: the statistical profiler
# samples the task's stack every 10 ms, the event loop ticks every 20 ms, the memory and system
# monitors wake every 100 and 500 ms, the GIL monitor (with gilknocker installed) every 1 ms. Each
# wake takes the GIL from the partition's thread; together they made a partition 15-30% slower.
# Work stealing (a scheduler callback every 100 ms) and the memory limit (a nanny polling each
# worker's memory) are off too: the tasks are a few groups of similar size, and the memory of a
# run on one machine is the machine's.
QUIET_WORKERS = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.admin.system-monitor.gil.enabled": False,
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.scheduler.work-stealing": False,
}


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
    spill_dir: str | None = None  # on a local cluster: alert lines come back through files there
    run_id: str = ""  # set per cluster run: a worker keeps the run's inspector between its groups

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
    table: Any  # a pyarrow.Table; AlertLines for a job that only prints its alerts (SpilledLines from a local worker)
    counts: Counts
    seconds: float


def run_partition(job: Job, part: Partition) -> PartitionResult:
    """One partition, start to end, in this process (what a Dask worker runs)."""
    started = time.perf_counter()
    with opened(list(job.specs), part.input) as host:
        table, counts = _detect(job, host) if job.detects else _read(job, host)
    return PartitionResult(part.index, table, counts, time.perf_counter() - started)


def run_group(job: Job, parts: Sequence[Partition]) -> list[PartitionResult]:
    """Several partitions, one after the other, in this process (what a Dask task runs), the
    collector tuned for an event loop (see :mod:`falcoplug.framework.heap`): a Dask worker holds a
    large heap of its own, which full collections went over again and again."""
    with event_loop_heap():
        return _group(job, parts)


def _group(job: Job, parts: Sequence[Partition]) -> list[PartitionResult]:
    """Rules runs over plugins without state across events share one inspector and one compilation
    of the rules (0.1 s for the official k8s rules, as much as a few thousand events), kept by the
    worker for the run's next group; otherwise every partition gets a fresh inspector. A failure
    names its partition."""
    shared = _take_host(job, parts[0]) if job.detects else None
    if shared is not None:
        results = _shared(job, shared, parts)  # raises (and the host is dropped) on a failure
        _give_back(shared)
        return results
    results = []
    for part in parts:
        try:
            results.append(run_partition(job, part))
        except Exception as exc:  # noqa: BLE001
            raise _failed(part, exc) from None
    return results


@dataclass
class SharedHost:
    """An inspector with a run's plugins loaded and initialised, and its rules once compiled."""

    run_id: str
    host: Inspector
    plugins: list[Any]
    rules: Rules | None = None


# A worker's shared host between two groups of the same run (at most one: the last run's). A
# group takes it out while it runs, so a worker with several threads never shares one inspector
# between two tasks (the other builds its own).
_idle: list[SharedHost] = []
_idle_lock = threading.Lock()


def _take_host(job: Job, first: Partition) -> SharedHost | None:
    """The idle shared host of this run, or a new one; ``None`` when a plugin keeps state."""
    with _idle_lock:
        for i, shared in enumerate(_idle):
            if job.run_id and shared.run_id == job.run_id:
                return _idle.pop(i)
    host = Inspector()
    try:
        plugins = [host.register(spec.location) for spec in job.specs]
        if any(keeps_state(p) for p in plugins):
            host.destroy()
            return None
        for spec, plugin in zip(job.specs, plugins):
            plugin.init(spec.init_config)
    except Exception as exc:  # noqa: BLE001 - a plugin that fails to load: named with the first partition
        host.destroy()
        raise _failed(first, exc) from None
    return SharedHost(job.run_id, host, plugins)


def _give_back(shared: SharedHost) -> None:
    """Keep ``shared`` for the run's next group in this process (one-off runs: destroy it)."""
    if not shared.run_id:
        shared.host.destroy()
        return
    with _idle_lock:
        stale, _idle[:] = list(_idle), [shared]
    for old in stale:
        old.host.destroy()


def release_host(run_id: str) -> None:
    """Destroy this process's idle inspector of run ``run_id`` (a run's end, on every worker of a
    cluster that outlives it: plugins are destroyed, their files and threads let go)."""
    with _idle_lock:
        done = [shared for shared in _idle if shared.run_id == run_id]
        _idle[:] = [shared for shared in _idle if shared.run_id != run_id]
    for shared in done:
        shared.host.destroy()


def _shared(job: Job, shared: SharedHost, parts: Sequence[Partition]) -> list[PartitionResult]:
    """The partitions in one inspector, its input reopened for each (as ``opened`` opens it)."""
    host = shared.host
    results = []
    for part in parts:
        started = time.perf_counter()
        try:
            open_input(host, list(zip(job.specs, shared.plugins)), part.input)
            if shared.rules is None:
                shared.rules = Rules.load(host, job.rules, job.settings)
            table, counts = _detect(job, host, shared.rules)
            host.close()
        except Exception as exc:  # noqa: BLE001
            host.destroy()
            raise _failed(part, exc) from None
        except BaseException:  # an interrupted group's inspector is not kept either
            host.destroy()
            raise
        results.append(PartitionResult(part.index, table, counts, time.perf_counter() - started))
    return results


class PartitionFailed(FalcoplugError):
    """A partition failed on a worker; the message names it (it travels back by pickle)."""


def _failed(part: Partition, exc: Exception) -> FalcoplugError:
    where = part.input.describe()
    if isinstance(exc, FalcoplugError):
        return PartitionFailed(f"partition {where}: {exc}")
    return PartitionFailed(f"partition {where} failed on the cluster: {type(exc).__name__}: {exc}")


def groups_of(parts: Sequence[Partition], groups: int) -> list[list[Partition]]:
    """The partitions in at most ``groups`` groups of about the same size (bytes of the file, else
    one each): the largest first, each to the lightest group; a group keeps the input's order."""
    loads = [0] * max(1, min(groups, len(parts)))
    members: list[list[Partition]] = [[] for _ in loads]
    for size, part in sorted(((_size(p), p) for p in parts), key=lambda sp: (-sp[0], sp[1].index)):
        lightest = loads.index(min(loads))
        loads[lightest] += size
        members[lightest].append(part)
    return [sorted(m, key=lambda p: p.index) for m in members if m]


def _size(part: Partition) -> int:
    try:
        return max(1, os.path.getsize(part.input.describe()))
    except OSError:
        return 1


def _detect(job: Job, host: Any, rules: Rules | None = None) -> tuple[Any, Counts]:
    pa = require("pyarrow")
    if rules is None:
        rules = Rules.load(host, job.rules, job.settings)
    pipeline = Pipeline(host, rules=rules)
    if job.lines_only:
        found = _alert_lines(job, host, pipeline)
        return (found.spill(job.spill_dir) if job.spill_dir else found), counts_of(pipeline.stats)
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


@dataclass
class AlertLines:
    """A partition's alerts as a run prints them (text or JSON lines), with each one's event time:
    all the merge needs to print them in order. No Arrow on this path: building an array costs a
    worker its first import of pandas (0.25 s), and the parent a copy of every line."""

    times: array[int]
    lines: list[str]

    def spill(self, folder: str) -> SpilledLines:
        """These lines written to a new file in ``folder``, for a process on the same machine: in
        UTF-8, one per line, as a UTF-8 stdout prints them (so that the file can be copied to it as
        it is), unless a line holds a lone surrogate (kept, for :meth:`SpilledLines.load`)."""
        fd, path = tempfile.mkstemp(suffix=".lines", dir=folder)
        verbatim = True
        with os.fdopen(fd, "wb") as out:
            for text in self._chunks():
                try:
                    data = text.encode("utf-8")
                except UnicodeEncodeError:
                    data, verbatim = text.encode("utf-8", "surrogatepass"), False
                out.write(data)
        return SpilledLines(self.times, path, array("Q", map(len, self.lines)), verbatim)

    def write_to(self, out: TextIO) -> None:
        """These lines to ``out``, one per line (in its encoding, with its error handler)."""
        for text in self._chunks():
            out.write(text)

    def _chunks(self, size: int = 8192) -> Iterator[str]:
        """The lines, each ending with a newline, a few thousand to a text (one by one, 100 k
        lines cost 0.1 s; in one text, a copy of the whole output)."""
        for start in range(0, len(self.lines), size):
            yield "\n".join(self.lines[start : start + size]) + "\n"


@dataclass
class SpilledLines:
    """:class:`AlertLines` that a worker of a local cluster wrote to a file: Dask's transfer of a
    partition's lines (30 MB for 12,500 k8s events' JSON alerts) took 0.2-0.4 s of the parent's
    time, and the parent shares the cores with the workers; the file takes 0.03 s."""

    times: array[int]
    path: str
    lengths: array[int]  # of each line, in characters
    verbatim: bool = True  # the file is what a UTF-8 stream prints (no line holds a lone surrogate)

    def load(self) -> AlertLines:
        """The lines back (the file is removed)."""
        with open(self.path, "rb") as src:
            text = src.read().decode("utf-8", "surrogatepass")
        os.unlink(self.path)
        ends = list(itertools.accumulate(n + 1 for n in self.lengths))  # each line and its newline
        return AlertLines(self.times, [text[a : b - 1] for a, b in zip([0, *ends], ends)])

    def write_to(self, out: TextIO) -> None:
        """The file's lines to ``out`` (the file is removed): where ``out`` is a UTF-8 stream on a
        file descriptor, copied to it as they are, never read into Python; else through Python."""
        fd = _utf8_descriptor(out) if self.verbatim else None
        if fd is None:
            self.load().write_to(out)
            return
        out.flush()
        with open(self.path, "rb") as src:
            _send(src, fd)
        os.unlink(self.path)


def _utf8_descriptor(out: TextIO) -> int | None:
    """The file descriptor under a text stream that encodes in UTF-8, or None."""
    try:
        if codecs.lookup(out.encoding).name != "utf-8":
            return None
        return out.fileno()
    except (AttributeError, LookupError, OSError, TypeError, ValueError):  # no encoding, no file (a StringIO)
        return None


def _send(src: BinaryIO, dst: int) -> None:
    """A whole file to the descriptor ``dst`` by ``sendfile``; by reads and writes where the
    kernel refuses it (an output opened to append: ``>>``)."""
    size, offset = os.fstat(src.fileno()).st_size, 0
    try:
        while offset < size:
            sent = os.sendfile(dst, src.fileno(), offset, size - offset)
            if sent == 0:
                break
            offset += sent
    except OSError as exc:
        if offset or exc.errno not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            raise
        with os.fdopen(dst, "wb", closefd=False) as sink:
            shutil.copyfileobj(src, sink, 1 << 20)


def _alert_lines(job: Job, host: Any, pipeline: Pipeline) -> AlertLines:
    times: array[int] = array("Q")  # event times are unsigned (k8saudit wraps a time before 1970)
    lines: list[str] = []
    for alert in alerts(host, pipeline, with_fields=job.json_lines):
        times.append(alert.time_ns)
        lines.append(alert.json_line() if job.json_lines else alert.text)
    return AlertLines(times, lines)


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


def merge_lines(results: Sequence[PartitionResult]) -> tuple[list[str], Counts]:
    """The partitions' alert lines (of a ``lines_only`` job) in event-time order, as :func:`merge`
    orders a table; and the counts added up. Partitions already in order (files of consecutive
    hours) are concatenated without a sort."""
    counts = Counts()
    times: array[int] = array("Q")
    lines: list[str] = []
    for r in sorted(results, key=lambda r: r.index):
        counts.add(r.counts)
        found = _loaded(r).table
        times.extend(found.times)
        lines.extend(found.lines)
    if not _ascending(times):
        lines = [lines[i] for i in sorted(range(len(times)), key=times.__getitem__)]  # stable
    return lines, counts


def write_lines(results: Iterable[PartitionResult], out: TextIO) -> Counts:
    """The partitions' alert lines (of a ``lines_only`` job) printed to the text stream ``out``
    (``sys.stdout``) in the order :func:`merge_lines` gives, once ``results`` (an iterator, as
    :func:`run_on_cluster` yields them) is exhausted; and the counts added up.

    While the partitions look in order (each sorted, and each after the ones before it, as files
    of consecutive hours are), a local worker's lines stay in its file, and are copied to ``out``
    at the end without being read into Python. Once they are not, every partition's lines are
    read as it comes (while the cluster runs, not after it) to be sorted at the end."""
    held: dict[int, PartitionResult] = {}
    order: _TimeOrder | None = _TimeOrder()
    for r in results:
        if order is not None and not order.admits(r.index, r.table.times):
            order = None
            held = {index: _loaded(h) for index, h in held.items()}
        held[r.index] = r if order is not None else _loaded(r)
    ordered = [held[index] for index in sorted(held)]
    if order is None:
        lines, counts = merge_lines(ordered)
        AlertLines(array("Q"), lines).write_to(out)
        return counts
    for r in ordered:
        r.table.write_to(out)
    return total(ordered)


class _TimeOrder:
    """The partitions seen so far, all in time order: each one's index, first and last time."""

    def __init__(self) -> None:
        self.spans: list[tuple[int, int, int]] = []  # sorted by index, and so by time

    def admits(self, index: int, times: array[int]) -> bool:
        """Whether a partition's times are sorted and between those of the partitions around it
        (then it is one more of them). Its neighbours are enough: the others are in order."""
        if not times:
            return True
        if not _ascending(times):
            return False
        span = (index, times[0], times[-1])
        at = bisect.bisect_left(self.spans, span)
        if (at and self.spans[at - 1][2] > times[0]) or (at < len(self.spans) and times[-1] > self.spans[at][1]):
            return False
        self.spans.insert(at, span)
        return True


def total(results: Iterable[PartitionResult]) -> Counts:
    """The partitions' counts added up."""
    counts = Counts()
    for r in results:
        counts.add(r.counts)
    return counts


def _ascending(times: array[int]) -> bool:
    return all(map(operator.le, times, itertools.islice(times, 1, None)))


def connect(spec: str, local_directory: str | None = None) -> tuple[Any, Any]:
    """A Dask client for ``local``, ``local:N`` (a local cluster of N worker processes, their
    scratch space in ``local_directory``) or ``tcp://host:port`` (an existing scheduler); and the
    local cluster to close, if any."""
    workers = local_workers(spec)
    method = start_local_workers() if workers else None  # before Dask's import, to overlap with it
    distributed = require("distributed")
    _quiet_dask()
    if workers:
        settings = {"distributed.worker.multiprocessing-method": method, **QUIET_WORKERS}
        if local_directory is not None:
            settings["temporary-directory"] = local_directory
        _keep_preload(distributed)
        with require("dask").config.set(settings):
            cluster = distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, memory_limit=0,
                silence_logs=logging.ERROR,
            )  # fmt: skip
        return distributed.Client(cluster), cluster
    if spec.startswith(("tcp://", "tls://")):
        try:
            return distributed.Client(spec, timeout="5s"), None
        except (OSError, TimeoutError) as exc:
            raise ConfigError(f"--cluster {spec}: no Dask scheduler answers there ({exc})") from None
    raise ConfigError(f"--cluster {spec}: give local, local:N or tcp://HOST:PORT")


def local_workers(spec: str) -> int:
    """The worker count of a local cluster spec (``local``: one per core), 0 for another spec."""
    if spec != "local" and not spec.startswith("local:"):
        return 0
    if spec == "local":
        return os.cpu_count() or 1
    try:
        workers = int(spec.split(":", 1)[1])
    except ValueError:
        raise ConfigError(f"--cluster {spec}: the worker count must be a number (local:4)") from None
    if workers < 1:
        raise ConfigError(f"--cluster {spec}: at least one worker is needed")
    return workers


# What a local worker needs imported before its first task: forked from a server that imported it
# once, a worker starts in 0.1 s instead of the 0.5 s of importing Dask and falcoplug itself.
WORKER_PRELOAD = ("falcoplug.data.cluster", "falcoplug.cli.main", "distributed")


def start_local_workers() -> str:
    """The way local workers start (a multiprocessing method), and on Linux its server started.

    Workers are not forked from this process: a plugin it loaded may have started threads (the
    Go runtime of every plugin built with the Go SDK does, at ``dlopen``), and a fork copies
    their locks but not the threads, so a worker hangs on its first call into the plugin. They
    are forked from a fork server instead, a fresh interpreter that imports Dask and falcoplug
    (:data:`WORKER_PRELOAD`) and no plugin. Started as early as possible (this call is cheap and
    can be made again), it imports them on the other core while this process does the same.
    Where the server cannot listen (a temporary folder whose path is too long for a Unix
    socket), the workers are spawned: fresh interpreters, slower to start (they import Dask and
    falcoplug each) but never a copy of this process, which may hold a plugin's threads by then."""
    global _no_fork_server
    if _no_fork_server or not sys.platform.startswith("linux"):
        return "spawn"
    import multiprocessing
    import multiprocessing.forkserver

    multiprocessing.get_context("forkserver").set_forkserver_preload(list(WORKER_PRELOAD))
    try:
        multiprocessing.forkserver.ensure_running()
    except OSError as exc:
        _no_fork_server = True  # said once, not tried again at every run of this process
        log.info("local workers: no fork server (%s), they are spawned", exc)
        return "spawn"
    return "forkserver"


_no_fork_server = False  # the fork server could not listen: local workers are spawned


def _keep_preload(distributed: Any) -> None:
    """Dask's first forkserver worker imports in this process every package Dask may use (pandas
    too: 0.5 s) to choose the server's preload; the server is running already, its preload ours."""
    utils = distributed.utils
    if hasattr(utils, "_forkserver_preload_set"):
        utils._forkserver_preload_set = True


def _quiet_dask() -> None:
    """Dask's own INFO lines (workers started, comms closed) say nothing about the run: shown
    with ``falcoplug -v``, as falcoplug's own, not otherwise."""
    if not logging.getLogger("falcoplug").isEnabledFor(logging.INFO):
        for name in ("distributed", "dask"):
            logging.getLogger(name).setLevel(logging.WARNING)


def run_on_cluster(
    job: Job, parts: Sequence[Partition], spec: str, spill_dir: str | None = None
) -> Iterator[PartitionResult]:
    """Every partition on the cluster ``spec`` (in :data:`GROUPS_PER_WORKER` groups per worker, see
    :func:`groups_of`); the results as their group finishes.

    On a local cluster, the alert lines of a ``lines_only`` job come back through files: in
    ``spill_dir`` when given, the results then naming them (:class:`SpilledLines`: the caller
    prints them with :func:`write_lines`, or loads them, and removes the folder); otherwise in a
    temporary folder, read back as they come."""
    if local_workers(spec):
        start_local_workers()  # it imports what the workers need while this process imports Dask
    distributed = require("distributed")
    # A local cluster's scratch space and the files its workers return lines through, removed after
    local = tempfile.TemporaryDirectory(prefix="falcoplug-") if spec.startswith("local") else None
    try:
        client, cluster = connect(spec, local.name if local is not None else None)
    except BaseException:
        if local is not None:
            local.cleanup()
        raise
    try:
        job = replace(job, run_id=uuid.uuid4().hex)
        if local is not None and job.lines_only:  # the workers are on this machine: lines come back through files
            job = replace(job, spill_dir=spill_dir or local.name)
        keep = _loaded if spill_dir is None else _as_is
        workers = len(client.scheduler_info().get("workers", ())) or 1
        groups = groups_of(parts, GROUPS_PER_WORKER * workers)
        futures = {client.submit(run_group, job, group, pure=False): group for group in groups}
        for future in distributed.as_completed(futures):
            try:
                yield from map(keep, future.result())
            except FalcoplugError:
                raise
            except Exception as exc:  # noqa: BLE001 - a worker's failure (a lost worker), carried back by Dask
                where = ", ".join(p.input.describe() for p in futures[future])
                raise FalcoplugError(f"partitions {where} failed on the cluster: {type(exc).__name__}: {exc}") from None
    finally:
        try:
            if cluster is None:  # a cluster that outlives the run: its workers let the run's inspectors go
                _release_on_workers(client, job.run_id)
            client.close()
            if cluster is not None:
                cluster.close()
        finally:
            if local is not None:
                local.cleanup()


def _release_on_workers(client: Any, run_id: str) -> None:
    try:
        client.run(release_host, run_id)
    except Exception as exc:  # noqa: BLE001 - a lost worker keeps nothing; the run's result stands
        log.warning("could not release the run's inspectors on the cluster's workers: %s", exc)


def _loaded(result: PartitionResult) -> PartitionResult:
    if isinstance(result.table, SpilledLines):
        result.table = result.table.load()
    return result


def _as_is(result: PartitionResult) -> PartitionResult:
    return result


def run_here(job: Job, parts: Sequence[Partition]) -> Iterator[PartitionResult]:
    """Every partition in this process, one after the other (no Dask needed)."""
    for part in parts:
        yield _loaded(run_partition(job, part))
