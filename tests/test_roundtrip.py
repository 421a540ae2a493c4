"""The round trip: each example plugin gives the same events and field values when it runs
in-process, when its built library is loaded by falcoplug through the C adapter, and when that
library is driven by the plain C host."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from falcoplug.abi.ffi import fastpath
from falcoplug.filter.render import render_text
from falcoplug.framework import Inspector

from sdk_plugins.support import EXAMPLES, example, run_host


@dataclass(frozen=True)
class Case:
    """One example run: the sourcing plugin, extractor plugins, and what to ask."""

    source: str
    config: str
    params: str
    fields: tuple[str, ...]
    extractors: tuple[tuple[str, str], ...] = ()
    wall_clock_ts: bool = False  # the plugin stamps events with the current time

    def locations(self, built: bool) -> tuple[str, list[tuple[str, str]]]:
        def where(name: str) -> str:
            return str(example(name)) if built else str(EXAMPLES / f"{name}.py")

        return where(self.source), [(where(name), cfg) for name, cfg in self.extractors]


EVENTS_FILE = str(EXAMPLES / "data" / "events.jsonl")
CASES = {
    "dummy": Case(
        "dummy", '{"jitter": 0}', '{"start": 5, "maxEvents": 40}',
        ("dummy.value", "dummy.strvalue", "dummy.divisible[3]", "dummy.divisible[7]", "evt.plugininfo"),
        wall_clock_ts=True,
    ),
    "dummy+dummystats": Case(
        "dummy", '{"jitter": 0}', '{"maxEvents": 30}',
        ("dummy.value", "dummystats.parity", "dummystats.digits", "dummystats.digits[2]", "dummystats.prime",
         "dummystats.divisors"),
        extractors=(("dummystats", ""),), wall_clock_ts=True,
    ),
    "jsonl": Case(
        "jsonl", "", EVENTS_FILE,
        ("jsonl.value[user]", "jsonl.value[session.id]", "jsonl.value[tags]", "jsonl.num[bytes]",
         "jsonl.has[session]", "jsonl.keys", "jsonl.time", "jsonl.ip[src_ip]", "jsonl.raw", "evt.plugininfo"),
    ),
}  # fmt: skip


def host_run(case: Case, built: bool) -> tuple[list[bytes], list[list[object]], list[str]]:
    """Events (bytes), rows of values, and the lines the C host would print, from falcoplug."""
    source, extractors = case.locations(built)
    insp = Inspector()
    plugin = insp.load(source, case.config)
    for location, config in extractors:
        insp.load(location, config)
    insp.open(plugin.name, case.params)
    plan = insp.plan(plugin.event_source, case.fields)
    events, rows, lines = [], [], []
    for batch in insp.batches():
        for event, row in plan.rows(batch):
            events.append(event.data)
            rows.append(row)
            head = f"{event.num} {event.ts} {event.type} {event.plugin_id} {event.payload.hex() or '-'}"
            values = " ".join(f"{b.text}={render_text(b.info, v)}" for b, v in zip(plan.fields, row) if b.text != "evt.plugininfo")
            lines.append(f"{head} {values}")
    insp.destroy()
    return events, rows, lines


def without_ts(events: list[bytes]) -> list[bytes]:
    return [e[:0] + bytes(8) + e[8:] for e in events]


def drop_ts(lines: list[str]) -> list[str]:
    return [" ".join(part for k, part in enumerate(line.split(" ")) if k != 1) for line in lines]


@pytest.mark.parametrize("name", list(CASES))
def test_in_process_and_built_library_agree(name):
    case = CASES[name]
    events, rows, _ = host_run(case, built=False)
    built_events, built_rows, _ = host_run(case, built=True)
    assert len(events) == len(built_events) > 0
    if case.wall_clock_ts:
        events, built_events = without_ts(events), without_ts(built_events)
    assert built_events == events
    assert built_rows == rows


@pytest.mark.parametrize("name", list(CASES))
def test_c_host_agrees(name):
    case = CASES[name]
    _, _, lines = host_run(case, built=False)
    source, _ = case.locations(built=True)
    extractors = [(str(example(n)), cfg) for n, cfg in case.extractors]
    fields = [f for f in case.fields if f != "evt.plugininfo"]  # a framework field, not a plugin's
    proc = run_host("dump", source, case.config, case.params, *fields, extractors=extractors)
    assert proc.returncode == 0, proc.stderr
    expected = proc.stdout.splitlines()
    if case.wall_clock_ts:
        lines, expected = drop_ts(lines), drop_ts(expected)
    assert lines == expected


def test_dummy_events_are_the_official_plugins():
    """With jitter 0 the official Go plugin's samples are start+1, start+2, ...; its events are
    plugin events of ID 3 whose payload is the sample in decimal, rendered {"sample": "<n>"}."""
    case = CASES["dummy"]
    events, rows, _ = host_run(case, built=True)
    assert [e[38:] for e in events] == [str(5 + k).encode() for k in range(1, 41)]
    assert all(e[20:22] == (322).to_bytes(2, "little") and e[34:38] == (3).to_bytes(4, "little") for e in events)
    assert [row[-1] for row in rows] == [f'{{"sample": "{5 + k}"}}' for k in range(1, 41)]
    ts = [int.from_bytes(e[:8], "little") for e in events]
    assert ts == sorted(ts) and ts[0] > 1_600_000_000 * 10**9  # stamped with the current time, as in Go


def test_jsonl_progress_moves_through_the_file():
    insp = Inspector()
    insp.load(str(example("jsonl")), "")
    insp.open("jsonl", EVENTS_FILE)
    seen = []
    for _batch in insp.batches():
        seen.append(insp.progress())
    insp.destroy()
    size = Path(EVENTS_FILE).stat().st_size
    if fastpath is None:  # the compiled core gathers this small file's batches into one host batch
        assert len(seen) > 1 and seen[0][0] < 100.0 < seen[-1][0] + 1e-9
    assert seen[-1][0] == 100.0
    assert seen[-1][1] == f"{size}/{size} bytes"
