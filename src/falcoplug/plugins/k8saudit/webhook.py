"""The webhook source: kube-apiserver's webhook backend POSTs audit events to this server.

The server is httptools (Python bindings of llhttp, the HTTP/1.1 parser of Node.js; the parser
uvicorn uses) driven by one asyncio loop in one thread, through a plain ``asyncio.Protocol``: a
request that arrives whole is parsed, answered and queued in one callback, with no task, future
or timer of its own. llhttp does the protocol (request line, headers, ``Content-Length`` and
chunked bodies, keep-alive, pipelining) and refuses malformed framing, a negative chunk size
included; this module decides the limits, which hold for every framing:

- ``webhookMaxBatchSize`` counts the body bytes as they arrive, chunked or not: a body over it
  gets Go's 400 ``bad request: http: request body too large`` and the connection closes after a
  bounded drain (so that the client reads the answer);
- a request head is at most :attr:`WebhookServer.MAX_HEAD` bytes (431) and must arrive within
  :attr:`~WebhookServer.HEAD_TIMEOUT` seconds; a body that makes no progress for
  :attr:`~WebhookServer.READ_TIMEOUT` seconds, or takes longer than
  :attr:`~WebhookServer.BODY_TIMEOUT`, ends its connection; a kept-alive connection with no
  request for :attr:`~WebhookServer.IDLE_TIMEOUT` seconds is closed (one sweep of all the
  connections, four times a second, enforces the deadlines);
- at most :attr:`~WebhookServer.MAX_CONNECTIONS` connections are served at once (more are
  answered 503 and closed), and at most :attr:`~WebhookServer.BODY_SLOTS` bodies are read at once
  (the others wait with their socket paused): memory is bounded by ``(BODY_SLOTS + queued
  payloads) * webhookMaxBatchSize``, whatever the clients do, with no thread per connection;
- when the stream is slower than the clients, the queue of payloads fills up and the connections
  whose payload waits stop being read: TCP slows the clients down, and no event is lost.

The answers are the Go plugin's (``net/http`` with its handler): 404 ``404 page not found``, 405
``<METHOD> method not allowed``, 400 ``wrong Content Type``, 400 ``bad request: ...``, 200 with an
empty body; a request the HTTP parser refuses gets Go's plain ``400 Bad Request``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import http
import queue
import socket
import ssl
import threading
import time
import urllib.parse
from email.utils import formatdate
from typing import Any, Final

import httptools

from falcoplug.errors import EventError
from falcoplug.sdk import PushInstance

from .decode import AuditDecoder

PAYLOADS: Final = 50  # queued request bodies: the Go plugin's channel size
DRAIN_LIMIT: Final = 8 << 20  # bytes read (and dropped) after refusing a body, so the client sees the answer
SMALL_BODY: Final = 256 << 10  # an unwanted body up to this size is skipped to keep the connection (as Go)
SWEEP: Final = 0.25  # seconds between two checks of the connections' deadlines

# What a connection is doing, for its deadline.
IDLE, HEAD, BODY, SKIP, DRAIN, WAIT = "idle", "head", "body", "skip", "drain", "wait"


class WebhookServer:
    """The HTTP server of the webhook source; :meth:`take` gives its payloads to the stream."""

    MAX_CONNECTIONS = 256
    BODY_SLOTS = 8
    MAX_HEAD = 64 << 10
    HEAD_TIMEOUT = 10.0
    READ_TIMEOUT = 10.0
    BODY_TIMEOUT = 60.0
    IDLE_TIMEOUT = 60.0

    def __init__(self, address: tuple[str, int], endpoint: str, max_body: int, log: Any,
                 context: ssl.SSLContext | None) -> None:  # fmt: skip
        self.endpoint = endpoint
        self.max_body = max_body
        self.log = log
        self.context = context
        self.payloads: queue.Queue[tuple[bytes, str]] = queue.Queue(maxsize=PAYLOADS)
        self.connections = 0  # served now
        self.peak_connections = 0  # the most served at once
        self.requests = 0  # numbered from 1, to name them in warnings
        self.refused = 0  # connections over MAX_CONNECTIONS
        # Bound now, in the caller's thread: a busy port fails the open.
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        try:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.socket.bind(address)
            self.socket.listen(socket.SOMAXCONN)
        except BaseException:
            self.socket.close()
            raise
        self.server_address: tuple[str, int] = self.socket.getsockname()[:2]
        self._loop = asyncio.new_event_loop()
        self._loop.set_exception_handler(self._loop_error)
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="k8saudit-webhook", daemon=True)
        self._started = threading.Event()
        self._live: set[_Connection] = set()
        self._reading = 0  # bodies being read (at most BODY_SLOTS)
        self._slot_waiters: collections.deque[_Connection] = collections.deque()
        # payloads answered 200 that wait for room in the queue, with their (paused) connection
        self._queue_waiters: collections.deque[tuple[_Connection, tuple[bytes, str]]] = collections.deque()
        self._wake_pending = False  # a wake-up of the queue waiters is scheduled
        self._date = (0, "")
        self._ok: tuple[str, bytes] = ("", b"")  # this second's 200 (see ok_bytes)

    # -- the loop's life -------------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()
        self._started.wait(timeout=10.0)

    def close(self) -> None:
        if self._thread.is_alive() and self._stop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(timeout=5.0)
        if not self._thread.is_alive() and not self._loop.is_closed():
            self._loop.close()
        self.socket.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        server = await self._loop.create_server(
            lambda: _Connection(self), sock=self.socket, ssl=self.context, backlog=socket.SOMAXCONN,
            ssl_handshake_timeout=self.HEAD_TIMEOUT if self.context else None,
        )  # fmt: skip
        sweeper = self._loop.create_task(self._sweep())
        self._started.set()
        try:
            await self._stop.wait()
        finally:
            sweeper.cancel()
            server.close()
            for conn in list(self._live):
                conn.abort()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper

    async def _sweep(self) -> None:
        """End the connections past their deadline (one pass for all: no timer per request)."""
        while True:
            await asyncio.sleep(SWEEP)
            now = self._loop.time()
            for conn in [c for c in self._live if c.deadline < now]:
                self.log.debug("webhook: %s: %s timeout", conn.client, conn.phase)
                conn.abort()

    def _loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        # A failed TLS handshake (plain HTTP on the https port), a reset: one debug line, never a
        # traceback on stderr, and the server goes on.
        self.log.debug("webhook: %s", context.get("exception") or context.get("message"))

    # -- bodies and payloads -----------------------------------------------------------------------------------
    def acquire_slot(self, conn: _Connection) -> bool:
        """A place to read a body; ``False``: the connection waits (paused) for one."""
        if self._reading < self.BODY_SLOTS:
            self._reading += 1
            return True
        self._slot_waiters.append(conn)
        return False

    def release_slot(self) -> None:
        while self._slot_waiters:
            conn = self._slot_waiters.popleft()
            if not conn.closed and conn.waiting_slot:
                conn.resume_body()  # the slot passes to it
                return
        self._reading -= 1

    def offer(self, conn: _Connection, item: tuple[bytes, str]) -> bool:
        """Queue a payload for the stream; ``False``: the queue is full and ``conn`` waits."""
        if not self._queue_waiters:
            try:
                self.payloads.put_nowait(item)
                return True
            except queue.Full:
                pass
        self._queue_waiters.append((conn, item))
        return False

    def _wake_waiters(self) -> None:
        """In the loop: move waiting payloads into the queue while there is room (the payload of
        a client that has left too: it was answered 200, so it is not lost)."""
        self._wake_pending = False
        while self._queue_waiters:
            conn, item = self._queue_waiters[0]
            try:
                self.payloads.put_nowait(item)
            except queue.Full:
                return
            self._queue_waiters.popleft()
            if not conn.closed:
                conn.resume_after_queue()

    def take(self, timeout: float) -> tuple[bytes, str] | None:
        """The next payload for the stream (called from the stream's thread), or ``None``."""
        try:
            item = self.payloads.get(timeout=timeout)
        except queue.Empty:
            return None
        if self._queue_waiters and not self._wake_pending and not self._loop.is_closed():
            self._wake_pending = True
            with contextlib.suppress(RuntimeError):  # the loop closed in between
                self._loop.call_soon_threadsafe(self._wake_waiters)
        return item

    # -- answers -------------------------------------------------------------------------------------------
    def date(self) -> str:
        """The Date header's value (formatted once a second, as Go's server caches it)."""
        now = int(time.time())
        if self._date[0] != now:
            self._date = (now, formatdate(now, usegmt=True))
        return self._date[1]

    def answer_bytes(self, status: int, message: str, close: bool = True) -> bytes:
        """An answer as Go's ``http.Error`` writes it."""
        body = (message + "\n").encode()
        head = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}",
                "Content-Type: text/plain; charset=utf-8", "X-Content-Type-Options: nosniff",
                f"Date: {self.date()}", f"Content-Length: {len(body)}"]  # fmt: skip
        if close:
            head.append("Connection: close")
        return ("\r\n".join(head) + "\r\n\r\n").encode() + body

    def ok_bytes(self, close: bool) -> bytes:
        """The empty 200 that accepts a POST (made once a second)."""
        date = self.date()
        if self._ok[0] != date:
            self._ok = (date, f"HTTP/1.1 200 OK\r\nDate: {date}\r\nContent-Length: 0\r\n\r\n".encode())
        return self._ok[1] if not close else self._ok[1][:-2] + b"Connection: close\r\n\r\n"


