"""Hostile clients of the k8saudit webhook (issue 13, items 1-4 and the "Also:" paragraph), over
127.0.0.1 only: no request stops the stream; the limits (webhookMaxBatchSize, read timeouts, a
connection cap) hold for every framing; no thread per connection. Every server is closed by the
test, every client socket has a timeout, and the timeouts are lowered so that each test takes at
most a few seconds."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from falcoplug.framework import Inspector
from falcoplug.plugins.k8saudit.webhook import WebhookServer

STAMP = "2024-05-01T08:00:00.000001Z"


def event(audit_id: str, **extra: object) -> dict:
    return {"kind": "Event", "auditID": audit_id, "verb": "create", "stageTimestamp": STAMP, **extra}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Webhook:
    """A k8saudit webhook stream on 127.0.0.1, and a thread collecting its events."""

    def __init__(self, config: str = "") -> None:
        self.host = Inspector()
        self.host.load("k8saudit", config)
        for _ in range(5):
            self.port = free_port()
            try:
                self.host.open("k8saudit", f"http://127.0.0.1:{self.port}/k8s-audit")
                break
            except Exception:  # noqa: BLE001 - the port was taken in between: try another
                time.sleep(0.05)
        else:
            raise RuntimeError("no free port")
        self.events: list[dict] = []
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._collect, daemon=True)
        self._thread.start()

    def _collect(self) -> None:
        try:
            for batch in self.host.batches():
                self.events += [json.loads(e.payload) for e in batch]
        except BaseException as exc:  # noqa: BLE001 - the test asserts the stream never failed
            self.error = exc

    def ids(self) -> list[str]:
        return [e["auditID"] for e in self.events]

    def wait_for(self, count: int, timeout: float = 15.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while len(self.events) < count and time.monotonic() < deadline and self.error is None:
            time.sleep(0.01)
        return self.ids()

    def post(self, body: bytes | dict, ctype: str = "application/json") -> tuple[int, bytes]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("POST", "/k8s-audit", body=data, headers={"Content-Type": ctype})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def raw(self, data: bytes, linger: float = 0.0) -> bytes:
        """Send bytes on a new connection; what the server answers before it closes (or 5 s)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(data)
            if linger:
                time.sleep(linger)
            out = b""
            try:
                while chunk := s.recv(65536):
                    out += chunk
            except (TimeoutError, ConnectionResetError):
                pass
            return out

    def close(self) -> None:
        self.host.interrupt()
        self._thread.join(timeout=10)
        self.host.destroy()
        assert self.error is None, self.error


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[Webhook]:
    for name, value in (("IDLE_TIMEOUT", 1.0), ("HEAD_TIMEOUT", 1.0), ("READ_TIMEOUT", 1.0), ("BODY_TIMEOUT", 3.0)):
        monkeypatch.setattr(WebhookServer, name, value)
    hook = Webhook('{"webhookMaxBatchSize": 200000}')
    try:
        yield hook
    finally:
        hook.close()


