"""falcoplug side by side with the real libsinsp (``../shared/peers``): the targets of the compiled
event loop, as ratios measured in one run (issue 11).

Each case runs ``falcoplug run`` and the peer (``sinsp-capture`` for outputs, ``sinsp-bench`` for
runs without output) with the same plugins and arguments, best of ``--runs``; stdout goes to
/dev/null. Two ratios (libsinsp time / falcoplug time, so 0.5 means half libsinsp's speed):
``wall``, whole processes, and ``loop``, falcoplug's own event loop (its ``--summary`` time, without
the interpreter's start and imports) against libsinsp's whole process (or ``sinsp-bench``'s loop).
Peak RSS (ru_maxrss) of each side is printed. ``--scale`` multiplies the event counts (1.0: the
issue's sizes; the default 0.25 runs in a few minutes on a loaded 2-CPU machine). ``--write``
replaces this benchmark's section in ``benchmarks/RESULTS.md``.

    python benchmarks/bench_vs_libsinsp.py [--scale 1.0] [--runs 3] [--write]
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEERS = Path(os.environ.get("FALCOPLUG_SHARED_PEERS") or ROOT.parent / "shared" / "peers")
DATA = PEERS.parent / "data"
LIBS = PEERS / "plugins" / "libs-test"
GO = PEERS / "plugins" / "go"
DUMMY_C = PEERS / "plugins" / "official" / "libdummy_c.so"
FALCOPLUG = [sys.executable, "-m", "falcoplug", "run"]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
HEADING = "## Side by side with libsinsp (`benchmarks/bench_vs_libsinsp.py`)"


@dataclass
class Measure:
    seconds: float  # wall time of the process
    loop: float | None  # falcoplug's loop time (its summary), or sinsp-bench's
    rss_kb: int


@dataclass
class Case:
    name: str
    target: str
    falcoplug: list[str]
    libsinsp: list[str]
    events: int


def run(command: list[str]) -> Measure:
    # GNU time reports the peak RSS of a child it forks itself (a child forked from this Python
    # process would count the parent's pages it had before exec)
    timed = ["/usr/bin/time", "-f", "__peak_rss_kb__ %M", *command] if os.access("/usr/bin/time", os.X_OK) else command
    with open(os.devnull, "w") as devnull:
        start = time.perf_counter()
        proc = subprocess.run(timed, stdout=devnull, stderr=subprocess.PIPE, text=True)
        seconds = time.perf_counter() - start
    err = proc.stderr
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({proc.returncode}): {err[-2000:]}")
    loop = None
    found = re.search(r"Events processed: \d+ in ([0-9.]+)s", err) or re.search(r"seconds=([0-9.]+)", err)
    if found:
        loop = float(found.group(1))
    rss = re.search(r"__peak_rss_kb__ (\d+)", err)
    return Measure(seconds, loop, int(rss.group(1)) if rss else 0)


def best(command: list[str], runs: int) -> Measure:
    results = [run(command) for _ in range(runs)]
    return min(results, key=lambda m: m.loop if m.loop is not None else m.seconds)


def spec(lib: Path, config: str = "", params: str | None = None) -> str:
    return f"{lib}|{config}" + (f"|{params}" if params is not None else "")


def cases(scale: float, tmp: Path) -> list[Case]:
    n2m, n1m = max(1000, int(2_000_000 * scale)), max(1000, int(1_000_000 * scale))
    src = ["-p", spec(LIBS / "libtest_plugin_source.so", "", str(n2m)), "-p", str(LIBS / "libtest_plugin_extract.so")]
    fmt = "%evt.num %sample.hello"
    dummy = ["-p", spec(DUMMY_C, '{"jitter":10}', f'{{"start":1,"maxEvents":{n2m}}}')]
    dfmt = "%evt.num %dummy.value %dummy.strvalue"
    sysc = ["-p", spec(LIBS / "libtest_syscall_source.so", "", str(n1m)), "-p", str(LIBS / "libtest_syscall_parse.so")]
    capture = tmp / "replay.scap"
    replay_src = ["-p", spec(LIBS / "libtest_plugin_source.so", "", str(n1m)), "-p", str(LIBS / "libtest_plugin_extract.so")]
    subprocess.run([str(PEERS / "bin" / "sinsp-capture"), *replay_src, "-w", str(capture)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    replay = ["-p", str(LIBS / "libtest_plugin_source.so"), "-p", str(LIBS / "libtest_plugin_extract.so")]
    capture_cmd = [str(PEERS / "bin" / "sinsp-capture")]
    bench_cmd = [str(PEERS / "bin" / "sinsp-bench")]
    out = [
        Case("libtest_plugin_source + extract, -o", ">= 0.5", [*FALCOPLUG, *src, "-o", fmt, "--summary"],
             [*capture_cmd, *src, "-o", fmt], n2m),
        Case("the same, -q (no output)", ">= 0.5 of sinsp-bench", [*FALCOPLUG, *src, "-q", "--summary"],
             [*bench_cmd, *src], n2m),
        Case("the same, -q -f 'sample.hello = \"hello world\"'", ">= 0.5 of sinsp-bench",
             [*FALCOPLUG, *src, "-q", "--summary", "-f", 'sample.hello = "hello world"'],
             [*bench_cmd, *src, "-f", 'sample.hello = "hello world"'], n2m),
        Case("libdummy_c (C++ SDK), -o", ">= 0.5", [*FALCOPLUG, *dummy, "-o", dfmt, "--summary"],
             [*capture_cmd, *dummy, "-o", dfmt], n2m),
        Case("libtest_syscall_source + syscall_parse, -q", ">= 0.5 of sinsp-bench",
             [*FALCOPLUG, *sysc, "-q", "--summary"], [*bench_cmd, *sysc], n1m),
        Case("replay of a sinsp-capture -w capture, one field", ">= 0.5",
             [*FALCOPLUG, "-R", str(capture), *replay, "-o", "%sample.hello", "--summary"],
             [*capture_cmd, "-r", str(capture), *replay, "-o", "%sample.hello"], n1m),
    ]  # fmt: skip
    k8s = k8s_case(scale, tmp)
    if k8s is not None:
        out.append(k8s)
    return out


def k8s_case(scale: float, tmp: Path) -> Case | None:
    """The Go k8saudit + json with the official k8s rules (falcoplug -r) against libsinsp with the
    same plugins and one two-field filter (the target: at least libsinsp's rate)."""
    lines = (PEERS / "captures" / "all_k8s_audit.jsonl").read_text().splitlines()
    rules = DATA / "rules" / "k8s_audit_rules.yaml"
    if not lines or not rules.exists():
        return None
    copies = max(1, int(40 * scale))  # the Go plugins take ~0.5-2 ms per extract_fields call here
    trace = tmp / "audit.jsonl"
    trace.write_text("\n".join(lines * copies) + "\n")
    plugins = ["-p", spec(GO / "libk8saudit.so", "", str(trace)), "-p", str(GO / "libjson.so")]
    condition = "ka.verb = create and ka.target.resource = pods"
    return Case("Go k8saudit + json, k8s rules (falcoplug -r) vs a 2-field filter", ">= 1.0",
                [*FALCOPLUG, *plugins, "-r", str(rules), "--summary"],
                [str(PEERS / "bin" / "sinsp-bench"), *plugins, "-f", condition], len(lines) * copies)  # fmt: skip


def table(results: list[tuple[Case, Measure, Measure]]) -> list[str]:
    rows = [
        "| case | events | falcoplug s (loop s) | libsinsp s (loop s) | ratio wall | ratio loop | RSS MB falcoplug / libsinsp | target |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for case, mine, peer in results:
        peer_time = peer.loop if peer.loop is not None else peer.seconds
        loop_ratio = peer_time / mine.loop if mine.loop else float("nan")
        rows.append(
            f"| {case.name} | {case.events:,} | {mine.seconds:.2f} ({mine.loop or 0:.2f}) | {peer.seconds:.2f} "
            f"({peer_time:.2f}) | {peer.seconds / mine.seconds:.2f} | {loop_ratio:.2f} | "
            f"{mine.rss_kb / 1024:.0f} / {peer.rss_kb / 1024:.0f} | {case.target} |"
        )
    return rows


def write_results(rows: list[str], scale: float, runs: int) -> None:
    from _common import machine

    today = datetime.date.today().isoformat()
    section = [
        HEADING, "",
        f"{today}, {machine()}. Scale {scale} of the issue's event counts, best of {runs}, measured side by",
        "side in one run while other work loaded the machine (figures are noisy; ratios are what counts).",
        "Ratio = libsinsp time / falcoplug time; `loop` uses falcoplug's own loop time (without interpreter",
        "start and imports, about 1-2 s here) against libsinsp's process (or sinsp-bench's loop).", "",
        *rows, "",
    ]  # fmt: skip
    text = RESULTS.read_text()
    start = text.find(HEADING)
    if start >= 0:
        end = text.find("\n## ", start + len(HEADING))
        text = text[:start] + "\n".join(section) + (text[end + 1 :] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(section)
    RESULTS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.25)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default=None, help="run the cases whose name contains this text")
    parser.add_argument("--write", action="store_true", help="write the table into benchmarks/RESULTS.md")
    args = parser.parse_args()
    if not os.access(PEERS / "bin" / "sinsp-capture", os.X_OK):
        sys.exit(f"../shared/peers not found ({PEERS}): nothing to compare with")
    # falcoplug's start as installed: with its byte code (an editable install under
    # PYTHONDONTWRITEBYTECODE would compile every module at every start)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True, stdout=subprocess.DEVNULL)
    results = []
    with tempfile.TemporaryDirectory(prefix="falcoplug-vs-sinsp-") as tmp:
        for case in cases(args.scale, Path(tmp)):
            if args.only and args.only not in case.name:
                continue
            mine, peer = best(case.falcoplug, args.runs), best(case.libsinsp, args.runs)
            results.append((case, mine, peer))
            print(table([(case, mine, peer)])[-1], flush=True)
    rows = table(results)
    print("\n".join(rows))
    if args.write:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        write_results(rows, args.scale, args.runs)


if __name__ == "__main__":
    main()
