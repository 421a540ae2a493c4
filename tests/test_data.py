"""Events and alerts as Arrow tables, files by suffix, and runs on Dask (falcoplug.data)."""

from __future__ import annotations

import ipaddress
from array import array
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from cbuild import build_plugin

pa = pytest.importorskip("pyarrow", reason="the arrow extra is not installed")

from falcoplug.data import MissingExtraError, detect, parse_ip, read, read_table, require, split_input  # noqa: E402
from falcoplug.data.cluster import (  # noqa: E402
    JSON_COLUMN, AlertLines, Counts, Job, PartitionFailed, PartitionResult, groups_of, merge, merge_lines, run_group,
    run_here, run_on_cluster,
)  # fmt: skip
from falcoplug.data import cluster as cluster_module  # noqa: E402
from falcoplug.framework.config import PluginSpec  # noqa: E402

import falcoplug.plugins  # noqa: E402

DATA = Path(falcoplug.plugins.__file__).parent / "data"
SAMPLES = DATA / "k8s_audit"
RULES = DATA / "rules" / "k8s_audit_rules.yaml"
K8S = ["k8saudit", "json"]
EVENTS = 51  # audit events in the bundled samples, the items of EventLists counted


def falcoplug(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "falcoplug", *args], capture_output=True, text=True, cwd=cwd, timeout=120,
                          env=env)  # fmt: skip


@pytest.fixture()
def c_plugins() -> list[str]:
    return [f"{build_plugin('source_plugin')}|{{}}|count=6,batch=4", str(build_plugin("extractor_plugin"))]


