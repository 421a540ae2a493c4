"""Falco rules over a real plugin source: 50 rules on the C test source + extractor plugins,
against the same events with no rules, in the same run.

    python benchmarks/bench_rules_plugins.py [--events N]

"no rules" sources the events and extracts every field the rules read (so the comparison isolates
what the rules cost); "sourcing only" is shown too.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _common import best_of, cbuild, machine, timed

from falcoplug.framework import Inspector
from falcoplug.framework.values import FieldGroups
from falcoplug.pipeline import Pipeline, Rules, RuleSettings


def rules_text(n: int = 50) -> str:
    items = ["- required_engine_version: 10", "- list: labels\n  items: [a1, a7, b9, a11]",
             "- macro: odd_event\n  condition: ext.bool = false and test.even = false"]  # fmt: skip
    # Like real Falco rules, each rule starts with a selective check on a discriminating field
    # (as k8s rules start with ka.verb / ka.target.resource), then narrows down.
    shapes = [
        "ext.str = v{k}",
        "test.value in ({k}, {k2}, {k3}) and ext.u64 > 10",
        "ext.str in (v{k}, v{k2}) and ext.list.str intersects (labels) and test.value > {k}",
        "test.value = {k} and odd_event and ext.str startswith v{k} and ext.u64 < {k2}",
        "ext.str = v{k2} and (ext.key[x] = 'x={k}' or (ext.odd exists and ext.odd = odd{k}))",
        "test.str in ({k}, {k3}) and test.str contains {k} and not ext.bool = true",
        "ext.str in (v{k}, v{k3}) and ext.str glob 'v{k}*' and test.value != 0",
        "test.value = {k2} and ext.ip4 = 10.0.0.{b} and ext.idx[2] > 3",
    ]
    for i in range(n):
        k = 1000 + i * 37
        cond = shapes[i % len(shapes)].format(k=k, k2=k + 1, k3=k + 2, b=k % 256)
        items.append(
            f"- rule: rule {i}\n  desc: benchmark rule {i}\n  condition: {cond}\n"
            f"  output: 'rule {i} fired (value=%test.value str=%ext.str)'\n  priority: WARNING\n  source: test"
        )
    return "\n".join(items) + "\n"


def host(src: str, ext: str, params: str) -> Inspector:
    h = Inspector()
    h.load(src, "{}")
    h.load(ext)
    h.open("testsrc", params)
    return h


def run_rules(src: str, ext: str, params: str, rules_path: str) -> tuple[int, float]:
    h = host(src, ext, params)
    pipeline = Pipeline(h, rules=Rules.load(h, [rules_path], RuleSettings()))
    alerts = 0

    def loop() -> int:
        nonlocal alerts
        n = 0
        for batch in h.batches():
            alerts += sum(1 for _ in pipeline.alerts(batch))
            n += len(batch)
        return n

    result = timed(loop)
    h.destroy()
    return result


def run_no_rules(src: str, ext: str, params: str, rules_path: str, extract: bool) -> tuple[int, float]:
    h = host(src, ext, params)
    rules = Rules.load(h, [rules_path], RuleSettings())
    assert rules.engine is not None
    groups = FieldGroups(h, "test", rules.engine.fields("test"))
    plans = {id(p): p for p in groups.plans.values()}.values()

    def loop() -> int:
        n = 0
        for batch in h.batches():
            if extract:
                for plan in plans:
                    plan.columns(batch)
            n += len(batch)
        return n

    result = timed(loop)
    h.destroy()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    src, ext = str(cbuild.build_plugin("source_plugin")), str(cbuild.build_plugin("extractor_plugin"))
    params = f"count={args.events},batch=4096"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rules.yaml"
        path.write_text(rules_text())
        with_rules = best_of(args.runs, lambda: run_rules(src, ext, params, str(path)))
        no_rules = best_of(args.runs, lambda: run_no_rules(src, ext, params, str(path), True))
        sourcing = best_of(args.runs, lambda: run_no_rules(src, ext, params, str(path), False))
    print(f"machine: {machine()}")
    print(f"{'case':40} {'events/s':>12}")
    for label, (n, secs) in (("sourcing only", sourcing), ("no rules (extract the rules' fields)", no_rules),
                             ("50 rules", with_rules)):  # fmt: skip
        print(f"{label:40} {n / secs:>12,.0f}")
    print(f"rules cost: {with_rules[1] / with_rules[0] / (no_rules[1] / no_rules[0]):.2f}x the no-rules run")


if __name__ == "__main__":
    main()
