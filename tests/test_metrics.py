"""Metrics: plugin metrics named as libsinsp names them, the inspector's counters, and the lines
``falcoplug run --metrics`` prints."""

from __future__ import annotations

import json

import pytest
from cbuild import build_plugin

from falcoplug.backend import Metric
from falcoplug.framework import Inspector
from falcoplug.framework.metrics import MetricsReporter, collect, format_metrics


@pytest.fixture(scope="module")
def libs() -> dict[str, str]:
    return {
        "broken": str(build_plugin("broken_plugin", {"WITH_METRICS": None})),
        "sys": str(build_plugin("sysgen_plugin")),
        "parse": str(build_plugin("parse_plugin")),
    }


def test_inspector_metrics(libs):
    host = Inspector()
    host.load(libs["sys"], "")
    host.load(libs["parse"], "")
    host.open("testsys", "count=7,tids=1:2")
    list(host.batches())
    metrics = {m.name: m for m in host.metrics()}
    assert metrics["testparse.parsed"].value == 7 and metrics["testparse.parsed"].monotonic
    assert metrics["falcoplug.n_evts"].value == 7
    assert metrics["falcoplug.n_threads"].value == 2 and not metrics["falcoplug.n_threads"].monotonic
    assert metrics["falcoplug.n_async_evts_drops_full"].value == 0


def test_metric_lines(libs):
    host = Inspector()
    host.load(libs["broken"], "")
    host.open("broken", "")
    list(host.batches())
    items = collect(host)
    assert {s for s, _ in items} == {"broken"}
    text = format_metrics(items, style="text")
    assert "broken.next_calls 2" in text and "broken.ratio 0.5" in text
    (line,) = format_metrics(items, style="json", ts_ns=42)
    doc = json.loads(line)
    assert doc["ts"] == 42 and doc["metrics"]["broken.next_calls"] == 2 and doc["metrics"]["broken.ratio"] == 0.5
    prom = format_metrics(items, style="prometheus")
    assert "# TYPE falcosecurity_broken_next_calls_total counter" in prom
    assert 'falcosecurity_broken_next_calls_total{source="broken"} 2' in prom
    assert "# TYPE falcosecurity_broken_ratio gauge" in prom
    with pytest.raises(ValueError):
        format_metrics(items, style="xml")


def test_several_sources_are_labelled():
    items = [("a", Metric("x.n", 1)), ("b", Metric("x.n", 2))]
    assert format_metrics(items) == ["x.n{source=a} 1", "x.n{source=b} 2"]
    assert json.loads(format_metrics(items, style="json", ts_ns=0)[0])["metrics"] == {"a.x.n": 1, "b.x.n": 2}
    prom = format_metrics(items, style="prometheus")
    assert prom.count("# TYPE falcosecurity_x_n_total counter") == 1


def test_reporter_writes_when_due(libs):
    host = Inspector()
    host.load(libs["broken"], "")
    host.open("broken", "")
    lines: list[str] = []
    reporter = MetricsReporter(host, lines.append, interval=3600)
    assert not reporter.tick() and not lines
    assert reporter.tick(force=True) and any(line.startswith("broken.next_calls ") for line in lines)
    with pytest.raises(ValueError):
        MetricsReporter(host, lines.append, interval=0)