class _TooLarge(EventError):
    """Raised from a parser callback to stop reading a body over ``webhookMaxBatchSize`` (caught
    around the parser: it becomes Go's 400 answer, never an error of the stream)."""


class _Connection(asyncio.Protocol):
    """One client connection: its requests in turn (keep-alive, pipelining), driven by the
    parser's callbacks; answers are written in the order of the requests."""

    def __init__(self, server: WebhookServer) -> None:
        self.server = server
        self.parser = httptools.HttpRequestParser(self)
        self.transport: Any = None
        self.client = "client"
        self.closed = False
        self.phase = IDLE
        self.deadline = float("inf")
        self.body_deadline = float("inf")
        self.head_bytes = 0
        # the request being read
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.status: tuple[int, str] | None = None  # the refusal, or None for a POST to read
        self.length: int | None = None  # Content-Length, None when chunked
        self.where = ""
        self.parts: list[bytes] = []
        self.size = 0
        self.has_slot = False
        # flow
        self.ready: list[tuple[bytes, str]] = []  # payloads answered 200, not yet queued
        self.paused = False  # by us: waiting for a body slot or room in the queue
        self.waiting_slot = False
        self.drained = 0

    # -- asyncio callbacks -------------------------------------------------------------------------------
    def connection_made(self, transport: Any) -> None:
        server = self.server
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.client = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "client"
        if server.connections >= server.MAX_CONNECTIONS:
            server.refused += 1
            self.closed = True
            server.log.debug("webhook: %s refused: %d connections already", self.client, server.connections)
            transport.write(server.answer_bytes(503, "503 Service Unavailable: too many connections"))
            transport.close()
            return
        server.connections += 1
        server.peak_connections = max(server.peak_connections, server.connections)
        server._live.add(self)
        # A new connection owes its request head within HEAD_TIMEOUT: idle sockets opened and
        # left silent would otherwise hold the connection slots for IDLE_TIMEOUT.
        self._set_phase(HEAD)

    def connection_lost(self, exc: Exception | None) -> None:
        if self in self.server._live:
            self.server._live.discard(self)
            self.server.connections -= 1
        self._end()

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        if self.phase is DRAIN:
            self.drained += len(data)
            if self.drained > DRAIN_LIMIT:
                self.close()
            return
        if self.phase is IDLE:
            self._set_phase(HEAD)
        elif self.phase is BODY or self.phase is SKIP:
            self.deadline = min(self.server._loop.time() + self.server.READ_TIMEOUT, self.body_deadline)
        if self.phase is HEAD:
            self.head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse_request(400)
            return
        except httptools.HttpParserError as exc:  # a callback's _TooLarge arrives wrapped in one
            if isinstance(exc.__context__, _TooLarge) or isinstance(exc, _TooLarge):
                self._too_large()
            else:
                self._parse_error(exc)
            return
        except _TooLarge:
            self._too_large()
            return
        if self.phase is HEAD and self.head_bytes > self.server.MAX_HEAD:
            self._refuse_request(431)
            return
        self._flow()

    def eof_received(self) -> bool:
        if self.phase is BODY and not self.closed:
            self.server.log.warning("%s: bad request: unexpected EOF", self.where)
        self.close()
        return False

    def pause_writing(self) -> None:  # a client that does not read its answers stops being read
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        if not self.paused and not self.closed:
            self.transport.resume_reading()

    # -- the parser's callbacks (httptools) ----------------------------------------------------------------
    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []
        self.parts, self.size = [], 0
        if self.phase is IDLE:
            self._set_phase(HEAD)

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        server = self.server
        self.head_bytes = 0
        method = self.parser.get_method().decode("latin-1")
        self.length = _content_length(self.headers)
        path = urllib.parse.unquote(self.url.decode("latin-1").split("?", 1)[0].split("#", 1)[0])
        pattern = server.endpoint
        if self.parser.get_http_version() == "1.1" and not any(n == b"host" for n, _ in self.headers):
            self.status = (400, "400 Bad Request: missing required Host header")
        elif path != pattern and not (pattern.endswith("/") and path.startswith(pattern)):
            self.status = (404, "404 page not found")
        elif method != "POST":
            self.status = (405, f"{method} method not allowed")
        elif b"application/json" not in b", ".join(v for n, v in self.headers if n == b"content-type"):
            self.status = (400, "wrong Content Type")
        else:
            self.status = None
            server.requests += 1
            self.where = f"webhook request {server.requests} from {self.client}"
            if self.length is not None and self.length > server.max_body:
                raise _TooLarge
            self._set_phase(BODY)
            self.has_slot = server.acquire_slot(self)
            self.waiting_slot = not self.has_slot
            return
        self._set_phase(SKIP)
        if self.status[0] == 400 and self.status[1].startswith("400 Bad Request"):
            self._answer(*self.status, close=True)
            self.status = (0, "")  # answered
            self.close()
        elif self.length is None or self.length > SMALL_BODY:
            self._answer(*self.status, close=True, head_only=method == "HEAD")  # too much to skip
            self.close()

    def on_body(self, body: bytes) -> None:
        if self.status is not None:
            return  # the body of a refused request, skipped
        self.size += len(body)
        if self.size > self.server.max_body:
            raise _TooLarge
        self.parts.append(body)

    def on_message_complete(self) -> None:
        if self.closed:
            return
        if self.waiting_slot:  # the whole body came with its head: no slot needed any more
            self.waiting_slot = False
        if self.status is not None:  # a refused request, its small body skipped: answer, go on
            self._answer(*self.status, close=not self.parser.should_keep_alive(),
                         head_only=self.parser.get_method() == b"HEAD")  # fmt: skip
            if not self.parser.should_keep_alive():
                self.close()
        else:
            self._release()
            self.transport.write(self.server.ok_bytes(close=not self.parser.should_keep_alive()))
            self.ready.append((b"".join(self.parts), self.where))
            self.parts = []
            if not self.parser.should_keep_alive():
                self.close()
        self._set_phase(IDLE)

    # -- flow --------------------------------------------------------------------------------------------------
    def _flow(self) -> None:
        """After a read: queue what is ready; pause while a payload or a body waits."""
        while self.ready:
            if not self.server.offer(self, self.ready[0]):
                self._pause(WAIT)
                return
            self.ready.pop(0)
        if self.waiting_slot:
            self._pause(BODY)

    def resume_body(self) -> None:
        """A body slot came free for this connection (called by the server)."""
        self.has_slot, self.waiting_slot = True, False
        self._set_phase(BODY)
        self._resume()

    def resume_after_queue(self) -> None:
        """The first ready payload went into the queue (called by the server)."""
        self.ready.pop(0)
        if self.phase is WAIT:
            self._set_phase(IDLE)
        self.paused = False
        self._flow()
        if not self.paused:
            self._resume()

    def _pause(self, phase: str) -> None:
        self.paused = True
        self.deadline = float("inf")  # waiting for us: the client is not late
        if phase is WAIT:
            self.phase = WAIT
        if not self.closed:
            self.transport.pause_reading()

    def _resume(self) -> None:
        self.paused = False
        if not self.closed:
            self.transport.resume_reading()

    def _set_phase(self, phase: str) -> None:
        server = self.server
        now = server._loop.time()
        self.phase = phase
        if phase is IDLE:
            self.deadline = now + server.IDLE_TIMEOUT + server.HEAD_TIMEOUT
        elif phase is HEAD:
            self.deadline = now + server.HEAD_TIMEOUT
        elif phase is BODY or phase is SKIP:
            self.body_deadline = now + server.BODY_TIMEOUT
            self.deadline = min(now + server.READ_TIMEOUT, self.body_deadline)
        elif phase is DRAIN:
            self.deadline = now + server.READ_TIMEOUT
        else:  # WAIT: paused by us, the client is not late
            self.deadline = float("inf")

    # -- answers ---------------------------------------------------------------------------------------------
    def _answer(self, status: int, message: str, close: bool = False, head_only: bool = False) -> None:
        data = self.server.answer_bytes(status, message, close=close)
        if head_only:
            data = data[: data.index(b"\r\n\r\n") + 4]
        self.transport.write(data)

    def _refuse_request(self, status: int) -> None:
        """A request the parser refuses: Go's plain-text ``400 Bad Request`` (or 431), then close."""
        self._answer(status, f"{status} {http.HTTPStatus(status).phrase}", close=True)
        self.close()

    def _parse_error(self, exc: Exception) -> None:
        if self.phase is BODY and self.status is None:  # broken chunked framing (a negative size...)
            message = f"bad request: {_go_reason(exc)}"
            self.server.log.warning("%s: %s", self.where, message)
            self._release()
            self._answer(400, message, close=True)
            self.close()
        else:  # not HTTP, bad headers: Go's plain-text 400
            self.server.log.debug("webhook: %s: bad request: %s", self.client, exc)
            self._refuse_request(400)

    def _too_large(self) -> None:
        message = "bad request: http: request body too large"
        self.server.log.warning("%s: %s", self.where, message)
        self._release()
        self.parts = []
        self._answer(400, message, close=True)
        self._set_phase(DRAIN)  # read what the client still sends, then close
        self.drained = 0

    def _release(self) -> None:
        if self.has_slot:
            self.has_slot = False
            self.server.release_slot()

    def close(self) -> None:
        """Close once the answers are written."""
        if not self.closed:
            self.closed = True
            self.transport.close()
        self._end()

    def abort(self) -> None:
        """Close now (a timeout, the server stopping, a client gone)."""
        if not self.closed:
            self.closed = True
            self.transport.abort()
        self._end()

    def _end(self) -> None:
        self.closed = True
        self.parts = []
        self._release()
        self.waiting_slot = False
        # Payloads answered 200 go to the stream even though the client has left (the first one
        # is in the server's waiters already when this connection was waiting for room).
        pending = self.ready[1:] if self.phase is WAIT and self.paused else self.ready
        self.ready = []
        for item in pending:
            self.server.offer(self, item)  # queued, or waiting in the server's waiters


def _go_reason(exc: Exception) -> str:
    """Go's words for a body that breaks its framing (llhttp's own otherwise)."""
    text = str(exc)
    if "chunk" in text.lower():
        return "invalid byte in chunk length"
    return text


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The declared body length (the parser has checked it), ``None`` for a chunked body."""
    length = 0
    for name, value in headers:
        if name == b"transfer-encoding":
            return None
        if name == b"content-length":
            length = int(value)
    return length


class AuditWebhookInstance(PushInstance):
    """Audit events POSTed by kube-apiserver's webhook backend (or anything speaking it)."""

    def __init__(self, server: WebhookServer, decoder: AuditDecoder) -> None:
        super().__init__()
        self.server = server
        self.decoder = decoder
        server.start()

    @property
    def address(self) -> tuple[str, int]:
        """The host and port the server listens on (the port chosen when the params said 0)."""
        return self.server.server_address

    def produce(self) -> None:
        take, decode = self.server.take, self.decoder.events
        while not self.closing.is_set():
            item = take(0.05)
            if item is None:
                continue
            for payload, ts in decode(*item):
                if not self.push(payload, ts):
                    return

    def close(self) -> None:
        self.server.close()
        super().close()
