"""The k8saudit webhook's sustained throughput with the official rules, and what a hostile load
does to it: clients in another process POST audit events to 127.0.0.1 while falcoplug runs
``k8s_audit_rules.yaml`` on them, as ``falcoplug run -r`` does (alerts formatted).

    python benchmarks/bench_webhook.py [--events 20000] [--connections 4] [--runs 2]
                                       [--plugin k8saudit ...] [--output FILE]

Cases, each run until every event sent came out of the stream (or a 120 s watchdog):

* one event per POST (keep-alive connections, ``--connections`` of them);
* 51-event EventLists (the 51 bundled sample events per POST);
* one event per POST while hostile clients hammer the server at the same time (garbage, deep
  nesting, negative chunk sizes, oversized bodies, abrupt disconnects, slow heads).

Figures: events/s from the first POST to the last event through the rules (best and median run);
CPU us/event, the falcoplug process's CPU time (server, decoding, rules and alerts) per event, is
steadier than wall time on a loaded machine; ``lost`` is events sent (answered 200) minus events
seen, which must be 0. ``--plugin`` takes several plugin references
(a bundled name or ``package.module``) to measure two versions side by side in one run. The clients
are bounded in count (``--events``) and time, talk to 127.0.0.1 only, and stop by themselves.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from _common import machine

from falcoplug.framework import Inspector
from falcoplug.pipeline import Pipeline, Rules

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "falcoplug" / "plugins" / "data"
RULES = DATA / "rules" / "k8s_audit_rules.yaml"
BATCH = 51
MODES = ("single", "batch", "single+hostile")
LABELS = {"single": "one event per POST", "batch": f"{BATCH}-event EventLists",
          "single+hostile": "one event per POST, hostile clients alongside"}  # fmt: skip


def samples() -> list[bytes]:
    """The bundled sample audit events, one JSON text each."""
    out = []
    for sample in sorted((DATA / "k8s_audit").glob("*.json")):
        for line in sample.read_bytes().splitlines():
            if line.strip() and b'"auditID"' in line:
                out.append(line)
    return out


# -- the client process ------------------------------------------------------------------------------------

_AUDIT_ID = re.compile(rb'"auditID":"([^"]*)"')


def _bodies(mode: str, events: int, worker: int, workers: int) -> list[bytes]:
    """This worker's POST bodies: its share of ``events`` copies of the samples, unique auditIDs."""
    lines = samples()
    mine = [n for n in range(events) if n % workers == worker]
    docs = [_AUDIT_ID.sub(lambda m: b'"auditID":"w%d-%d"' % (worker, n), lines[n % len(lines)], count=1) for n in mine]
    if mode == "batch":
        return [b'{"kind":"EventList","items":[' + b",".join(docs[i:i + BATCH]) + b"]}" for i in range(0, len(docs), BATCH)]
    return docs


