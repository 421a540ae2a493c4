"""The webhook source: kube-apiserver's webhook backend POSTs audit events to this server."""

from __future__ import annotations

import http.server
import queue
import socket
import socketserver
import ssl
import sys
import threading
import urllib.parse
from typing import Any

from falcoplug.sdk import PushInstance

from .decode import AuditDecoder



def _go_error(handler: http.server.BaseHTTPRequestHandler, status: int, message: str, close: bool = False) -> None:
    """An answer as Go's ``http.Error`` writes it."""
    body = (message + "\n").encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "text/plain; charset=utf-8")
    handler.send_header("X-Content-Type-Options", "nosniff")
    handler.send_header("Content-Length", str(len(body)))
    if close:
        handler.send_header("Connection", "close")
        handler.close_connection = True
    try:
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(body)
    except OSError:  # the client went away: nobody is left to answer
        handler.close_connection = True


class _BodyTooLarge(Exception):
    pass


class _WebhookHandler(http.server.BaseHTTPRequestHandler):
    server: _WebhookServer
    protocol_version = "HTTP/1.1"
    server_version = "falcoplug-k8saudit"
    sys_version = ""

    def __getattr__(self, name: str) -> Any:
        # Every method reaches the same handler, as with Go's ServeMux (do_GET, do_POST, ...).
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
        pass  # no access log on stderr

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # A request the HTTP parser refuses (bad request line, bad headers): a plain-text answer, as
        # Go's server gives, not the standard library's HTML page.
        self.request_version = "HTTP/1.1"  # a garbled request line would make the answer HTTP/0.9
        _go_error(self, code, f"{code} {self.responses.get(code, ('Error',))[0]}", close=True)

    def _handle(self) -> None:
        server = self.server
        path = urllib.parse.unquote(self.path.split("?", 1)[0].split("#", 1)[0])
        pattern = server.endpoint
        if path != pattern and not (pattern.endswith("/") and path.startswith(pattern)):
            _go_error(self, 404, "404 page not found", close=not self._skip_body())
            return
        if self.command != "POST":
            _go_error(self, 405, f"{self.command} method not allowed", close=not self._skip_body())
            return
        if "application/json" not in (self.headers.get("Content-Type") or ""):
            _go_error(self, 400, "wrong Content Type", close=not self._skip_body())
            return
        try:
            body = self._read_body(server.max_body)
        except _BodyTooLarge:
            message = "bad request: http: request body too large"
            server.log.warning("%s", message)
            _go_error(self, 400, message, close=True)
            return
        except (OSError, ValueError) as exc:
            message = f"bad request: {exc}"
            server.log.warning("%s", message)
            _go_error(self, 400, message, close=True)
            return
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.wfile.flush()
        server.enqueue(body)

    def _skip_body(self) -> bool:
        """Discard an unread request body, as Go's server does for a small one, so that the
        connection can serve the next request; ``False``: too large or chunked, close instead."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return False
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return False
        if not 0 <= length <= 256 << 10:
            return False
        if length:
            self.rfile.read(length)
        return True

    def _read_body(self, limit: int) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked(limit)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise ValueError("invalid Content-Length") from None
        if length < 0:
            raise ValueError("invalid Content-Length")
        if length > limit:
            # Drain a bounded remainder so that the client reads the answer, then close.
            self._discard(length)
            raise _BodyTooLarge
        body = self.rfile.read(length)
        if len(body) < length:
            raise ValueError("unexpected EOF")
        return body

    def _discard(self, length: int) -> None:
        left = min(length, 8 << 20)
        while left > 0:
            chunk = self.rfile.read(min(left, 1 << 16))
            if not chunk:
                break
            left -= len(chunk)

    def _read_chunked(self, limit: int) -> bytes:
        parts: list[bytes] = []
        size = 0
        while True:
            line = self.rfile.readline(1024)
            n = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if n == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            size += n
            if size > limit:
                raise _BodyTooLarge
            parts.append(self.rfile.read(n))
            self.rfile.readline(16)


class _WebhookServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], endpoint: str, max_body: int, log: Any,
                 context: ssl.SSLContext | None) -> None:  # fmt: skip
        self.endpoint = endpoint
        self.max_body = max_body
        self.log = log
        self.payloads: queue.Queue[bytes] = queue.Queue(maxsize=50)  # the Go plugin's channel size
        self.closing = threading.Event()
        self.context = context
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _WebhookHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that disconnects, or speaks plain HTTP to the https port: one debug line, never
        # a traceback on stderr, and the server goes on.
        exc = sys.exc_info()[1]
        self.log.debug("webhook request from %s failed: %s", client_address, exc)

    def server_bind(self) -> None:
        # As HTTPServer.server_bind, without its reverse DNS lookup of the host.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = host, port

    def get_request(self) -> tuple[Any, Any]:
        sock, addr = super().get_request()
        if self.context is not None:
            # The TLS handshake happens in the request's own thread, at its first read.
            sock = self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def enqueue(self, body: bytes) -> None:
        while not self.closing.is_set():
            try:
                self.payloads.put(body, timeout=0.1)
                return
            except queue.Full:
                continue


class AuditWebhookInstance(PushInstance):
    """Audit events POSTed by kube-apiserver's webhook backend (or anything speaking it)."""

    def __init__(self, server: _WebhookServer, decoder: AuditDecoder) -> None:
        super().__init__()
        self.server = server
        self.decoder = decoder
        self._serve = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="k8saudit-webhook", daemon=True)  # fmt: skip
        self._serve.start()

    @property
    def address(self) -> tuple[str, int]:
        """The host and port the server listens on (the port chosen when the params said 0)."""
        host, port = self.server.server_address[:2]
        return host, port

    def produce(self) -> None:
        payloads, decode = self.server.payloads, self.decoder.events
        while not self.closing.is_set():
            try:
                body = payloads.get(timeout=0.05)
            except queue.Empty:
                continue
            for payload, ts in decode(body):
                if not self.push(payload, ts):
                    return

    def close(self) -> None:
        self.server.closing.set()
        self.server.shutdown()
        self.server.server_close()
        self._serve.join(timeout=5.0)
        super().close()