def head(body_length: int | None = None, chunked: bool = False) -> bytes:
    lines = ["POST /k8s-audit HTTP/1.1", "Host: x", "Content-Type: application/json"]
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    if body_length is not None:
        lines.append(f"Content-Length: {body_length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage().removeprefix("k8saudit: ") for r in caplog.records if r.levelno >= logging.WARNING]


# -- items 1-3: payloads -------------------------------------------------------------------------------------


def test_deep_far_and_surrogate_payloads_never_stop_the_stream(webhook: Webhook, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert webhook.post(b"[" * 100_000 + b"]" * 100_000) == (200, b"")  # Go answers before parsing
        nested = json.dumps(event("deep"))[:-1].encode() + b', "x": ' + b"[" * 400 + b"]" * 400 + b"}"
        assert webhook.post(nested)[0] == 200
        batch = {"kind": "EventList", "items": [event("a"), event("far", stageTimestamp="9999-12-31T23:59:59Z"), event("b")]}
        assert webhook.post(batch)[0] == 200
        lone = ('{"kind":"EventList","items":[{"kind":"Event","auditID":"s","user":{"username":"\\ud800"},'
                f'"stageTimestamp":"{STAMP}"}}]}}').encode()  # fmt: skip
        assert webhook.post(lone)[0] == 200
        assert webhook.post(event("last"))[0] == 200
        assert webhook.wait_for(5) == ["a", "far", "b", "s", "last"]
    assert webhook.events[3]["user"]["username"] == "\\ud800"  # fastjson's reading, kept as text
    warned = messages(caplog)
    assert len(warned) == 2, warned
    assert all(m.startswith("webhook request ") and "from 127.0.0.1:" in m and "too big depth" in m for m in warned)


# -- item 4 and the body limit for every framing ------------------------------------------------------------


def test_negative_and_huge_chunk_sizes_cannot_pass_the_limit(webhook: Webhook, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        answer = webhook.raw(head(chunked=True) + b"-5\r\n" + b"x" * 1000 + b"\r\n0\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n"), answer
        assert answer.endswith(b"\r\n\r\nbad request: invalid byte in chunk length\n")
        # a chunk declared 16 GiB: refused once the bytes received pass webhookMaxBatchSize
        answer = webhook.raw(head(chunked=True) + b"400000000\r\n" + b"x" * 300_000)
        assert answer.endswith(b"\r\n\r\nbad request: http: request body too large\n"), answer
        # many small chunks adding up over the limit
        chunks = b"".join(b"%x\r\n%s\r\n" % (1000, b"y" * 1000) for _ in range(250))
        answer = webhook.raw(head(chunked=True) + chunks + b"0\r\n\r\n")
        assert answer.endswith(b"bad request: http: request body too large\n"), answer
        # a Content-Length over the limit is refused before any body byte is read
        answer = webhook.raw(head(10 << 30), linger=0.1)
        assert answer.endswith(b"bad request: http: request body too large\n"), answer
        assert webhook.post(event("after"))[0] == 200
        assert webhook.wait_for(1) == ["after"]
    assert sum("request body too large" in m for m in messages(caplog)) == 3


def test_chunked_bodies_within_the_limit_are_read(webhook: Webhook) -> None:
    payload = json.dumps({"kind": "EventList", "items": [event(f"c{i}") for i in range(100)]}).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(payload[i:i + 777]), payload[i:i + 777]) for i in range(0, len(payload), 777))
    answer = webhook.raw(head(chunked=True) + chunks + b"0\r\n\r\n" + b"GET /k8s-audit HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"HTTP/1.1 405 Method Not Allowed" in answer and answer.endswith(b"GET method not allowed\n")
    assert webhook.wait_for(100) == [f"c{i}" for i in range(100)]


# -- Also: threads, timeouts, the connection cap ----------------------------------------------------------


def test_idle_connections_hold_no_thread_and_time_out(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (("MAX_CONNECTIONS", 64), ("IDLE_TIMEOUT", 1.0), ("HEAD_TIMEOUT", 1.0)):
        monkeypatch.setattr(WebhookServer, name, value)
    servers: list[WebhookServer] = []
    start_server = WebhookServer.start
    monkeypatch.setattr(WebhookServer, "start", lambda self: (servers.append(self), start_server(self))[1])
    webhook = Webhook()
    try:
        baseline = threading.active_count()
        sockets = [socket.create_connection(("127.0.0.1", webhook.port), timeout=10) for _ in range(200)]
        try:
            time.sleep(0.3)
            assert threading.active_count() == baseline  # 200 idle connections, not 200 threads
            start = time.monotonic()
            answers = [s.recv(4096) for s in sockets]  # the kept ones close after their timeouts
            assert time.monotonic() - start < 30  # about 2 s; a loaded machine is slower
        finally:
            for s in sockets:
                s.close()
        (server,) = servers
        refused = [a for a in answers if a.startswith(b"HTTP/1.1 503 Service Unavailable")]
        assert len(refused) == server.refused and len(refused) + answers.count(b"") == 200
        assert len(refused) >= 200 - 2 * 64  # (a loaded machine may accept the last after the first time out)
        assert server.peak_connections == 64
        assert webhook.post(event("after-idle"))[0] == 200
        assert webhook.wait_for(1) == ["after-idle"]
        assert threading.active_count() == baseline
        deadline = time.monotonic() + 5
        while server.connections and time.monotonic() < deadline:  # the last client's close
            time.sleep(0.05)
        assert server.connections == 0
    finally:
        webhook.close()


def test_slow_heads_and_stalled_bodies_are_cut(webhook: Webhook) -> None:
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", webhook.port), timeout=5) as s:
        try:
            for byte in head(10):  # one byte every 0.1 s: the head never completes in time
                s.sendall(bytes([byte]))
                time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert s.recv(4096) == b""
    assert time.monotonic() - start < 4
    with socket.create_connection(("127.0.0.1", webhook.port), timeout=5) as s:
        s.sendall(head(1000) + b'{"kind":')  # then nothing: READ_TIMEOUT ends it
        assert s.recv(4096) == b""
    assert webhook.post(event("after-slow"))[0] == 200
    assert webhook.wait_for(1) == ["after-slow"]


def test_garbage_and_abrupt_disconnects(webhook: Webhook) -> None:
    for data in (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(200),  # a TLS hello on http
                 b"GET / HTTP/1.1\r\n" + b"X: " + b"a" * 100_000 + b"\r\n\r\n",  # a head over MAX_HEAD
                 b"POST /k8s-audit HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{}",  # no Host
                 b"\r\n\r\n\r\n", bytes(range(256))):  # fmt: skip
        answer = webhook.raw(data)
        assert answer == b"" or answer.startswith((b"HTTP/1.1 400 ", b"HTTP/1.1 431 ")), answer
        assert b"<html" not in answer.lower()
    for _ in range(20):  # half a body, then gone
        with socket.create_connection(("127.0.0.1", webhook.port), timeout=5) as s:
            s.sendall(head(5000) + b'{"kind":"Event"')
    assert webhook.post(event("alive"))[0] == 200
    assert webhook.wait_for(1) == ["alive"]


def test_a_new_silent_connection_gets_the_head_timeout_not_the_idle_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sockets opened and left silent cannot hold the connection slots for the keep-alive idle time."""
    for name, value in (("IDLE_TIMEOUT", 60.0), ("HEAD_TIMEOUT", 1.0)):
        monkeypatch.setattr(WebhookServer, name, value)
    webhook = Webhook()
    try:
        sockets = [socket.create_connection(("127.0.0.1", webhook.port), timeout=30) for _ in range(10)]
        try:
            start = time.monotonic()
            assert [s.recv(4096) for s in sockets] == [b""] * 10  # closed by the server
            assert time.monotonic() - start < 20  # about 1 s; far below the 60 s idle time
        finally:
            for s in sockets:
                s.close()
        assert webhook.post(event("after-silent"))[0] == 200
        assert webhook.wait_for(1) == ["after-silent"]
    finally:
        webhook.close()