def _post_all(port: int, bodies: list[bytes], sent: list[int]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for body in bodies:
        conn.request("POST", "/k8s-audit", body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        if resp.status == 200:
            sent[0] += body.count(b'"auditID"')
    conn.close()


def _hostile(port: int, stop: threading.Event) -> None:
    head = b"POST /k8s-audit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    payloads = [  # (request, whether to wait for the answer)
        (head + b"Content-Length: 200000\r\n\r\n" + b"[" * 100_000 + b"]" * 100_000, True),
        (head + b"Transfer-Encoding: chunked\r\n\r\n-5\r\n" + b"z" * 100 + b"\r\n0\r\n\r\n", True),
        (head + b"Content-Length: 99999999999\r\n\r\n", True),
        (b"GARBAGE\x00\xff" * 50 + b"\r\n\r\n", True),
        (head + b"Content-Length: 5000\r\n\r\n{\"kind\":\"Event\"", False),  # gone in the middle
        (b"POST /k8s-audit HTTP/1.1\r\nHo", False),  # gone in the middle of the head
    ]
    while not stop.is_set():
        for data, answer in payloads:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                    s.sendall(data)
                    if answer:
                        s.recv(1024)
            except OSError:
                pass


def client(port: int, mode: str, events: int, connections: int) -> None:
    """Run in the client process: POST the events, print how many were answered 200."""
    stop = threading.Event()
    hostile = [threading.Thread(target=_hostile, args=(port, stop), daemon=True) for _ in range(2)] if "hostile" in mode else []
    for t in hostile:
        t.start()
    counts = [[0] for _ in range(connections)]
    workers = [threading.Thread(target=_post_all, args=(port, _bodies(mode.split("+")[0], events, i, connections), counts[i]))
               for i in range(connections)]  # fmt: skip
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    stop.set()
    print(sum(c[0] for c in counts), flush=True)


# -- the server side ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_case(plugin: str, mode: str, events: int, connections: int) -> dict:
    host = Inspector()
    k8saudit = host.load(plugin)
    host.load("json")
    port = free_port()
    host.open(k8saudit, f"http://127.0.0.1:{port}/k8s-audit")
    pipeline = Pipeline(host, rules=Rules.load(host, [RULES]))
    proc = subprocess.Popen([sys.executable, __file__, "--client", str(port), mode, str(events), str(connections)],
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    watchdog = threading.Timer(120, host.interrupt)
    watchdog.start()
    cpu = time.process_time()
    start = time.perf_counter()
    seen = alerts = 0
    last = start
    try:
        for batch in host.batches():
            seen += len(batch)
            alerts += len(pipeline.lines(batch))
            last = time.perf_counter()
            if seen >= events:
                break
    finally:
        cpu = time.process_time() - cpu
        watchdog.cancel()
        out, _ = proc.communicate(timeout=120)
        host.destroy()
    sent = int(out.strip() or 0)
    seconds = last - start
    return {"plugin": plugin, "case": LABELS[mode], "sent": sent, "seen": seen, "lost": sent - seen,
            "alerts": alerts, "seconds": seconds, "events_per_s": seen / seconds if seconds else 0.0,
            "cpu_us_per_event": 1e6 * cpu / max(seen, 1)}  # fmt: skip


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        port, mode, events, connections = sys.argv[2:6]
        client(int(port), mode, int(events), int(connections))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--plugin", action="append", help="plugin reference(s) to compare (default: k8saudit)")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--output", type=Path, help="write the results as markdown to this file")
    args = parser.parse_args()
    plugins = args.plugin or ["k8saudit"]
    print(f"# {args.events} events per case, {args.connections} connections ({machine()})", file=sys.stderr)
    results = []
    for mode in args.modes.split(","):
        for _ in range(args.runs):  # plugins alternate, so that both see the same machine load
            for plugin in plugins:
                row = run_case(plugin, mode, args.events, args.connections)
                print(json.dumps(row), file=sys.stderr)
                results.append(row)
    best: dict[tuple[str, str], dict] = {}
    for row in results:
        key = (row["plugin"], row["case"])
        if key not in best or row["events_per_s"] > best[key]["events_per_s"]:
            best[key] = row
    lines = ["| plugin | case | events/s (best) | events/s (median) | CPU us/event (best) | alerts | lost |",
             "|---|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for row in best.values():
        runs = [r for r in results if (r["plugin"], r["case"]) == (row["plugin"], row["case"])]
        lost = max(r["lost"] for r in runs)
        median = sorted(r["events_per_s"] for r in runs)[len(runs) // 2]
        cpu = min(r["cpu_us_per_event"] for r in runs)
        lines.append(f"| {row['plugin']} | {row['case']} | {row['events_per_s']:,.0f} | {median:,.0f} | {cpu:,.0f} "
                     f"| {row['alerts']:,} | {lost} |")  # fmt: skip
    text = "\n".join(lines) + "\n"
    print(text)
    if args.output:
        args.output.write_text(text)


if __name__ == "__main__":
    main()
