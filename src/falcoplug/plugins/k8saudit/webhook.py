"""The webhook source: kube-apiserver's webhook backend POSTs audit events to this server.

The server is h11 (HTTP/1.1 framing, from python-hyper) driven by one asyncio loop in one thread.
h11 does the protocol (request line, headers, ``Content-Length`` and chunked bodies, keep-alive)
and refuses malformed framing, a negative chunk size included; this module decides the limits,
which hold for every framing:

- ``webhookMaxBatchSize`` counts the body bytes as they arrive, chunked or not: a body over it
  gets Go's 400 ``bad request: http: request body too large`` and the connection closes after a
  bounded drain (so that the client reads the answer);
- a request head is at most :attr:`WebhookServer.MAX_HEAD` bytes and must arrive within
  :attr:`~WebhookServer.HEAD_TIMEOUT` seconds; a body that makes no progress for
  :attr:`~WebhookServer.READ_TIMEOUT` seconds, or takes longer than
  :attr:`~WebhookServer.BODY_TIMEOUT`, ends its connection; a kept-alive connection with no
  request for :attr:`~WebhookServer.IDLE_TIMEOUT` seconds is closed;
- at most :attr:`~WebhookServer.MAX_CONNECTIONS` connections are served at once (more are
  answered 503 and closed), and at most :attr:`~WebhookServer.BODY_SLOTS` bodies are read at once:
  memory is bounded by ``(BODY_SLOTS + queued payloads) * webhookMaxBatchSize``, whatever the
  clients do, with no thread per connection.

The answers are the Go plugin's (``net/http`` with its handler): 404 ``404 page not found``, 405
``<METHOD> method not allowed``, 400 ``wrong Content Type``, 400 ``bad request: ...``, 200 with an
empty body; a request the HTTP parser refuses gets Go's plain ``400 Bad Request``.
"""

from __future__ import annotations

import asyncio
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

import h11

from falcoplug.errors import EventError
from falcoplug.sdk import PushInstance

from .decode import AuditDecoder

PAYLOADS: Final = 50  # queued request bodies: the Go plugin's channel size
DRAIN_LIMIT: Final = 8 << 20  # bytes read (and dropped) after refusing a body, so the client sees the answer
SMALL_BODY: Final = 256 << 10  # an unwanted body up to this size is skipped to keep the connection (as Go)


class _BodyTooLarge(EventError):
    """A request body over ``webhookMaxBatchSize`` (answered, never raised out of the server)."""


class _Closed(Exception):
    """The client went away or was too slow: the connection ends without an answer."""


class WebhookServer:
    """The HTTP server of the webhook source; its payloads go to :attr:`payloads`."""

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
        self._date = (0, "")

    # -- the loop's life -------------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()
        self._started.wait(timeout=10.0)

    def close(self) -> None:
        if self._thread.is_alive() and self._stop is not None:
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
        self._slots = asyncio.Semaphore(self.BODY_SLOTS)
        server = await asyncio.start_server(
            self._connection, sock=self.socket, ssl=self.context, backlog=socket.SOMAXCONN,
            ssl_handshake_timeout=self.HEAD_TIMEOUT if self.context else None,
        )  # fmt: skip
        self._started.set()
        try:
            await self._stop.wait()
        finally:
            server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        # A failed TLS handshake (plain HTTP on the https port), a reset: one debug line, never a
        # traceback on stderr, and the server goes on.
        self.log.debug("webhook: %s", context.get("exception") or context.get("message"))

    # -- one connection ----------------------------------------------------------------------------------
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        client = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "client"
        try:
            if self.connections >= self.MAX_CONNECTIONS:
                self.refused += 1
                self.log.debug("webhook: %s refused: %d connections already", client, self.connections)
                writer.write(self._answer_bytes(503, "503 Service Unavailable: too many connections", close=True))
                await self._flush(writer)
                return
            self.connections += 1
            self.peak_connections = max(self.peak_connections, self.connections)
            try:
                await _Connection(self, reader, writer, client).serve()
            finally:
                self.connections -= 1
        except (_Closed, ConnectionError, OSError, asyncio.TimeoutError, ssl.SSLError, h11.ProtocolError) as exc:
            self.log.debug("webhook: %s: connection ended: %s", client, exc or type(exc).__name__)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    @staticmethod
    async def _flush(writer: asyncio.StreamWriter) -> None:
        await asyncio.wait_for(writer.drain(), WebhookServer.READ_TIMEOUT)

    def date(self) -> str:
        """The Date header's value (formatted once a second, as Go's server caches it)."""
        now = int(time.time())
        if self._date[0] != now:
            self._date = (now, formatdate(now, usegmt=True))
        return self._date[1]

    def _answer_bytes(self, status: int, message: str, close: bool) -> bytes:
        """A whole answer as Go's ``http.Error`` writes it, without a connection state (503)."""
        body = (message + "\n").encode()
        head = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}",
                "Content-Type: text/plain; charset=utf-8", "X-Content-Type-Options: nosniff",
                f"Date: {self.date()}", f"Content-Length: {len(body)}"]  # fmt: skip
        if close:
            head.append("Connection: close")
        return ("\r\n".join(head) + "\r\n\r\n").encode() + body

    async def enqueue(self, body: bytes, where: str) -> None:
        """Queue a payload for the stream, waiting (this request only) while the queue is full:
        no event is lost, and a slow stream slows the clients down instead of filling memory."""
        item = (body, where)
        while True:
            try:
                self.payloads.put_nowait(item)
                return
            except queue.Full:
                await asyncio.sleep(0.002)


