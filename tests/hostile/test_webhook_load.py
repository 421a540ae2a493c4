"""A bounded load test of the k8saudit webhook on 127.0.0.1 (issue 13): concurrent clients posting
single events and EventLists, while others send garbage, trickle slowly, disconnect in the middle
of a body and send every hostile payload of the issue. Afterwards: no event of the good clients is
lost, the server still answers, and its thread count, open files and memory are back to where
they were. Bounded in count (a fixed number of requests per client) and in time (every socket has
a timeout, the whole test a watchdog); it stops by itself in a few seconds.

``benchmarks/bench_webhook.py`` is the longer version, with the official rules and figures."""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from falcoplug.plugins.k8saudit.webhook import WebhookServer
from test_webhook_limits import Webhook, event, head

GOOD_CLIENTS = 6
REQUESTS_PER_CLIENT = 60  # every other one an EventList of 5
HOSTILE_ROUNDS = 6


def _rss_kib() -> int:
    for text in Path("/proc/self/status").read_text().splitlines():
        if text.startswith("VmRSS:"):
            return int(text.split()[1])
    raise AssertionError("no VmRSS")


def _open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def good_client(port: int, index: int, sent: list[str]) -> None:
    """Keep-alive POSTs; a dropped connection (the server is allowed to close) is reopened."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for n in range(REQUESTS_PER_CLIENT):
        if n % 2:
            ids = [f"g{index}-{n}-{i}" for i in range(5)]
            body = {"kind": "EventList", "items": [event(i) for i in ids]}
        else:
            ids = [f"g{index}-{n}"]
            body = event(ids[0])
        data = json.dumps(body).encode()
        for attempt in range(3):
            try:
                conn.request("POST", "/k8s-audit", body=data, headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                assert resp.status == 200
                sent += ids
                break
            except (ConnectionError, http.client.HTTPException, OSError):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                if attempt == 2:
                    raise
    conn.close()


def _send(port: int, data: bytes, then: Callable[[socket.socket], None] | None = None) -> None:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(data)
            if then is not None:
                then(s)
    except OSError:
        pass  # the server may cut a hostile client off: that is the point


def _read_answer(s: socket.socket) -> None:
    s.recv(4096)  # the answer's start (or the server's close), then this client leaves


def hostile_client(port: int, seed: int) -> None:
    rng = random.Random(seed)
    deep = b"[" * 100_000 + b"]" * 100_000
    far = json.dumps(event("x-far", stageTimestamp="9999-12-31T23:59:59Z")).encode()
    lone = b'{"kind":"Event","auditID":"x-lone","user":{"username":"\\ud800"},"stageTimestamp":"2024-01-01T00:00:00Z"}'
    payloads = [
        head(len(deep)) + deep,                                               # deep nesting
        head(len(far)) + far,                                                 # year 9999 (kept, not counted)
        head(len(lone)) + lone,                                               # lone surrogate
        head(chunked=True) + b"-5\r\n" + b"z" * 100 + b"\r\n0\r\n\r\n",      # negative chunk size
        head(chunked=True) + b"7fffffff\r\n" + b"z" * 250_000,               # a chunk over the limit
        head(10 << 30),                                                        # a Content-Length over it
        b"GARBAGE\x00\xff" * 50 + b"\r\n\r\n",                                 # not HTTP
        bytes(rng.getrandbits(8) for _ in range(2000)),                       # noise
    ]  # fmt: skip
    for _ in range(HOSTILE_ROUNDS):
        for data in payloads:
            _send(port, data, _read_answer)
        _send(port, head(5000) + b'{"kind":"Event","audit')  # gone in the middle of a body
        _send(port, b"POST /k8s-audit HTTP/1.1\r\nHo")  # gone in the middle of a head


def slow_client(port: int) -> None:
    """Trickles a head byte by byte, then stalls inside a body: the timeouts end both."""
    def trickle(s: socket.socket) -> None:
        for byte in b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{":
            s.sendall(bytes([byte]))
            time.sleep(0.05)
        _read_answer(s)
    _send(port, b"POST /k8s-audit HTTP/1.1\r\nHost: x\r\n", trickle)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_webhook_under_load_loses_nothing_and_recovers(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (("IDLE_TIMEOUT", 1.0), ("HEAD_TIMEOUT", 1.0), ("READ_TIMEOUT", 1.0), ("BODY_TIMEOUT", 3.0)):
        monkeypatch.setattr(WebhookServer, name, value)
    webhook = Webhook('{"webhookMaxBatchSize": 200000}')
    watchdog = threading.Timer(120, webhook.host.interrupt)  # the whole test is bounded in time
    watchdog.start()
    try:
        time.sleep(0.2)
        threads, files, rss = threading.active_count(), _open_files(), _rss_kib()
        sent: list[list[str]] = [[] for _ in range(GOOD_CLIENTS)]
        clients = [threading.Thread(target=good_client, args=(webhook.port, i, sent[i])) for i in range(GOOD_CLIENTS)]
        clients += [threading.Thread(target=hostile_client, args=(webhook.port, i)) for i in range(3)]
        clients += [threading.Thread(target=slow_client, args=(webhook.port,)) for _ in range(4)]
        start = time.monotonic()
        for c in clients:
            c.start()
        for c in clients:
            c.join(timeout=60)
        assert not any(c.is_alive() for c in clients)
        good = {i for ids in sent for i in ids}
        assert len(good) == GOOD_CLIENTS * REQUESTS_PER_CLIENT * 3  # every request answered 200
        expected = len(good) + 2 * 3 * HOSTILE_ROUNDS  # + the far and lone events of the hostile clients
        webhook.wait_for(expected, timeout=30)
        got = webhook.ids()
        assert good <= set(got), f"lost: {len(good - set(got))}"
        assert len(got) == expected  # nothing lost, nothing twice
        elapsed = time.monotonic() - start
        # the server is alive and answers as before
        assert webhook.post(event("final"))[0] == 200
        assert webhook.wait_for(expected + 1)[-1] == "final"
        # connections closed, threads and memory back (timeouts are 1-3 s here)
        deadline = time.monotonic() + 10
        while (threading.active_count() > threads or _open_files() > files) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert threading.active_count() == threads
        assert _open_files() <= files
        assert _rss_kib() - rss < 64 * 1024, f"RSS grew by {(_rss_kib() - rss) // 1024} MiB"
        assert elapsed < 60
    finally:
        watchdog.cancel()
        webhook.close()
