"""The bundled cloudtrail plugin: events per second reading CloudTrail files, alone and under the
official rules (aws_cloudtrail_rules.yaml, with the json plugin), in-process and built into a
library loaded through the C adapter.

    python benchmarks/bench_cloudtrail.py [--events N] [--files N] [--runs N]

The input is synthetic: the records of tests/data/cloudtrail (rule triggers and field cases),
repeated with new IDs and spread over gzipped files, so that the rules both fire and, mostly,
do not (about half of the records trigger a rule).
"""

from __future__ import annotations

import argparse
import gzip
import json
import tempfile
from pathlib import Path

from _common import ROOT, best_of, machine, timed

from falcoplug.export import build_library
from falcoplug.framework import Inspector
from falcoplug.pipeline import Pipeline, Rules, RuleSettings

DATA = ROOT / "tests" / "data" / "cloudtrail"
RULES = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "rules" / "aws_cloudtrail_rules.yaml"


def make_logs(directory: Path, events: int, files: int) -> int:
    """``files`` gzipped CloudTrail files holding ``events`` records in all; returns the number of
    records the plugin turns into events."""
    base = [
        rec
        for name in ("rule_triggers.json", "field_cases.json")
        for rec in json.loads((DATA / name).read_text())["Records"]
        if "eventTime" in rec and rec.get("eventType", "").startswith("Aws") and "Insight" not in rec["eventType"]
        and "T" in rec["eventTime"]
    ]  # fmt: skip
    per_file = events // files
    for f in range(files):
        records = [dict(base[i % len(base)], eventID=f"bench-{f}-{i}") for i in range(per_file)]
        path = (
            directory
            / f"2024/06/{f:02d}"
            / f"111122223333_CloudTrail_us-east-1_202406{f:02d}T0000Z_x.json.gz"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(json.dumps({"Records": records}).encode(), compresslevel=1))
    return per_file * files


def run(location: str, logs: str, with_rules: bool) -> tuple[int, float]:
    host = Inspector()
    host.load(location, "")
    host.load("json", "")
    pipeline = Pipeline(host, rules=Rules.load(host, [RULES], RuleSettings())) if with_rules else None
    host.open("cloudtrail", logs)

    def loop() -> int:
        n = alerts = 0
        for batch in host.batches():
            n += len(batch)
            if pipeline is not None:
                alerts += sum(1 for _ in pipeline.alerts(batch))
        return n

    result = timed(loop)
    host.destroy()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        logs = Path(tmp) / "logs"
        count = make_logs(logs, args.events, args.files)
        lib = str(build_library("falcoplug.plugins.cloudtrail", Path(tmp) / "libcloudtrail.so"))
        print(f"# cloudtrail: {count} records in {args.files} gzipped files; {machine()}")
        print("| plugin | rules | events | seconds | events/s |")
        print("|---|---|---:|---:|---:|")
        for label, location in (("in-process", "cloudtrail"), ("built .so", lib)):
            for with_rules in (False, True):
                n, secs = best_of(args.runs, lambda loc=location, r=with_rules: run(loc, str(logs), r))
                assert n == count, (n, count)
                rules = "official (20 enabled)" if with_rules else "none (sourcing only)"
                print(f"| {label} | {rules} | {n} | {secs:.3f} | {n / secs:,.0f} |")


if __name__ == "__main__":
    main()
