"""Several live sources at once: one inspector per source, each read in its own thread."""

from __future__ import annotations

import threading

import pytest
from cbuild import build_plugin

from falcoplug.errors import PluginError
from falcoplug.framework import Inspector
from falcoplug.framework.multisource import MultiSource


@pytest.fixture(scope="module")
def libs() -> dict[str, str]:
    return {
        "src": str(build_plugin("source_plugin")),
        "sys": str(build_plugin("sysgen_plugin")),
        "parse": str(build_plugin("parse_plugin")),
        "ext": str(build_plugin("extractor_plugin")),
    }


def plugin_source_inspector(libs, params: str = "count=300,batch=7") -> Inspector:
    host = Inspector()
    host.load(libs["src"], "")
    host.load(libs["ext"], "")
    host.load(libs["parse"], "key=3")
    host.open("testsrc", params)
    return host


def syscall_inspector(libs, params: str = "count=200,batch=5,tids=1:2:3:4") -> Inspector:
    host = Inspector()
    host.load(libs["sys"], "")
    host.load(libs["parse"], "")
    host.open("testsys", params)
    return host


def test_batches_come_tagged_with_their_source(libs):
    hosts = [plugin_source_inspector(libs), syscall_inspector(libs)]
    counts = {"test": 0, "syscall": 0}
    values: dict[str, list[object]] = {"test": [], "syscall": []}
    for source, batch in MultiSource(hosts):
        assert source == batch.source and batch.host in hosts
        counts[source] += len(batch)
        # the consumer extracts while the source's thread waits: plugin state is consistent
        fields = ["parse.last_num", "evt.num"] + (["ext.u64"] if source == "test" else [])
        for _, row in batch.host.plan(source, fields).rows(batch):
            assert row[0] == row[1]
            values[source].append(row[-1])
    assert counts == {"test": 300, "syscall": 200}
    assert values["test"] == [2 * n for n in range(300)]
    assert [hosts[1].threads.value(t, "testparse.count") for t in (1, 2, 3, 4)] == [50] * 4
    for host in hosts:
        host.destroy()


def test_processing_in_the_source_threads(libs):
    hosts = [plugin_source_inspector(libs), syscall_inspector(libs)]
    threads: dict[str, set[str]] = {"test": set(), "syscall": set()}

    def process(batch):  # type: ignore[no-untyped-def]
        threads[batch.source].add(threading.current_thread().name)
        plan = batch.host.plan(batch.source, ["evt.num", "evt.source"])
        return [f"{row[1]}:{row[0]}" for _, row in plan.rows(batch)]

    got = list(MultiSource(hosts, process))
    assert len(got) == 500
    assert [line for source, line in got if source == "test"] == [f"test:{n}" for n in range(1, 301)]
    assert [line for source, line in got if source == "syscall"] == [f"syscall:{n}" for n in range(1, 201)]
    assert all(len(names) == 1 and threading.current_thread().name not in names for names in threads.values())
    assert threads["test"] != threads["syscall"]
    for host in hosts:
        host.destroy()


def test_an_error_stops_every_source(libs):
    failing = plugin_source_inspector(libs, "count=50,batch=5,fail_at=20")
    endless = syscall_inspector(libs, "count=10,forever=1")
    with pytest.raises(PluginError, match="failed at event 20"):
        for _ in MultiSource([failing, endless]):
            pass
    failing.destroy()
    endless.destroy()


def test_stopping_early_interrupts_idle_sources(libs):
    endless = [syscall_inspector(libs, "count=3,forever=1"), syscall_inspector(libs, "count=3,forever=1")]
    multi = MultiSource(endless)
    seen = 0
    for _source, batch in multi:
        seen += len(batch)
        if seen >= 6:
            break
    multi.stop()
    assert seen == 6
    for host in endless:
        host.destroy()


def test_several_live_sources_share_required_plugin_versions_and_one_summary(libs, tmp_path):
    """As Falco's one rules engine: any loaded plugin satisfies required_plugin_versions (each input
    runs in an inspector of its own), and one summary counts the alerts of every source."""
    from click.testing import CliRunner

    from falcoplug.cli.main import main

    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "- required_plugin_versions:\n  - {name: testsrc, version: 0.2.0}\n  - {name: broken, version: 0.1.0}\n"
        "- rule: from test\n  desc: d\n  condition: evt.num > 0\n  output: test %evt.num\n  priority: WARNING\n"
        "  source: test\n"
        "- rule: from broken\n  desc: d\n  condition: broken.value exists\n  output: broken %broken.value\n"
        "  priority: INFO\n  source: broken\n"
    )
    broken = str(build_plugin("broken_plugin", {}))
    result = CliRunner().invoke(main, ["run", "-p", libs["src"] + "||count=3", "-p", broken + "||", "-p", libs["ext"],
                                       "-r", str(rules)])  # fmt: skip
    assert result.exit_code == 0, result.output
    # (the extractor's suggested output fields follow, as in Falco)
    assert sorted(line.split(": ", 1)[1].split(" test_value")[0] for line in result.stdout.splitlines()) == [
        "Informational broken 0", "Informational broken 1", "Warning test 1", "Warning test 2", "Warning test 3"
    ]  # fmt: skip
    summary = result.stderr[result.stderr.index("Events detected"):].splitlines()
    assert summary == ["Events detected: 5", "Rule counts by severity:", "   WARNING: 3", "   INFO: 2",
                       "Triggered rules by rule name:", "   from test: 3", "   from broken: 2"]  # fmt: skip