def test_every_field_type_has_its_arrow_type(c_plugins):
    fields = ["evt.num", "ext.u64", "ext.str", "ext.rel", "ext.abs", "ext.bool", "ext.ip4", "ext.ip6", "ext.net",
              "ext.list.u64", "ext.list.ip", "ext.list.empty", "ext.idx[2]", "evt.rawtime"]  # fmt: skip
    table = read_table(c_plugins, fields=fields)
    types = {f.name: f.type for f in table.schema}
    assert types["ext.u64"] == pa.uint64()
    assert types["ext.str"] == pa.string()
    assert types["ext.rel"] == pa.duration("ns")
    assert types["ext.abs"] == pa.timestamp("ns", tz="UTC")
    assert types["evt.rawtime"] == pa.timestamp("ns", tz="UTC")
    assert types["ext.bool"] == pa.bool_()
    assert types["ext.ip4"] == types["ext.net"] == pa.string()
    assert types["ext.list.u64"] == pa.list_(pa.uint64())
    assert types["ext.list.ip"] == pa.list_(pa.string())
    assert table.schema.field("ext.net").metadata[b"falco.type"] == b"ipnet"
    rows = table.to_pylist()
    assert [r["evt.num"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert [r["ext.u64"] for r in rows] == [0, 2, 4, 6, 8, 10]
    assert [r["ext.idx[2]"] for r in rows] == [2, 3, 4, 5, 6, 7]
    assert rows[1]["ext.list.u64"] == [1, 2, 3]
    assert rows[0]["ext.list.empty"] is None  # an empty list is no value, as in libsinsp
    assert table.column("ext.rel").cast(pa.int64()).to_pylist() == [n * 1000 for n in range(6)]


def test_ip_columns_are_canonical_text_that_parses_back(c_plugins):
    from falcoplug.framework import Inspector

    table = read_table(c_plugins, fields=["ext.ip4", "ext.ip6", "ext.net", "ext.list.ip"])
    host = Inspector()
    host.load(c_plugins[0].split("|")[0], "{}")
    host.load(c_plugins[1], "")
    host.open("testsrc", "count=6,batch=4")
    plan = host.plan("test", ["ext.ip4", "ext.ip6", "ext.net", "ext.list.ip"])
    expected = [list(values) for batch in host.batches() for values in zip(*plan.columns(batch))]
    host.destroy()
    got = [[parse_ip(a), parse_ip(b), parse_ip(c), [parse_ip(x) for x in d]] for a, b, c, d in
           zip(*(table.column(i).to_pylist() for i in range(4)))]  # fmt: skip
    assert got == expected
    assert isinstance(got[0][2], ipaddress.IPv4Network)


def test_values_equal_the_run_command_json(tmp_path):
    fields = ["evt.num", "ka.verb", "ka.user.name", "ka.target.resource", "ka.req.pod.volumes.hostpath",
              "jevt.value[/stage]", "ka.response.code"]  # fmt: skip
    table = read_table(K8S, open=str(SAMPLES), fields=fields)
    fmt = "*" + " ".join("%" + f for f in fields)  # "*": every event, null for a missing value
    run = falcoplug("run", "-p", f"k8saudit||{SAMPLES}", "-p", "json", "-o", fmt, "--json")
    assert run.returncode == 0, run.stderr
    expected = [json.loads(line) for line in run.stdout.splitlines()]
    assert table.num_rows == len(expected) == 51
    assert table.to_pylist() == [{f: row[f] for f in fields} for row in expected]


def test_filter_keeps_what_the_condition_matches():
    every = read_table(K8S, open=str(SAMPLES), fields=["evt.num", "ka.verb"])
    kept = read_table(K8S, open=str(SAMPLES), fields=["evt.num", "ka.verb"], filter='ka.verb in (delete, patch)')
    assert kept.num_rows == sum(1 for v in every.column("ka.verb").to_pylist() if v in ("delete", "patch")) == 10
    assert set(kept.column("ka.verb").to_pylist()) == {"delete", "patch"}


def test_read_yields_batches_of_the_size_asked_and_a_limit():
    batches = list(read(K8S, open=str(SAMPLES), fields=["evt.num"], batch_size=20))
    assert [b.num_rows for b in batches] == [20, 20, 11]
    whole = read_table(K8S, open=str(SAMPLES), fields=["evt.num", "ka.verb"])
    for size in (1, 7, 50, 51, 100):  # rows cut across host batches, in order, none lost or repeated
        parts = list(read(K8S, open=str(SAMPLES), fields=["evt.num", "ka.verb"], batch_size=size))
        assert [b.num_rows for b in parts] == [size] * (EVENTS // size) + ([EVENTS % size] if EVENTS % size else [])
        assert pa.Table.from_batches(parts).equals(whole)
    assert read_table(K8S, open=str(SAMPLES), fields=["evt.num"], limit=7).column(0).to_pylist() == list(range(1, 8))


def test_record_batches_cut_across_host_batches_keep_every_row_in_order():
    plugins = [f"{build_plugin('source_plugin')}|{{}}|count=20000,batch=100", str(build_plugin("extractor_plugin"))]
    fields = ["evt.num", "ext.u64", "ext.str"]
    parts = list(read(plugins, fields=fields, batch_size=5000))  # host batches are of 8192 events
    assert [b.num_rows for b in parts] == [5000] * 4
    table = pa.Table.from_batches(parts)
    assert table.column("evt.num").to_pylist() == list(range(1, 20001))
    assert table.column("ext.u64").to_pylist() == [2 * n for n in range(20000)]
    assert table.column("ext.str").equals(read_table(plugins, fields=fields).column("ext.str"))


def test_an_unknown_field_is_an_error_naming_it():
    from falcoplug.errors import FieldError

    with pytest.raises(FieldError, match="ka.nope"):
        read_table(K8S, open=str(SAMPLES), fields=["ka.nope"])


def test_alerts_become_record_batches_a_chunk_at_a_time(tmp_path):
    from falcoplug.data.detect import AlertTable, alerts, output_field_infos
    from falcoplug.data.session import Input, opened
    from falcoplug.pipeline import Pipeline, Rules

    with opened([PluginSpec("k8saudit", "", str(SAMPLES)), PluginSpec("json")], Input(open_params=str(SAMPLES))) as host:
        rules = Rules.load(host, [str(RULES)], None)
        table = AlertTable(output_field_infos(rules), chunk=10)
        sizes = []
        for alert in alerts(host, Pipeline(host, rules=rules)):
            table.add(alert)
            assert len(table.rows) < 10  # a full chunk is a batch at once: no alert object piles up
            sizes += [b.num_rows for b in table.take_batches()]
        assert sizes == [10, 10, 10, 10] and len(table.rows) == 6
        rest = table.table()  # the last, partial chunk
    assert rest.num_rows == 6
    whole = detect(K8S, open=str(SAMPLES), rules=[str(RULES)])
    assert whole.slice(40).equals(rest)
    out = tmp_path / "alerts.parquet"
    run = falcoplug("run", "-p", f"k8saudit||{SAMPLES}", "-p", "json", "-r", str(RULES), "--out", str(out))
    assert run.returncode == 0, run.stderr
    import pyarrow.parquet as pq

    assert pq.read_table(out).equals(whole)


def test_run_out_writes_alerts_as_their_chunks_fill(tmp_path, monkeypatch):
    """run -r --out writes each chunk of alerts once it is full (a row group each), the last one at
    the end: the file is the whole alerts table."""
    from functools import partial

    from click.testing import CliRunner

    from falcoplug.cli import data_run
    from falcoplug.cli.main import main
    from falcoplug.data.detect import AlertTable

    waiting = []  # at each alert, the full chunks not written yet

    class Watched(AlertTable):
        def add(self, alert):  # type: ignore[no-untyped-def]
            waiting.append(len(self.batches))
            super().add(alert)

    monkeypatch.setattr(data_run, "AlertTable", partial(Watched, chunk=10))
    out = tmp_path / "alerts.parquet"
    args = ["run", "-p", f"k8saudit||{SAMPLES}", "-p", "json", "-r", str(RULES), "--out", str(out)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    import pyarrow.parquet as pq

    written = pq.ParquetFile(out)
    assert [written.metadata.row_group(i).num_rows for i in range(written.num_row_groups)] == [10, 10, 10, 10, 6]
    assert written.read().equals(detect(K8S, open=str(SAMPLES), rules=[str(RULES)]))
    assert len(waiting) == 46 and set(waiting) == {0}


def test_alerts_table_matches_the_json_alerts():
    table = detect(K8S, open=str(SAMPLES), rules=[str(RULES)])
    run = falcoplug("run", "-p", f"k8saudit||{SAMPLES}", "-p", "json", "-r", str(RULES), "--json")
    expected = [json.loads(line) for line in run.stdout.splitlines()]
    assert table.num_rows == len(expected) == 46
    rows = table.to_pylist()
    assert [r["rule"] for r in rows] == [a["rule"] for a in expected]
    assert [r["output"] for r in rows] == [a["output"] for a in expected]
    assert [r["tags"] for r in rows] == [a["tags"] for a in expected]
    assert table.schema.field("time").type == pa.timestamp("ns", tz="UTC")
    assert table.schema.field("ka.response.code").type == pa.string()
    for row, alert in zip(rows, expected):
        for name, value in alert["output_fields"].items():
            if name in table.column_names:
                assert row[name] == value, name


def test_out_files_are_read_by_pandas_polars_and_duckdb(tmp_path):
    pl = pytest.importorskip("polars")
    duckdb = pytest.importorskip("duckdb")
    pd = pytest.importorskip("pandas")
    fmt = "%evt.num %evt.rawtime %ka.verb %ka.user.name %ka.req.pod.volumes.hostpath"
    for suffix in ("parquet", "csv", "jsonl"):
        out = tmp_path / f"events.{suffix}"
        run = falcoplug("run", "-p", f"k8saudit||{SAMPLES}", "-p", "json", "-o", fmt, "--out", str(out))
        assert run.returncode == 0, run.stderr
        assert run.stdout == ""
    frame = pd.read_parquet(tmp_path / "events.parquet")
    assert list(frame.columns) == ["evt.num", "evt.rawtime", "ka.verb", "ka.user.name", "ka.req.pod.volumes.hostpath"]
    assert str(frame["evt.rawtime"].dtype).startswith("datetime64[ns")
    assert pl.read_parquet(tmp_path / "events.parquet").height == 51
    counts = dict(duckdb.sql(f"select \"ka.verb\", count(*) from '{tmp_path / 'events.parquet'}' group by 1").fetchall())
    assert counts == {"create": 40, "delete": 9, "get": 1, "patch": 1}
    assert len(pd.read_csv(tmp_path / "events.csv")) == 51
    lines = (tmp_path / "events.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    assert first["evt.num"] == 1 and first["evt.rawtime"].endswith("Z") and len(lines) == 51


def test_out_with_rules_writes_the_alerts_and_a_bad_suffix_is_refused(tmp_path):
    out = tmp_path / "alerts.parquet"
    run = falcoplug("run", "-p", f"k8saudit||{SAMPLES}", "-p", "json", "-r", str(RULES), "--out", str(out))
    assert run.returncode == 0, run.stderr
    assert "Events detected: 46" in run.stderr
    table = pa.parquet.read_table(out) if hasattr(pa, "parquet") else __import__("pyarrow.parquet").parquet.read_table(out)
    assert table.num_rows == 46 and table.column_names[:8] == ["time", "rule", "priority", "source", "tags",
                                                               "hostname", "output", "message"]  # fmt: skip
    bad = falcoplug("run", "-p", f"k8saudit||{SAMPLES}", "-p", "json", "--out", str(tmp_path / "x.xlsx"))
    assert bad.returncode != 0 and "unknown file kind '.xlsx'" in bad.stderr and "Traceback" not in bad.stderr


def test_a_missing_extra_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'falcoplug\[arrow\]'"):
        require("pyarrow")


def test_split_input_lists_files_globs_and_captures(tmp_path):
    for name in ("b.json", "a.json", "c.txt"):
        (tmp_path / name).write_text("{}")
    assert [p.input.open_params for p in split_input(open_params=str(tmp_path))] == [
        str(tmp_path / n) for n in ("a.json", "b.json", "c.txt")
    ]
    assert [p.input.open_params for p in split_input(open_params=str(tmp_path / "*.json"))] == [
        str(tmp_path / "a.json"), str(tmp_path / "b.json")]  # fmt: skip
    assert [p.input.capture for p in split_input(capture=[str(tmp_path / "a.json")])] == [str(tmp_path / "a.json")]
    assert [p.input.open_params for p in split_input(open_params=["x", "y"])] == ["x", "y"]


# -- Dask: one cluster for the module, reached by its address (the tcp:// path) -----------------------

@pytest.fixture(scope="module")
def scheduler():
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    yield cluster.scheduler_address
    cluster.close()


def _sample_events(path: Path) -> list[dict]:
    """The audit events of a sample file: one document, JSON lines, or an EventList."""
    text = path.read_text()
    try:
        docs = [json.loads(text)]
    except json.JSONDecodeError:
        docs = [json.loads(line) for line in text.splitlines() if line.strip()]
    events = [item for doc in docs for item in (doc.get("items", []) if doc.get("kind") == "EventList" else [doc])]
    return [e for e in events if isinstance(e, dict) and "auditID" in e]


def _archive(tmp_path: Path, files: int, copies: int, ordered: bool = False) -> Path:
    """A generated archive: ``files`` JSON-lines files of the sample events, each event given its own
    time so that the merge order is checkable; with ``ordered``, times that increase through the
    files, as in a log cut into hourly files."""
    lines = [json.dumps(event) for path in sorted(SAMPLES.glob("*.json")) for event in _sample_events(path)]
    folder = tmp_path / "archive"
    folder.mkdir()
    n = 0
    for f in range(files):
        with open(folder / f"audit-{f:02}.jsonl", "w") as out:
            for _ in range(copies):
                for line in lines:
                    event = json.loads(line)
                    n += 1
                    stamp = f"2024-01-{1 + (n * 7919) % 28:02}T{(n * 31) % 24:02}:{(n * 17) % 60:02}:{n % 60:02}.{n:06}Z"
                    if ordered:
                        stamp = f"2024-01-01T00:{n // 60:02}:{n % 60:02}.000000Z"
                    event["stageTimestamp"] = event["requestReceivedTimestamp"] = stamp
                    out.write(json.dumps(event) + "\n")
    return folder


def test_the_cluster_gives_the_alerts_of_one_process_in_event_time_order(tmp_path, scheduler):
    archive = _archive(tmp_path, files=4, copies=3)
    specs = (PluginSpec("k8saudit"), PluginSpec("json"))
    job = Job(specs, rules=(str(RULES),), json_lines=True)
    parts = split_input(open_params=str(archive))
    on_cluster, counts = merge(list(run_on_cluster(job, parts, scheduler)))
    here, _ = merge(list(run_here(job, parts)))
    single = detect(K8S, open=str(archive), rules=[str(RULES)])
    assert on_cluster.equals(here)
    key = ("time", "rule", "output")
    as_set = lambda t: sorted(zip(*(t.column(k).to_pylist() for k in key)))  # noqa: E731
    assert as_set(on_cluster) == as_set(single)
    times = on_cluster.column("time").cast(pa.int64()).to_pylist()
    assert times == sorted(times)
    assert counts.events == 4 * 3 * EVENTS and counts.alerts == single.num_rows
    distributed = pytest.importorskip("distributed")
    with distributed.Client(scheduler) as client:  # the workers outlive the run: they keep no inspector of it
        assert set(client.run(lambda: len(cluster_module._idle)).values()) == {0}


def test_alert_lines_merge_in_the_order_of_the_alerts_table(tmp_path):
    archive = _archive(tmp_path, files=3, copies=2)  # the same events in every file: times tie across files
    parts = split_input(open_params=str(archive))
    job = Job((PluginSpec("k8saudit"), PluginSpec("json")), rules=(str(RULES),), json_lines=True)
    table, table_counts = merge(list(run_here(job, parts)))
    lines, counts = merge_lines(list(run_here(replace(job, lines_only=True), parts)))
    assert len(lines) == table.num_rows > 0
    assert lines == table.column(JSON_COLUMN).to_pylist()
    assert counts == table_counts


def test_alert_lines_merge_is_a_stable_sort_by_time_and_concatenates_runs_in_order():
    def result(index: int, times: list[int]) -> PartitionResult:
        lines = [f"p{index}-{n}" for n in range(len(times))]
        return PartitionResult(index, AlertLines(array("Q", times), lines), Counts(events=len(times)), 0.0)

    ties = [result(1, [5, 3, 5]), result(0, [5, 1])]
    lines, counts = merge_lines(ties)
    assert lines == ["p0-1", "p1-1", "p0-0", "p1-0", "p1-2"]  # time, then partition, then place within it
    assert counts.events == 5
    ordered, _ = merge_lines([result(0, [1, 2]), result(1, [2, 9])])
    assert ordered == ["p0-0", "p0-1", "p1-0", "p1-1"]
    wrapped, _ = merge_lines([result(0, [2**64 - 5, 3]), result(1, [4])])  # a time before 1970, as a u64
    assert wrapped == ["p0-1", "p1-0", "p0-0"]
    assert merge_lines([])[0] == []


def _spilled(folder: Path, index: int, times: list[int]) -> PartitionResult:
    lines = [f"p{index}-{n}" for n in range(len(times))]
    found = AlertLines(array("Q", times), lines).spill(str(folder))
    return PartitionResult(index, found, Counts(events=len(times), alerts=len(times)), 0.0)


def test_partitions_in_order_are_printed_from_their_files_without_reading_them(tmp_path, monkeypatch):
    results = [_spilled(tmp_path, 2, [7, 9]), _spilled(tmp_path, 0, [1, 3]), _spilled(tmp_path, 1, []),
               _spilled(tmp_path, 3, [9, 12])]  # fmt: skip
    monkeypatch.setattr(cluster_module.SpilledLines, "load", lambda self: pytest.fail("lines read into Python"))
    out = tmp_path / "out"
    with out.open("w", encoding="utf-8") as sink:  # a file: the lines go by sendfile
        sink.write("first\n")  # written before the copy (the stream is flushed first)
        counts = cluster_module.write_lines(iter(results), sink)
        sink.write("last\n")  # and after it, at the end of the file
    assert out.read_text() == "first\np0-0\np0-1\np2-0\np2-1\np3-0\np3-1\nlast\n"
    assert counts.alerts == 6 and sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # the spill files removed
    appended = tmp_path / "appended"
    appended.write_text("kept\n")
    with appended.open("a", encoding="utf-8") as sink:  # sendfile refuses an output opened to append (>>)
        cluster_module.write_lines([_spilled(tmp_path, 0, [1, 2])], sink)
    assert appended.read_text() == "kept\np0-0\np0-1\n"
    import io

    monkeypatch.undo()
    text = io.StringIO()  # a stream without a file descriptor: read into Python
    cluster_module.write_lines([_spilled(tmp_path, 0, [1]), PartitionResult(1, AlertLines(array("Q", [2]), ["x"]), Counts(), 0.0)], text)
    assert text.getvalue() == "p0-0\nx\n"


def test_spilled_lines_are_printed_in_the_output_s_encoding(tmp_path):
    """A file holds UTF-8: copied only to a UTF-8 output, and only without lone surrogates (which
    the output's error handler writes as one process would)."""
    for encoding, errors, lines in (("ascii", "backslashreplace", ["caf\u00e9", "lone \udc80"]),
                                    ("utf-8", "backslashreplace", ["caf\u00e9", "lone \udc80"]),
                                    ("latin-1", "strict", ["caf\u00e9"]), ("utf-8", "strict", ["caf\u00e9"])):  # fmt: skip
        spilled = AlertLines(array("Q", range(len(lines))), lines).spill(str(tmp_path))
        assert spilled.verbatim == (len(lines) == 1)
        out, expected = tmp_path / "out", tmp_path / "expected"
        with out.open("w", encoding=encoding, errors=errors) as sink:
            cluster_module.write_lines([PartitionResult(0, spilled, Counts(), 0.0)], sink)
        with expected.open("w", encoding=encoding, errors=errors) as sink:  # as one process prints them
            sink.write("".join(line + "\n" for line in lines))
        assert out.read_bytes() == expected.read_bytes(), encoding


def test_the_order_of_many_partitions_is_checked_against_their_neighbours():
    order = cluster_module._TimeOrder()
    assert all(order.admits(i, array("Q", [10 * i, 10 * i + 5])) for i in range(0, 20000, 2))  # every other hour
    assert order.admits(5, array("Q", [50, 55])) and order.admits(7, array("Q"))  # fits its gap; empty fits anywhere
    assert not order.admits(9, array("Q", [84, 91]))  # overlaps partition 8
    assert not order.admits(11, array("Q", [111, 121]))  # overlaps partition 12
    assert not order.admits(13, array("Q", [135, 131]))  # not sorted itself
    assert order.admits(15, array("Q", [145, 160]))  # the ends may touch: ties keep the partitions' order


def test_partitions_out_of_order_are_read_as_they_come_and_sorted(tmp_path):
    results = [_spilled(tmp_path, 0, [5, 6]), _spilled(tmp_path, 1, [1, 9]), _spilled(tmp_path, 2, [7])]
    first = Path(results[0].table.path)

    def arriving():
        yield results[0]
        yield results[1]  # starts before partition 0 ends: the order is broken
        assert not first.exists(), "the partitions held are read once the order breaks"
        yield results[2]

    import io

    out = io.StringIO()
    counts = cluster_module.write_lines(arriving(), out)
    assert out.getvalue().splitlines() == ["p1-0", "p0-0", "p0-1", "p2-0", "p1-1"]
    assert counts.alerts == 5 and list(tmp_path.iterdir()) == []
    unsorted = io.StringIO()
    cluster_module.write_lines([PartitionResult(0, AlertLines(array("Q", [3, 1]), ["a", "b"]), Counts(), 0.0)], unsorted)
    assert unsorted.getvalue() == "b\na\n"


def test_a_local_cluster_over_an_ordered_archive_prints_what_one_process_prints(tmp_path):
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    archive = _archive(tmp_path, files=4, copies=1, ordered=True)
    args = ["run", "-p", f"k8saudit||{archive}", "-p", "json", "-r", str(RULES), "--json"]
    single = falcoplug(*args)
    printed = tmp_path / "alerts.json"
    printed.write_text("header\n")
    with printed.open("a") as out:  # opened to append (>>), which sendfile refuses
        local = subprocess.run([sys.executable, "-m", "falcoplug", *args, "--cluster", "local:2"], stdout=out,
                               stderr=subprocess.PIPE, text=True, timeout=120)  # fmt: skip
    assert local.returncode == 0, local.stderr
    assert len(single.stdout.splitlines()) > 100
    assert printed.read_text() == "header\n" + single.stdout  # byte for byte, in order
    quiet = falcoplug(*args, "--cluster", "local:2", "-q")
    assert quiet.stdout == "" and quiet.stderr.splitlines()[1:] == local.stderr.splitlines()[1:] == single.stderr.splitlines()[1:]


def test_groups_balance_the_partitions_by_size_and_keep_the_input_order(tmp_path):
    for name, size in [("a", 50), ("b", 10), ("c", 40), ("d", 20), ("e", 30)]:
        (tmp_path / f"{name}.json").write_bytes(b"x" * size)
    groups = groups_of(split_input(open_params=str(tmp_path)), 2)
    names = [[Path(p.input.open_params).stem for p in group] for group in groups]
    assert names == [["a", "b", "d"], ["c", "e"]]  # 80 and 70 bytes, each in the input's order
    assert len(groups_of(split_input(open_params=str(tmp_path)), 9)) == 5


def test_a_group_in_one_inspector_gives_what_each_partition_gives_alone(tmp_path):
    archive = _archive(tmp_path, files=3, copies=1)
    job = Job((PluginSpec("k8saudit"), PluginSpec("json")), rules=(str(RULES),), json_lines=True)
    parts = split_input(open_params=str(archive))
    shared = run_group(job, parts)  # stateless plugins: one inspector, the rules compiled once
    alone = list(run_here(job, parts))
    assert [r.index for r in shared] == [r.index for r in alone]
    for together, single in zip(shared, alone):
        assert together.table.num_rows > 0 and together.table.equals(single.table)
        assert together.counts == single.counts
    missing = replace(parts[1], input=replace(parts[1].input, open_params=str(archive / "gone.jsonl")))
    with pytest.raises(PartitionFailed, match="gone.jsonl"):
        run_group(job, [parts[0], missing])


def test_cli_cluster_prints_the_same_alerts_as_one_process(tmp_path, scheduler):
    archive = _archive(tmp_path, files=3, copies=1)
    args = ["run", "-p", f"k8saudit||{archive}", "-p", "json", "-r", str(RULES), "--json"]
    single = falcoplug(*args)
    cluster = falcoplug(*args, "--cluster", scheduler)
    assert cluster.returncode == 0, cluster.stderr
    one = [json.loads(line) for line in single.stdout.splitlines()]
    many = [json.loads(line) for line in cluster.stdout.splitlines()]
    drop = lambda a: {k: v for k, v in a.items() if k != "hostname"}  # noqa: E731
    assert sorted(map(json.dumps, map(drop, many))) == sorted(map(json.dumps, map(drop, one)))
    assert [a["time"] for a in many] == sorted(a["time"] for a in many)
    assert "Events detected: %d" % len(one) in cluster.stderr


def test_a_local_cluster_brings_alert_lines_back_through_files_it_removes(tmp_path):
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    archive = _archive(tmp_path, files=3, copies=1)
    temp = tmp_path / "temp"
    temp.mkdir()
    args = ["run", "-p", f"k8saudit||{archive}", "-p", "json", "-r", str(RULES), "--json"]
    single = falcoplug(*args)
    local = falcoplug(*args, "--cluster", "local:2", env={**os.environ, "TMPDIR": str(temp)})
    assert local.returncode == 0, local.stderr
    drop = lambda line: json.dumps({k: v for k, v in json.loads(line).items() if k != "hostname"})  # noqa: E731
    assert sorted(map(drop, local.stdout.splitlines())) == sorted(map(drop, single.stdout.splitlines()))
    assert list(temp.iterdir()) == []  # the spill folder and its files are gone


GO_PLUGINS = Path(os.environ.get("FALCOPLUG_SHARED_PEERS") or Path(__file__).resolve().parents[2] / "shared" / "peers") / "plugins" / "go"


@pytest.mark.skipif(not (GO_PLUGINS / "libk8saudit.so").exists(), reason=f"../shared/peers not found ({GO_PLUGINS})")
def test_a_local_cluster_runs_the_official_go_plugins(tmp_path):
    """The parent loads the plugins before its workers start (to see whether they keep state), and
    a Go plugin starts the Go runtime's threads at load: workers forked from that parent hung on
    their first call into the plugin. They start from a fork server that loaded no plugin."""
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    archive = _archive(tmp_path, files=3, copies=1, ordered=True)
    args = ["run", "-p", f"{GO_PLUGINS / 'libk8saudit.so'}||{archive}", "-p", str(GO_PLUGINS / "libjson.so"),
            "-r", str(RULES), "--json"]  # fmt: skip
    single = falcoplug(*args)
    local = falcoplug(*args, "--cluster", "local:2")
    assert single.returncode == 0 and local.returncode == 0, local.stderr
    assert len(single.stdout.splitlines()) > 30 and local.stdout == single.stdout
    # Where the fork server cannot listen (its socket's path too long), the workers are spawned,
    # never forked from the parent, which holds the Go runtime by then.
    deep = tmp_path / ("t" * 100)
    deep.mkdir()
    spawned = falcoplug("-v", *args, "--cluster", "local:2", env={**os.environ, "TMPDIR": str(deep)})
    assert spawned.returncode == 0 and "no fork server" in spawned.stderr, spawned.stderr
    assert spawned.stdout == single.stdout


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the fork server is used on Linux")
def test_local_workers_start_from_a_fork_server_or_without_one_where_it_cannot_listen(monkeypatch):
    import multiprocessing.forkserver

    monkeypatch.setattr(cluster_module, "_no_fork_server", False)
    assert cluster_module.start_local_workers() == "forkserver"

    def too_long() -> None:
        raise OSError("AF_UNIX path too long")

    monkeypatch.setattr(multiprocessing.forkserver, "ensure_running", too_long)
    # never forked from this process: a plugin loaded later would leave its threads' locks to them
    assert cluster_module.start_local_workers() == "spawn"
    assert cluster_module._no_fork_server  # not tried again in this process


def test_spilled_alert_lines_come_back_whole(tmp_path):
    lines = ["plain", "two\nlines", "caf\u00e9 \U0001f600", "", "lone \udc80 surrogate"]
    spilled = AlertLines(array("Q", [5, 4, 3, 2, 1]), lines).spill(str(tmp_path))
    assert Path(spilled.path).parent == tmp_path and list(spilled.lengths) == [len(x) for x in lines]
    assert Path(spilled.path).read_bytes() == "".join(x + "\n" for x in lines).encode("utf-8", "surrogatepass")
    back = spilled.load()
    assert back.lines == lines and list(back.times) == [5, 4, 3, 2, 1]
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "in").mkdir()
    archive = _archive(tmp_path / "in", files=2, copies=1)
    spill = tmp_path / "spill"
    spill.mkdir()
    job = Job((PluginSpec("k8saudit"), PluginSpec("json")), rules=(str(RULES),), lines_only=True, spill_dir=str(spill))
    parts = split_input(open_params=str(archive))
    returned = run_group(job, parts)  # what a worker sends back: where the lines are, not the lines
    assert all(isinstance(r.table, cluster_module.SpilledLines) for r in returned) and len(list(spill.iterdir())) == 2
    here = [r.table.lines for r in run_here(job, parts)]  # a spill folder in this process: the lines at once
    assert [r.table.load().lines for r in returned] == here and list(spill.iterdir()) == []


def test_a_run_keeps_its_inspector_between_its_groups_on_a_worker(tmp_path, monkeypatch):
    archive = _archive(tmp_path, files=3, copies=1)
    parts = split_input(open_params=str(archive))
    compiled = []
    load = cluster_module.Rules.load
    monkeypatch.setattr(cluster_module.Rules, "load", lambda *a: compiled.append(1) or load(*a))
    monkeypatch.setattr(cluster_module, "_idle", [])
    job = Job((PluginSpec("k8saudit"), PluginSpec("json")), rules=(str(RULES),), lines_only=True, run_id="run-1")
    first, second = run_group(job, parts[:2]), run_group(job, parts[2:])
    assert len(compiled) == 1  # the second group found the first one's inspector and rules
    alone = list(run_here(replace(job, run_id=""), parts))
    assert [r.table.lines for r in first + second] == [r.table.lines for r in alone]
    kept, compiled[:] = cluster_module._idle[0], []
    other = run_group(replace(job, run_id="run-2"), parts[:1])
    assert len(compiled) == 1 and [h.run_id for h in cluster_module._idle] == ["run-2"]
    assert not any(p.initialized for p in kept.plugins)  # the older run's inspector was destroyed
    assert other[0].table.lines == alone[0].table.lines
    missing = replace(parts[1], input=replace(parts[1].input, open_params=str(archive / "gone.jsonl")))
    with pytest.raises(PartitionFailed, match="gone.jsonl"):
        run_group(replace(job, run_id="run-2"), [missing])
    assert cluster_module._idle == []  # a failed group's inspector is not kept
    run_group(replace(job, run_id=""), parts[:1])
    assert cluster_module._idle == []  # a run without an id keeps nothing



def test_every_partition_on_a_kept_inspector_counts_its_events_from_one(tmp_path, monkeypatch):
    """A reused inspector reopens its input as libsinsp's open does: evt.num from 1 and evt.reltime
    from the partition's first event, as in a fresh inspector (run_here)."""
    archive = _archive(tmp_path, files=3, copies=1)
    rules = tmp_path / "numbers.yaml"
    rules.write_text(
        "- rule: every event\n  desc: each event with its number\n  condition: ka.verb exists\n"
        "  output: n=%evt.num rel=%evt.reltime verb=%ka.verb\n  priority: INFO\n  source: k8s_audit\n"
    )
    monkeypatch.setattr(cluster_module, "_idle", [])
    parts = split_input(open_params=str(archive))
    job = Job((PluginSpec("k8saudit"), PluginSpec("json")), rules=(str(rules),), lines_only=True, run_id="run-n")
    kept = run_group(job, parts[:2]) + run_group(job, parts[2:])
    alone = list(run_here(replace(job, run_id=""), parts))
    assert [r.table.lines for r in kept] == [r.table.lines for r in alone]
    assert all(r.table.lines[0].endswith(" n=1 rel=000000000 verb=create") for r in kept)

def test_cluster_events_need_out_and_write_the_table(tmp_path, scheduler):
    archive = _archive(tmp_path, files=2, copies=1)
    refused = falcoplug("run", "-p", f"k8saudit||{archive}", "-p", "json", "--cluster", scheduler)
    assert refused.returncode != 0 and "give --out FILE" in refused.stderr
    out = tmp_path / "ev.parquet"
    run = falcoplug("run", "-p", f"k8saudit||{archive}", "-p", "json", "--fields", "evt.rawtime,ka.verb",
                    "--cluster", scheduler, "--out", str(out))  # fmt: skip
    assert run.returncode == 0, run.stderr
    import pyarrow.parquet as pq

    table = pq.read_table(out)
    assert table.column_names == ["evt.rawtime", "ka.verb"] and table.num_rows == 2 * EVENTS
    times = table.column(0).cast(pa.int64()).to_pylist()
    assert times == sorted(times)


def test_a_parsing_plugin_keeps_its_input_whole():
    from falcoplug.data import stateful_plugins

    parse = build_plugin("parse_plugin")
    assert stateful_plugins([PluginSpec(str(parse))]) != []
    assert stateful_plugins([PluginSpec("k8saudit"), PluginSpec("json")]) == []


def test_bad_out_paths_and_schedulers_are_one_line_errors(tmp_path):
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    bad_out = falcoplug("run", "-p", f"k8saudit||{SAMPLES}", "-p", "json", "-o", "%evt.num", "--out",
                        str(tmp_path / "missing" / "x.csv"))  # fmt: skip
    assert bad_out.returncode == 1 and "Traceback" not in bad_out.stderr
    assert f"falcoplug: error: --out {tmp_path / 'missing' / 'x.csv'}: cannot write it" in bad_out.stderr
    nobody = falcoplug("run", "-p", f"k8saudit||{SAMPLES}", "-p", "json", "-r", str(RULES), "--cluster", "tcp://127.0.0.1:1")
    assert nobody.returncode == 1 and "Traceback" not in nobody.stderr
    assert "falcoplug: error: --cluster tcp://127.0.0.1:1: no Dask scheduler answers there" in nobody.stderr
    wrong = falcoplug("run", "-p", f"k8saudit||{SAMPLES}", "-p", "json", "-r", str(RULES), "--cluster", "local:x")
    assert wrong.returncode == 1 and "the worker count must be a number" in wrong.stderr


def test_cluster_runs_print_no_dask_chatter(tmp_path, scheduler):
    archive = _archive(tmp_path, files=2, copies=1)
    run = falcoplug("run", "-p", f"k8saudit||{archive}", "-p", "json", "-r", str(RULES), "--cluster", scheduler)
    assert run.returncode == 0, run.stderr
    assert "distributed" not in run.stderr


def test_fields_option_must_name_a_field():
    run = falcoplug("run", "-p", f"k8saudit||{SAMPLES}", "-p", "json", "--fields", ",,", "--out", "x.csv")
    assert run.returncode == 2 and "'--fields': ',,' names no field" in run.stderr


def test_an_event_before_1970_keeps_its_time_in_the_alerts_table(tmp_path):
    event = json.loads((SAMPLES / "create_configmap.json").read_text().strip().splitlines()[0])
    event = event["items"][0] if "items" in event else event
    event["stageTimestamp"] = event["requestReceivedTimestamp"] = "1969-12-31T23:59:59.000000Z"
    event["user"] = {"username": "system:anonymous"}  # raises "Anonymous Request Allowed"
    log = tmp_path / "old.jsonl"
    log.write_text(json.dumps(event) + "\n")
    table = detect(K8S, open=str(log), rules=[str(RULES)])
    assert table.num_rows >= 1
    assert table.column("time").cast(pa.int64()).to_pylist()[0] == -1_000_000_000  # k8saudit wraps it to a u64
    events = read_table(K8S, open=str(log), fields=["evt.rawtime", "ka.verb"])
    assert events.column("evt.rawtime").cast(pa.int64()).to_pylist() == [-1_000_000_000]  # not a null