class _Connection:
    """The requests of one connection, in turn (HTTP/1.1 keep-alive)."""

    def __init__(self, server: WebhookServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 client: str) -> None:  # fmt: skip
        self.server = server
        self.reader = reader
        self.writer = writer
        self.client = client
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=server.MAX_HEAD)

    async def serve(self) -> None:
        while True:
            try:
                request = await self._next(self._head_deadline())
            except h11.RemoteProtocolError as exc:  # not HTTP, bad headers, a head too large
                await self._refuse_request(exc)
                return
            if isinstance(request, h11.ConnectionClosed):
                return
            assert isinstance(request, h11.Request)
            await self._handle(request)
            if self.h11.our_state is not h11.DONE or self.h11.their_state is not h11.DONE:
                return  # h11 says the connection must close (Connection: close, HTTP/1.0, an error)
            self.h11.start_next_cycle()

    def _head_deadline(self) -> float:
        """When the next request's head must be complete: an idle wait first, then the head."""
        loop = asyncio.get_running_loop()
        if self.h11.trailing_data[0] or self.h11.they_are_waiting_for_100_continue:
            return loop.time() + self.server.HEAD_TIMEOUT
        return loop.time() + self.server.IDLE_TIMEOUT + self.server.HEAD_TIMEOUT

    async def _next(self, deadline: float) -> Any:
        """The next h11 event, reading as needed, each read within the timeouts."""
        while True:
            event = self.h11.next_event()
            if event is not h11.NEED_DATA:
                return event
            loop = asyncio.get_running_loop()
            left = min(deadline - loop.time(), self.server.READ_TIMEOUT)
            if left <= 0:
                raise _Closed("too slow")
            try:
                data = await asyncio.wait_for(self.reader.read(1 << 16), left)
            except asyncio.TimeoutError:
                raise _Closed("read timeout") from None
            self.h11.receive_data(data)  # b"": the client closed its side

    # -- answers ---------------------------------------------------------------------------------------------
    async def _send(self, status: int, message: str | None, close: bool = False, head_only: bool = False) -> None:
        """An answer: Go's ``http.Error`` text for ``message``, else an empty 200."""
        body = b"" if message is None else (message + "\n").encode()
        headers = [("Date", self.server.date()), ("Content-Length", str(len(body)))]
        if message is not None:
            headers[:0] = [("Content-Type", "text/plain; charset=utf-8"), ("X-Content-Type-Options", "nosniff")]
        if close:
            headers.append(("Connection", "close"))
        phrase = http.HTTPStatus(status).phrase.encode()
        data = self.h11.send(h11.Response(status_code=status, headers=headers, reason=phrase))
        if body and not head_only:
            data += self.h11.send(h11.Data(data=body))
        data += self.h11.send(h11.EndOfMessage())
        self.writer.write(data)
        await self.server._flush(self.writer)

    async def _refuse_request(self, exc: h11.RemoteProtocolError) -> None:
        """A request the parser refuses: Go's plain-text ``400 Bad Request`` (or 431), then close."""
        status = exc.error_status_hint
        self.server.log.debug("webhook: %s: bad request: %s", self.client, exc)
        if self.h11.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            with contextlib.suppress(h11.LocalProtocolError):
                await self._send(status, f"{status} {http.HTTPStatus(status).phrase}", close=True)

    # -- one request ----------------------------------------------------------------------------------------
    async def _handle(self, request: h11.Request) -> None:
        server = self.server
        method = request.method.decode("latin-1")
        head_only = method == "HEAD"
        target = request.target.decode("latin-1")
        path = urllib.parse.unquote(target.split("?", 1)[0].split("#", 1)[0])
        pattern = server.endpoint
        if path != pattern and not (pattern.endswith("/") and path.startswith(pattern)):
            await self._refuse(request, 404, "404 page not found", head_only)
            return
        if method != "POST":
            await self._refuse(request, 405, f"{method} method not allowed", head_only)
            return
        ctype = b", ".join(v for k, v in request.headers if k == b"content-type").decode("latin-1")
        if "application/json" not in ctype:
            await self._refuse(request, 400, "wrong Content Type", head_only)
            return
        server.requests += 1
        where = f"webhook request {server.requests} from {self.client}"
        async with server._slots:
            try:
                body = await self._body(request)
            except _BodyTooLarge:
                message = "bad request: http: request body too large"
                server.log.warning("%s: %s", where, message)
                await self._send(400, message, close=True)
                await self._drain()
                return
            except h11.RemoteProtocolError as exc:  # broken chunked framing (a negative size...)
                message = "bad request: " + ("invalid byte in chunk length" if "chunk" in str(exc) else str(exc))
                server.log.warning("%s: %s", where, message)
                await self._send(400, message, close=True)
                return
            await self._send(200, None)
            await server.enqueue(body, where)

    async def _body(self, request: h11.Request) -> bytes:
        """The whole body, refused as soon as it is known to exceed ``webhookMaxBatchSize``."""
        limit = self.server.max_body
        length = _content_length(request)
        if length is not None and length > limit:
            raise _BodyTooLarge
        parts: list[bytes] = []
        size = 0
        deadline = asyncio.get_running_loop().time() + self.server.BODY_TIMEOUT
        while True:
            event = await self._next(deadline)
            if isinstance(event, h11.Data):
                size += len(event.data)
                if size > limit:
                    raise _BodyTooLarge
                parts.append(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return b"".join(parts)
            else:  # ConnectionClosed in the middle of a body
                raise _Closed("the client closed the connection inside a body")

    async def _refuse(self, request: h11.Request, status: int, message: str, head_only: bool) -> None:
        """An error answer; a small unread body is skipped so that the connection goes on (Go
        does the same), a large or chunked one closes it."""
        length = _content_length(request)
        keep = length is not None and length <= SMALL_BODY
        await self._send(status, message, close=not keep, head_only=head_only)
        if keep:
            deadline = asyncio.get_running_loop().time() + self.server.BODY_TIMEOUT
            while not isinstance(await self._next(deadline), (h11.EndOfMessage, h11.ConnectionClosed)):
                pass

    async def _drain(self) -> None:
        """Read (and drop) what the client still sends, up to :data:`DRAIN_LIMIT` bytes, so that it
        reads the answer instead of a reset; then the connection closes."""
        left = DRAIN_LIMIT
        deadline = asyncio.get_running_loop().time() + self.server.READ_TIMEOUT
        while left > 0:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return
            try:
                data = await asyncio.wait_for(self.reader.read(1 << 16), remaining)
            except asyncio.TimeoutError:
                return
            if not data:
                return
            left -= len(data)


def _content_length(request: h11.Request) -> int | None:
    """The declared body length (h11 has checked it), ``None`` for a chunked body."""
    for name, value in request.headers:
        if name == b"transfer-encoding":
            return None
    for name, value in request.headers:
        if name == b"content-length":
            return int(value)
    return 0


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
        payloads, decode = self.server.payloads, self.decoder.events
        while not self.closing.is_set():
            try:
                body, where = payloads.get(timeout=0.05)
            except queue.Empty:
                continue
            for payload, ts in decode(body, where):
                if not self.push(payload, ts):
                    return

    def close(self) -> None:
        self.server.close()
        super().close()
