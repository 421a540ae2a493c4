"""regex and glob matching: RE2 and the star-cut glob matcher (issue 13, item 5) against the Python
``re`` translations they replaced, per call on typical values, and on hostile patterns.

    .venv/bin/python benchmarks/bench_matching.py
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from falcoplug.filter.matching import glob_matcher, glob_to_regex, regex_matcher

TYPICAL = [  # (operator, pattern, value) as rules use them
    ("regex", "/usr/(local/)?bin/[a-z]+sh", "/usr/local/bin/bash"),
    ("regex", "system:serviceaccount:kube-system:.*", "system:serviceaccount:kube-system:replicaset-controller"),
    ("glob", "/etc/*", "/etc/shadow"),
    ("glob", "*.kube-system.svc*", "api.kube-system.svc.cluster.local"),
    ("glob", "sh", "sh"),
]


def per_call(fn: Callable[[str], object], value: str, n: int = 100_000) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn(value)
    return (time.perf_counter() - start) / n * 1e9


def per_call_distinct(fn: Callable[[str], object], value: str, n: int = 20_000) -> float:
    values = [f"{value}{i}" for i in range(n)]  # every value new: no answer is reused
    start = time.perf_counter()
    for v in values:
        fn(v)
    return (time.perf_counter() - start) / n * 1e9


def main() -> None:
    print(f"{'op':6} {'pattern':40} {'python re ns':>13} {'new ns':>8} {'new, all values distinct':>25}")
    for op, pattern, value in TYPICAL:
        if op == "regex":
            old = re.compile(pattern, re.MULTILINE).fullmatch
            new = regex_matcher(pattern)
        else:
            old = re.compile(glob_to_regex(pattern), re.DOTALL).fullmatch
            new = glob_matcher(pattern)
        assert bool(old(value)) == (new(value) is not None)
        print(f"{op:6} {pattern:40} {per_call(old, value):13.0f} {per_call(new, value):8.0f} "
              f"{per_call_distinct(new, value):25.0f}")
    hostile = [("regex", "(a+)+b", "a" * 24 + "!"), ("glob", "*a" * 12 + "b", "a" * 40 + "!")]
    for op, pattern, value in hostile:
        new = regex_matcher(pattern) if op == "regex" else glob_matcher(pattern)
        start = time.perf_counter()
        new(value)
        seconds = time.perf_counter() - start
        print(f"hostile {op} {pattern[:20]!r} on {len(value)} chars: {seconds * 1e6:.0f} us (python re: minutes)")


if __name__ == "__main__":
    main()
