"""``falcoplug falco``'s cost: the same audit log and official rules through ``falcoplug run -r``
(the pipeline alone) and ``falcoplug falco`` (Falco's outputs behind the queue: stdout, then stdout
+ file + program), wall time per run, startup included; and the startup of a one-event run beside
the real Falco 0.44.1 (no bulk figure for it: on a multi-line audit log, Falco with the Go k8saudit
had not ended after 120 s here).

    python benchmarks/bench_falco.py [--events 20000] [--runs 3]

Needs ../shared/peers (the real Falco and the official Go plugins) and ../shared/data.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
PEERS = SHARED / "peers"


def config(tmp: Path, log: Path, bundled: bool, outputs: bool) -> Path:
    lib = (lambda name: name) if bundled else (lambda name: str(PEERS / "plugins" / "go" / f"lib{name}.so"))
    text = (
        "plugins:\n"
        f"  - {{name: k8saudit, library_path: {lib('k8saudit')}, init_config: '', open_params: {log}}}\n"
        f"  - {{name: json, library_path: {lib('json')}, init_config: ''}}\n"
        "load_plugins: [k8saudit, json]\nstdout_output: {enabled: true}\n"
    )
    if outputs:
        text += (f"file_output: {{enabled: true, keep_alive: true, filename: {tmp / 'alerts.txt'}}}\n"
                 f"program_output: {{enabled: true, keep_alive: true, program: 'cat > /dev/null'}}\n")  # fmt: skip
    path = tmp / f"falco-{'bundled' if bundled else 'go'}-{int(outputs)}.yaml"
    path.write_text(text)
    return path


def timed(cmd: list[str], runs: int) -> tuple[float, int]:  # best wall time, alerts printed
    best, alerts = float("inf"), 0
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        best = min(best, time.perf_counter() - started)
        alerts = sum(1 for line in proc.stdout.splitlines() if ": " in line and line[:2].isdigit())
    return best, alerts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    falco = PEERS / "bin" / "falco"
    sample = PEERS / "captures" / "all_k8s_audit.jsonl"
    rules = SHARED / "data" / "rules" / "k8s_audit_rules.yaml"
    if not (falco.exists() and sample.exists()):
        sys.exit("needs ../shared/peers (falco, Go plugins, captures/all_k8s_audit.jsonl)")
    lines = sample.read_text().splitlines()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        log = tmp / "audit.jsonl"
        log.write_text("\n".join(lines[i % len(lines)] for i in range(args.events)) + "\n")
        ours = [sys.executable, "-m", "falcoplug", "falco"]
        pipeline = [sys.executable, "-m", "falcoplug", "run", "-p", f"k8saudit|{{}}|{log}", "-p", "json",
                    "-r", str(rules)]  # fmt: skip
        seconds, alerts = timed(pipeline, args.runs)
        print(f"{'falcoplug run -r (bundled plugins)':<55} {seconds:6.2f} s  {args.events / seconds:8,.0f} events/s  {alerts} alerts")
        for label, outputs in (("falcoplug falco, stdout", False), ("falcoplug falco, stdout + file + program", True)):
            full = [*ours, "-c", str(config(tmp, log, True, outputs)), "-r", str(rules), "--disable-source=syscall"]
            seconds, alerts = timed(full, args.runs)
            print(f"{label:<55} {seconds:6.2f} s  {args.events / seconds:8,.0f} events/s  {alerts} alerts")
        one = SHARED / "data" / "k8s_audit" / "create_configmap.json"
        for label, cmd, bundled in (("startup: falco 0.44.1, Go plugins, 1 event", [str(falco)], False),
                                    ("startup: falcoplug falco, Go plugins, 1 event", ours, False)):  # fmt: skip
            full = [*cmd, "-c", str(config(tmp, one, bundled, False)), "-r", str(rules), "--disable-source=syscall"]
            seconds, _ = timed(full, args.runs)
            print(f"{label:<55} {seconds:6.2f} s")

if __name__ == "__main__":
    main()
