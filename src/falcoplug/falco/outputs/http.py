"""``http_output``: each alert POSTed to a URL, as falcosidekick and other receivers expect.

The body is the alert line: Falco's JSON object with ``json_output`` (``Content-Type:
application/json``; falcosidekick reads ``output``, ``priority``, ``rule``, ``time``, ``source``,
``tags``, ``hostname`` and ``output_fields`` from it), else the text line (``text/plain``).
TLS follows Falco's keys: ``insecure`` skips verification; ``ca_cert`` / ``ca_bundle`` /
``ca_path`` name what to trust; with ``mtls``, ``client_cert`` and ``client_key`` identify us.
A request that times out is retried, up to ``max_consecutive_timeouts`` times in a row.
"""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import sys
from dataclasses import dataclass
from urllib.parse import urlsplit

from .base import Message, OutputError


@dataclass(frozen=True)
class HttpSettings:
    url: str
    user_agent: str
    insecure: bool = False
    ca_cert: str = ""
    ca_bundle: str = ""
    ca_path: str = "/etc/ssl/certs"
    mtls: bool = False
    client_cert: str = "/etc/ssl/certs/client.crt"
    client_key: str = "/etc/ssl/certs/client.key"
    echo: bool = False
    keep_alive: bool = False
    max_consecutive_timeouts: int = 5
    timeout: float = 2.0


class HttpOutput:
    name = "http"

    def __init__(self, settings: HttpSettings) -> None:
        self.settings = settings
        parts = urlsplit(settings.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise OutputError(f"http_output.url '{settings.url}' is not an http:// or https:// URL")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._context = self._tls_context() if self._https else None
        self._conn: http.client.HTTPConnection | None = None

    def _tls_context(self) -> ssl.SSLContext:
        s = self.settings
        context = ssl.create_default_context()
        if s.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        else:
            cafile = s.ca_cert or s.ca_bundle or None
            capath = s.ca_path if s.ca_path and os.path.isdir(s.ca_path) else None
            if cafile or capath:
                try:
                    context.load_verify_locations(cafile=cafile, capath=capath)
                except (OSError, ssl.SSLError) as exc:
                    raise OutputError(f"http_output: cannot load the CA certificates: {exc}") from None
        if s.mtls:
            try:
                context.load_cert_chain(s.client_cert, s.client_key)
            except (OSError, ssl.SSLError) as exc:
                raise OutputError(f"http_output: cannot load the client certificate: {exc}") from None
        return context

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            timeout = self.settings.timeout
            if self._https:
                self._conn = http.client.HTTPSConnection(self._host, self._port, timeout=timeout, context=self._context)
            else:
                self._conn = http.client.HTTPConnection(self._host, self._port, timeout=timeout)
        return self._conn

    def output(self, message: Message) -> None:
        s = self.settings
        headers = {
            "Content-Type": "application/json" if message.json else "text/plain",
            "User-Agent": s.user_agent,
            "Connection": "keep-alive" if s.keep_alive else "close",
        }
        body = message.text.encode()
        timeouts = 0
        while True:
            try:
                status, reply = self._post(body, headers)
                break
            except (TimeoutError, socket.timeout):
                self._drop_connection()
                timeouts += 1
                if timeouts >= max(1, s.max_consecutive_timeouts):
                    raise OutputError(f"http_output: {s.url} timed out {timeouts} times in a row") from None
            except (OSError, http.client.HTTPException) as exc:
                self._drop_connection()
                reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
                raise OutputError(f"http_output: request to {s.url} failed: {reason}") from None
        if s.echo and reply:
            sys.stdout.write(reply.decode(errors="replace") + "\n")
        if status >= 400:
            raise OutputError(f"http_output: {s.url} answered {status}")

    def _post(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        conn = self._connection()
        conn.request("POST", self._path, body=body, headers=headers)
        response = conn.getresponse()
        reply = response.read()
        if not self.settings.keep_alive or response.will_close:
            self._drop_connection()
        return response.status, reply

    def _drop_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def close(self) -> None:
        self._drop_connection()
