"""k8saudit: a Python port of the official Falco ``k8saudit`` plugin (falcosecurity/plugins,
plugins/k8saudit), written with the falcoplug SDK: Kubernetes audit events in, ``ka.*`` fields out.

Identity as the official plugin: name ``k8saudit``, ID 1, event source ``k8s_audit``, version
0.18.0 (the version the official ``k8s_audit_rules.yaml`` requires).

Open parameters::

    /var/log/audit.log            a file of JSON lines (one audit event, EventList or array per line),
                                  or one JSON document (an EventList, pretty-printed or not)
    /var/log/audit/               every regular file of a folder, oldest modification time first
    http://127.0.0.1:9765/k8s-audit   a webhook server (kube-apiserver's webhook backend) on that
    https://:9765/k8s-audit           address and path; https uses ``sslCertificate``

Init config (all optional)::

    {"maxEventSize": 262144, "webhookMaxBatchSize": 12582912,
     "sslCertificate": "/etc/falco/falco.pem", "sslKey": "", "useAsync": true}

Each audit event becomes one event whose data is its JSON text and whose time is its
``stageTimestamp``. A payload (a line or a POST body) may be an ``Event``, an ``EventList`` (each
item is an event) or an array of them. Payloads that are not JSON, not recognised as audit events,
events without a valid ``stageTimestamp`` and events larger than ``maxEventSize`` are dropped with a
warning in the plugin's log (the official messages: ``data not recognized as a k8s audit event``,
``can't read stageTimestamp``, ``event larger than maxEventSize: size=<n>``); nothing a client
sends stops the stream.

The webhook answers as the official Go server does: only its path exists (others get 404
``404 page not found``), only POST is allowed (405 ``<METHOD> method not allowed``), the
Content-Type must contain ``application/json`` (400 ``wrong Content Type``), a body over
``webhookMaxBatchSize`` bytes gets 400 ``bad request: http: request body too large``; any other
request gets 200 with an empty body, and its events are parsed after the answer (malformed JSON
is logged and dropped).

Fields: the 100 ``ka.*`` fields of the official plugin, in its order, with its types (all strings),
list-ness and arguments. Values are as the Go extractor gives them: strings as they are, other
JSON values as compact JSON text (``ka.response.code`` is ``"201"``, flags ``"true"``), lists
flattened the way its recursive walk flattens them, and no value at all for an event without an
``auditID``.

Decisions where the official code (as read, up to v0.9, plus the v0.10-v0.18 changes as
documented) has a bug that makes a field useless, or could not be read:

- ``ka.sourceips`` reads the event's ``sourceIPs`` (the official code reads
  ``requestObject.rules[*].sourceIPs``, so it never has a value); the index picks one address;
- ``ka.req.pod.*containers.eff_run_as_user`` / ``eff_run_as_group`` read ``runAsUser`` /
  ``runAsGroup`` from the pod's and each container's ``securityContext`` (the official code reads
  them one level too high, so every real pod gives ``0``);
- ``ka.req.pod.*containers.add_capabilities`` lists each added capability (the official code gives
  one JSON array text per container, which ``intersects (SYS_ADMIN)`` can never match);
- ``ka.req.volume.hostpath[path]`` checks every volume (the official code checks only the first,
  as the key argument also arrives as index 0);
- ``ka.cluster.name`` (added in 0.10, code not available) reads ``annotations.cluster_name``, where
  k8saudit-gke puts the cluster name; ``ka.target.pod.name`` is ``objectRef.name`` when the target
  resource is ``pods``; the subject-name fields pick ``requestObject.subjects`` by ``kind``;
- the file source reads lines of any length (the Go scanner fails the stream on a line over
  64 KiB) and opens a folder's files by their full path (not relative to the working directory);
- a lone ``Event`` payload keeps its text (stripped of surrounding whitespace) as the event data;
  events taken out of an ``EventList`` or an array are written as compact JSON (the Go plugin
  re-serialises every event with fastjson; for the compact lines the API server writes both give
  the same bytes);
- the webhook binds its socket when the stream opens, so a busy port fails the open (Go reports
  it at the next batch); ``sslKey`` (an extension) names a separate key file when the key is not
  in ``sslCertificate``; files report their progress (the Go plugin reports none).
"""

from __future__ import annotations

import http.server
import os
import queue
import re
import socket
import socketserver
import sys
import ssl
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, Final

from falcoplug.sdk import (
    EOF,
    Event,
    EventWriter,
    ExtractPlugin,
    Progress,
    PushInstance,
    SourceInstance,
    SourcePlugin,
    Status,
    field,
    option,
)

from .json import MISSING, array_index, compact, document, parse, text_of

# -- config ------------------------------------------------------------------------------------------------


@dataclass
class K8sAuditConfig:
    ssl_certificate: str = option(
        "/etc/falco/falco.pem", alias="sslCertificate", title="SSL certificate",
        description="The SSL Certificate to be used with the HTTPS Webhook endpoint (Default: /etc/falco/falco.pem)",
    )
    use_async: bool = option(
        True, alias="useAsync", title="Use async extraction",
        description="If true then async extraction optimization is enabled (Default: true)",
    )
    max_event_size: int = option(
        262144, alias="maxEventSize", minimum=0, title="Maximum event size",
        description="Maximum size of single audit event (Default: 262144)",
    )
    webhook_max_batch_size: int = option(
        12582912, alias="webhookMaxBatchSize", minimum=0, title="Maximum webhook request size",
        description="Maximum size of incoming webhook POST request bodies (Default: 12582912)",
    )
    ssl_key: str = option(
        "", alias="sslKey", title="SSL key",
        description="The private key of the HTTPS Webhook endpoint, when it is not in sslCertificate (Default: none)",
    )  # fmt: skip


# -- time --------------------------------------------------------------------------------------------------

_RFC3339: Final = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)\Z")
_LAYOUT: Final = "2006-01-02T15:04:05.999999999Z07:00"
_DAYS: Final = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_seconds_cache: dict[str, int] = {}


def _days_from_civil(y: int, m: int, d: int) -> int:
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def parse_time(text: str) -> int:
    """An RFC 3339 time (Go's ``time.RFC3339Nano`` layout) as nanoseconds since the epoch;
    raises ``ValueError`` with a Go-like message."""
    m = _RFC3339.match(text)
    if m is None:
        raise ValueError(f'parsing time "{text}" as "{_LAYOUT}": cannot parse "{text}" as RFC 3339')
    head = text[:19]
    secs = _seconds_cache.get(head)
    if secs is None:
        y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
        leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
        if not 1 <= mo <= 12:
            raise ValueError(f'parsing time "{text}": month out of range')
        if not 1 <= d <= _DAYS[mo - 1] + (mo == 2 and leap):
            raise ValueError(f'parsing time "{text}": day out of range')
        if h > 23 or mi > 59 or s > 59:
            raise ValueError(f'parsing time "{text}": hour, minute or second out of range')
        secs = _days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s
        if len(_seconds_cache) > 65536:
            _seconds_cache.clear()
        _seconds_cache[head] = secs
    frac, zone = m.group(7), m.group(8)
    ns = secs * 1_000_000_000 + (int(frac[:9].ljust(9, "0")) if frac else 0)
    if zone != "Z":
        zh, zm = int(zone[1:3]), int(zone[4:6])
        if zh > 23 or zm > 59:
            raise ValueError(f'parsing time "{text}": time zone offset out of range')
        offset = (zh * 3600 + zm * 60) * 1_000_000_000
        ns = ns - offset if zone[0] == "+" else ns + offset
    return ns


# -- payloads to events --------------------------------------------------------------------------------------


class _NotAudit(ValueError):
    """A payload that is JSON but not an audit event, an EventList or an array of them."""


def _audit_items(value: Any) -> list[Any]:
    """The audit events of a parsed payload (the official ``ParseAuditEventsJSON``)."""
    if type(value) is list:
        out: list[Any] = []
        for item in value:
            out += _audit_items(item)  # any element not recognised drops the whole payload
        return out
    if type(value) is dict:
        kind = value.get("kind")
        if kind == "EventList" and type(value.get("items")) is list:
            return list(value["items"])
        if kind == "Event":
            return [value]
    raise _NotAudit("data not recognized as a k8s audit event")


try:  # a faster parser for the sourcing check (every line is parsed once here, once to extract)
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a dependency; the standard library still works
    _orjson = None


def _fast_parse(data: bytes) -> Any:
    """The JSON document in ``data``, for checking what it is; raises ``ValueError``."""
    if _orjson is not None:
        try:
            return _orjson.loads(data)
        except ValueError:
            pass  # invalid UTF-8 the standard parser replaces, or really not JSON: it decides
    return parse(data)


class AuditDecoder:
    """Turns payloads (file lines, POST bodies) into ``(event data, timestamp)`` pairs, logging
    and dropping what the official plugin drops."""

    def __init__(self, log: Any, max_event_size: int) -> None:
        self.log = log
        self.max_event_size = max_event_size
        self.dropped = 0

    def events(self, data: bytes, doc: Any = MISSING) -> list[tuple[bytes, int]]:
        if doc is MISSING:
            try:
                doc = _fast_parse(data)
            except ValueError as exc:
                self._drop(f"cannot parse JSON: {exc}")
                return []
        try:
            items = _audit_items(doc)
        except _NotAudit as exc:
            self._drop(str(exc))
            return []
        if len(items) > 1 and _orjson is not None:
            # events out of an EventList are written back as JSON: parse the list again with the
            # json plugin's parser, which keeps each number's text as written
            items = _audit_items(parse(data))
        out = []
        single = len(items) == 1 and items[0] is doc
        text = data.strip()
        for item in items:
            if type(item) is not dict or "stageTimestamp" not in item:
                self._drop("can't read stageTimestamp")
                continue
            stamp = item["stageTimestamp"]
            try:
                ts = parse_time(stamp if type(stamp) is str else "")
            except ValueError as exc:
                self._drop(str(exc))
                continue
            if ts < 0:
                self._drop(f"stageTimestamp before 1970: {stamp}")
                continue
            payload = text if single and b"\n" not in text else compact(item).encode()
            if len(payload) > self.max_event_size:
                self._drop(f"event larger than maxEventSize: size={len(payload)}")
                continue
            out.append((payload, ts))
        return out

    def _drop(self, message: str) -> None:
        self.dropped += 1
        self.log.warning("%s", message)


# -- file source ---------------------------------------------------------------------------------------------


class AuditFileInstance(SourceInstance):
    """Audit events from files: JSON lines, or one JSON document per file."""

    def __init__(self, paths: list[str], decoder: AuditDecoder) -> None:
        self.paths = paths
        self.decoder = decoder
        self.total = sum(os.path.getsize(p) for p in paths)
        self.done = 0
        self._events = self._generate()
        self._file: BinaryIO | None = None
        self._finished = False

    def _generate(self) -> Iterator[tuple[bytes, int]]:
        decode = self.decoder.events
        for path in self.paths:
            with open(path, "rb") as file:  # noqa: PTH123
                self._file = file
                document_doc = self._whole_document(file)
                if document_doc is not MISSING:
                    text, doc = document_doc
                    self.done += len(text)
                    yield from decode(text, doc)
                    continue
                for line in file:
                    self.done += len(line)
                    line = line.rstrip(b"\n")
                    if line.endswith(b"\r"):
                        line = line[:-1]
                    if line:
                        yield from decode(line)
            self._file = None
        self.done = self.total

    @staticmethod
    def _whole_document(file: BinaryIO) -> tuple[bytes, Any] | Any:
        """``(text, document)`` when the file is one JSON document spread over several lines
        (a pretty-printed EventList); :data:`MISSING` for JSON lines."""
        first = file.readline()
        while first and not first.strip():
            first = file.readline()
        file.seek(0)
        stripped = first.strip()
        if not stripped or stripped[:1] not in (b"{", b"["):
            return MISSING
        try:
            parse(stripped)
            return MISSING  # the first line is a document of its own: JSON lines
        except ValueError:
            pass
        text = file.read()
        try:
            doc = parse(text)
        except ValueError:
            file.seek(0)
            return MISSING
        return text, doc

    def next_batch(self, events: EventWriter) -> Status | None:
        if self._finished:
            return EOF
        room = events.remaining
        if events.extend(self._events) < room:
            self._finished = True
            return EOF
        return None

    def progress(self) -> Progress:
        pct = 100.0 * self.done / self.total if self.total else 100.0
        return Progress(pct, f"{self.done}/{self.total} bytes")

    def close(self) -> None:
        self._events.close()  # closes the open file


# -- webhook source ------------------------------------------------------------------------------------------


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


# -- open params ---------------------------------------------------------------------------------------------

_SCHEME: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")


def _scheme(params: str) -> str:
    """The URL scheme of the open params, as Go's ``url.Parse`` finds it ("" for none)."""
    if any(ord(c) < 0x20 or c == "\x7f" for c in params):
        raise ValueError(f'parse "{params}": net/url: invalid control character in URL')
    if params.startswith(":"):
        raise ValueError(f'parse "{params}": missing protocol scheme')
    m = _SCHEME.match(params)
    return m.group(1).lower() if m else ""


def _folder_files(folder: str) -> list[str]:
    entries = [e for e in os.scandir(folder) if e.is_file()]
    entries.sort(key=lambda e: (e.stat().st_mtime_ns, e.name))
    return [e.path for e in entries]


# -- field helpers -------------------------------------------------------------------------------------------

RO: Final = "requestObject"


# The last payload seen by a field and its audit document (one tuple: threads see a matching pair).
_last_audit: tuple[bytes | None, dict[str, Any] | None] = (None, None)


def _audit(event: Event) -> dict[str, Any] | None:
    """The event's audit document, or ``None`` when it has none (no value for any field)."""
    global _last_audit
    payload = event.payload
    last = _last_audit
    if payload is last[0]:  # the fields of one event share its payload object
        return last[1]
    doc = document(payload)
    audit = doc if type(doc) is dict and "auditID" in doc else None
    _last_audit = (payload, audit)
    return audit


def _get1(node: Any, key: str) -> Any:
    """fastjson ``Get`` of one key: an object member, an array element by decimal index, else missing."""
    t = type(node)
    if t is dict:
        return node.get(key, MISSING)
    if t is list:
        i = array_index(key)
        return node[i] if i is not None and 0 <= i < len(node) else MISSING
    return MISSING


def _get(node: Any, *keys: str) -> Any:
    for key in keys:
        node = node.get(key, MISSING) if type(node) is dict else _get1(node, key)
        if node is MISSING:
            return MISSING
    return node


def _scalar(doc: dict[str, Any] | None, *keys: str) -> str | None:
    """The official ``extractFromKeys`` for a string field."""
    if doc is None:
        return None
    node: Any = doc
    for key in keys:
        node = node.get(key, MISSING) if type(node) is dict else _get1(node, key)
        if node is MISSING:
            return None
    return node if type(node) is str else compact(node)


def _array(doc: dict[str, Any] | None, *keys: str) -> list[str] | None:
    """``extractFromKeys`` for a list field: the value must be an array; each element as text."""
    if doc is None:
        return None
    value = _get(doc, *keys)
    if type(value) is not list:
        return None
    return [text_of(v) for v in value]


def _walk(node: Any, index: int | None, keys: tuple[str, ...], start: int = 0) -> list[Any] | None:
    """The official ``getValuesRecursive``: follow ``keys``; an array met before a key fans out
    over its elements (a missing rest of the path gives a :data:`MISSING` slot) or, with an index,
    takes that element of every array met. ``None``: the path is not available."""
    for i in range(start, len(keys)):
        if type(node) is list:
            if index is None:
                out: list[Any] = []
                for element in node:
                    sub = _walk(element, None, keys, i)
                    if sub is None:
                        out.append(MISSING)
                    else:
                        out += sub
                return out
            if index >= len(node):
                return None
            node = node[index]
        key = keys[i]
        if key:
            node = _get1(node, key)
            if node is MISSING:
                return None
    return [node]


def _skip_nil(values: list[Any] | None) -> list[str] | None:
    if values is None:
        return None
    return [v if type(v) is str else compact(v) for v in values if v is not MISSING]


def _repository(image: str) -> str:
    return image.split(":", 1)[0].split("@", 1)[0]


def _images(doc: dict[str, Any] | None, kind: str, index: int | None) -> list[str] | None:
    """Container images; any selected container without an image means no value (as the official)."""
    if doc is None:
        return None
    values = _walk(doc, index, (RO, "spec", kind, "image"))
    if values is None or any(v is MISSING for v in values):
        return None
    return [text_of(v) for v in values]


def _repos(doc: dict[str, Any] | None, kind: str, index: int | None) -> list[str] | None:
    images = _images(doc, kind, index)
    return None if images is None else [_repository(i) for i in images]


def _per_container(doc: dict[str, Any] | None, kind: str, index: int | None, *keys: str) -> list[str] | None:
    if doc is None:
        return None
    return _skip_nil(_walk(doc, index, (RO, "spec", kind, *keys)))


def _effective(doc: dict[str, Any] | None, kind: str, index: int | None, key: str) -> list[str] | None:
    """The pod's securityContext value (else ``"0"``) overridden by each container's."""
    if doc is None:
        return None
    pod = _get(doc, RO, "spec", "securityContext", key)
    default = "0" if pod is MISSING else text_of(pod)
    containers = _walk(doc, index, (RO, "spec", kind, ""))  # "": the container itself
    if containers is None:
        return None
    values = [_get(c, "securityContext", key) for c in containers]
    return [default if v is MISSING else text_of(v) for v in values]


def _capabilities(doc: dict[str, Any] | None, kind: str, index: int | None) -> list[str] | None:
    if doc is None:
        return None
    values = _walk(doc, index, (RO, "spec", kind, "securityContext", "capabilities", "add"))
    if values is None:
        return None
    out: list[str] = []
    for v in values:
        if type(v) is list:
            out += [text_of(c) for c in v]
        elif v is not MISSING:
            out.append(text_of(v))
    return out


def _host_ports(doc: dict[str, Any] | None, kind: str, index: int | None) -> list[str] | None:
    if doc is None:
        return None
    values = _walk(doc, index, (RO, "spec", kind, "ports"))
    if values is None:
        return None
    out: list[str] = []
    for ports in values:
        if ports is MISSING:
            continue
        if type(ports) is not list:
            return None  # a "ports" that is not an array: the official extraction fails
        for port in ports:
            value = _get1(port, "hostPort")
            if value is MISSING:
                value = _get1(port, "containerPort")
            if value is not MISSING:
                out.append(text_of(value))
    return out


def _rules_field(doc: dict[str, Any] | None, index: int | None, key: str) -> list[str] | None:
    if doc is None:
        return None
    values = _walk(doc, index, (RO, "rules", key))
    if values is None:
        return None
    out: list[str] = []
    for v in values:
        if type(v) is list:
            out += [text_of(x) for x in v]
    return out


def _subject_names(doc: dict[str, Any] | None, kind: str, with_namespace: bool = False) -> list[str] | None:
    if doc is None:
        return None
    subjects = _get(doc, RO, "subjects")
    if type(subjects) is not list:
        return None
    out: list[str] = []
    for subject in subjects:
        if type(subject) is not dict or subject.get("kind") != kind or "name" not in subject:
            continue
        name = text_of(subject["name"])
        if with_namespace:
            ns = subject.get("namespace", "")
            name = f"{text_of(ns)}:{name}"
        out.append(name)
    return out


_ESCAPE_ERROR: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _query_unescape(text: str) -> str | None:
    if _ESCAPE_ERROR.search(text):
        return None
    raw = urllib.parse.unquote_to_bytes(text.replace("+", " "))
    return raw.decode("utf-8", "replace").split("\0", 1)[0]


def uri_param(uri: str, key: str) -> str | None:
    """The first value of a query parameter, as Go's ``url.Parse`` + ``url.ParseQuery`` give it;
    ``None`` when absent or when the URI or its query does not parse."""
    if any(ord(c) < 0x20 or c == "\x7f" for c in uri):
        return None
    rest, _, fragment = uri.partition("#")
    path, _, query = rest.partition("?")
    if _ESCAPE_ERROR.search(path) or _ESCAPE_ERROR.search(fragment):
        return None
    first: str | None = None
    failed = False
    for part in query.split("&"):
        if ";" in part:
            failed = True
            continue
        if not part:
            continue
        k, _, v = part.partition("=")
        k2, v2 = _query_unescape(k), _query_unescape(v)
        if k2 is None or v2 is None:
            failed = True
            continue
        if k2 == key and first is None:
            first = v2
    return None if failed else first


# -- the plugin ----------------------------------------------------------------------------------------------


class K8sAuditPlugin(SourcePlugin, ExtractPlugin):
    """Read Kubernetes Audit Events and monitor Kubernetes Clusters"""

    name = "k8saudit"
    version = "0.18.0"
    description = "Read Kubernetes Audit Events and monitor Kubernetes Clusters"
    contact = "github.com/falcosecurity/plugins"
    id = 1
    event_source = "k8s_audit"
    batch_capacity = 512
    max_event_size = (64 << 20) - 38

    def init(self, config: K8sAuditConfig) -> None:
        self.config = config

    # -- sourcing -------------------------------------------------------------------------------------------
    def _decoder(self) -> AuditDecoder:
        limit = min(self.config.max_event_size, type(self).max_event_size)
        return AuditDecoder(self.log, limit)

    def open(self, params: str) -> SourceInstance:
        scheme = _scheme(params)
        if scheme in ("http", "https"):
            return self._open_webhook(params, scheme == "https")
        if scheme:
            raise ValueError(f'scheme "{scheme}" is not supported')
        path = params.strip()
        if not os.path.exists(path):
            raise FileNotFoundError(f"stat {path}: no such file or directory")
        paths = _folder_files(path) if os.path.isdir(path) else [path]
        return AuditFileInstance(paths, self._decoder())

    def _open_webhook(self, params: str, tls: bool) -> AuditWebhookInstance:
        url = urllib.parse.urlsplit(params)
        netloc = url.netloc.rsplit("@", 1)[-1]
        host, sep, port_text = netloc.rpartition(":")
        if not sep or "]" in port_text:
            raise ValueError(f"listen tcp {netloc}: address {netloc}: missing port in address")
        host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        try:
            port = int(port_text) if port_text else (443 if tls else 80)
        except ValueError:
            raise ValueError(f'listen tcp: lookup port "{port_text}": unknown port') from None
        endpoint = urllib.parse.unquote(url.path)
        if not endpoint:
            raise ValueError("http: invalid pattern: the webhook URL needs a path (e.g. /k8s-audit)")
        context = None
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.config.ssl_certificate, self.config.ssl_key or None)
        server = _WebhookServer((host, port), endpoint, self.config.webhook_max_batch_size, self.log, context)
        bound_host, bound_port = server.server_address[:2]
        scheme = "https" if tls else "http"
        self.log.info("webhook listening on %s://%s:%d%s", scheme, bound_host or "*", bound_port, endpoint)
        return AuditWebhookInstance(server, self._decoder())

    def event_to_string(self, event: Event) -> str:
        return event.payload.decode("utf-8", "replace")

    # -- fields (in the official order) ----------------------------------------------------------------------
    @field("ka.auditid", desc="The unique id of the audit event")
    def auditid(self, event: Event) -> str | None:
        return _scalar(_audit(event), "auditID")

    @field("ka.stage", desc="Stage of the request (e.g. RequestReceived, ResponseComplete, etc.)")
    def stage(self, event: Event) -> str | None:
        return _scalar(_audit(event), "stage")

    @field("ka.auth.decision", desc="The authorization decision")
    def auth_decision(self, event: Event) -> str | None:
        return _scalar(_audit(event), "annotations", "authorization.k8s.io/decision")

    @field("ka.auth.reason", desc="The authorization reason")
    def auth_reason(self, event: Event) -> str | None:
        return _scalar(_audit(event), "annotations", "authorization.k8s.io/reason")

    @field(
        "ka.auth.openshift.decision",
        desc=(
            "The authentication decision of the openshfit apiserver extention. Only available on "
            "openshift clusters"
        ),
    )
    def auth_openshift_decision(self, event: Event) -> str | None:
        return _scalar(_audit(event), "annotations", "authentication.openshift.io/decision")

    @field(
        "ka.validations.admission.policy.failure",
        desc="The validation failure reason from a Validation Admission Policy",
    )
    def validations_failure(self, event: Event) -> str | None:
        return _scalar(_audit(event), "annotations", "validation.policy.admission.k8s.io/validation_failure")

    @field("ka.security.pod.violations", desc="The violation reason for pod security policy")
    def security_pod_violations(self, event: Event) -> str | None:
        return _scalar(_audit(event), "annotations", "pod-security.kubernetes.io/audit-violations")

    @field(
        "ka.auth.openshift.username",
        desc=(
            "The user name performing the openshift authentication operation. Only available on openshift"
            " clusters"
        ),
    )
    def auth_openshift_username(self, event: Event) -> str | None:
        return _scalar(_audit(event), "annotations", "authentication.openshift.io/username")

    @field("ka.user.name", desc="The user name performing the request")
    def user_name(self, event: Event) -> str | None:
        return _scalar(_audit(event), "user", "username")

    @field("ka.user.groups", desc="The groups to which the user belongs")
    def user_groups(self, event: Event) -> list[str] | None:
        return _array(_audit(event), "user", "groups")

    @field("ka.impuser.name", desc="The impersonated user name")
    def impuser_name(self, event: Event) -> str | None:
        return _scalar(_audit(event), "impersonatedUser", "username")

    @field("ka.verb", desc="The action being performed")
    def verb(self, event: Event) -> str | None:
        return _scalar(_audit(event), "verb")

    @field("ka.uri", desc="The request URI as sent from client to server")
    def uri(self, event: Event) -> str | None:
        return _scalar(_audit(event), "requestURI")

    @field(
        "ka.uri.param",
        desc=(
            "The value of a given query parameter in the uri (e.g. when uri=/foo?key=val, "
            "ka.uri.param[key] is val)."
        ),
    )
    def uri_param(self, event: Event, key: str) -> str | None:
        uri = _scalar(_audit(event), "requestURI")
        return None if uri is None else uri_param(uri, key)

    @field("ka.target.name", desc="The target object name")
    def target_name(self, event: Event) -> str | None:
        return _scalar(_audit(event), "objectRef", "name")

    @field("ka.target.namespace", desc="The target object namespace")
    def target_namespace(self, event: Event) -> str | None:
        return _scalar(_audit(event), "objectRef", "namespace")

    @field("ka.target.resource", desc="The target object resource")
    def target_resource(self, event: Event) -> str | None:
        return _scalar(_audit(event), "objectRef", "resource")

    @field("ka.target.subresource", desc="The target object subresource")
    def target_subresource(self, event: Event) -> str | None:
        return _scalar(_audit(event), "objectRef", "subresource")

    @field("ka.target.pod.name", desc="The target pod name")
    def target_pod_name(self, event: Event) -> str | None:
        doc = _audit(event)
        if doc is None or _get(doc, "objectRef", "resource") != "pods":
            return None
        return _scalar(doc, "objectRef", "name")

    @field(
        "ka.req.binding.subjects",
        desc=(
            "When the request object refers to a cluster role binding, the subject (e.g. account/users) "
            "being linked by the binding"
        ),
    )
    def binding_subjects(self, event: Event) -> list[str] | None:
        return _array(_audit(event), RO, "subjects")

    @field(
        "ka.req.binding.subjects.user_names",
        desc=(
            "When the request object refers to a cluster role binding, the subject user names being "
            "linked by the binding"
        ),
    )
    def binding_user_names(self, event: Event) -> list[str] | None:
        return _subject_names(_audit(event), "User")

    @field(
        "ka.req.binding.subjects.serviceaccount_names",
        desc=(
            "When the request object refers to a cluster role binding, the subject service account names "
            "being linked by the binding"
        ),
    )
    def binding_serviceaccount_names(self, event: Event) -> list[str] | None:
        return _subject_names(_audit(event), "ServiceAccount")

    @field(
        "ka.req.binding.subjects.serviceaccount_ns_names",
        desc=(
            "When the request object refers to a cluster role binding, the subject serviceaccount "
            "namespaced names being linked by the binding, e.g. a list containing: "
            "mynamespace:myserviceaccount"
        ),
    )
    def binding_serviceaccount_ns_names(self, event: Event) -> list[str] | None:
        return _subject_names(_audit(event), "ServiceAccount", with_namespace=True)

    @field(
        "ka.req.binding.subjects.group_names",
        desc=(
            "When the request object refers to a cluster role binding, the subject group names being "
            "linked by the binding"
        ),
    )
    def binding_group_names(self, event: Event) -> list[str] | None:
        return _subject_names(_audit(event), "Group")

    @field(
        "ka.req.binding.role",
        desc=(
            "When the request object refers to a cluster role binding, the role being linked by the "
            "binding"
        ),
    )
    def binding_role(self, event: Event) -> str | None:
        return _scalar(_audit(event), RO, "roleRef", "name")

    @field(
        "ka.req.binding.subject.has_name",
        desc='Deprecated, always returns "N/A". Only provided for backwards compatibility',
    )
    def binding_subject_has_name(self, event: Event, name: str) -> str | None:
        # As the official plugin (and the legacy implementation before it): always "true".
        return None if _audit(event) is None else "true"

    @field("ka.req.configmap.name", desc="If the request object refers to a configmap, the configmap name")
    def configmap_name(self, event: Event) -> str | None:
        return _scalar(_audit(event), "objectRef", "name")

    @field(
        "ka.req.configmap.obj",
        desc="If the request object refers to a configmap, the entire configmap object",
    )
    def configmap_obj(self, event: Event) -> str | None:
        return _scalar(_audit(event), RO, "data")

    @field(
        "ka.req.pod.containers.args",
        desc="When the request object refers to a pod, the container's args.",
    )
    def containers_args(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "containers", index, "args")

    @field(
        "ka.req.pod.containers.command",
        desc="When the request object refers to a pod, the container's command.",
    )
    def containers_command(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "containers", index, "command")

    @field(
        "ka.req.pod.containers.name",
        desc="When the request object refers to a pod, the container's names.",
    )
    def containers_name(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "containers", index, "name")

    @field(
        "ka.req.pod.containers.image",
        desc="When the request object refers to a pod, the container's images.",
    )
    def containers_image(self, event: Event, index: int | None = None) -> list[str] | None:
        return _images(_audit(event), "containers", index)

    @field(
        "ka.req.container.image",
        desc="Deprecated by ka.req.pod.containers.image. Returns the image of the first container only",
    )
    def container_image(self, event: Event) -> str | None:
        images = _images(_audit(event), "containers", 0)
        return images[0] if images else None

    @field(
        "ka.req.pod.containers.image.repository",
        desc="The same as req.container.image, but only the repository part (e.g. falcosecurity/falco).",
    )
    def containers_image_repository(self, event: Event, index: int | None = None) -> list[str] | None:
        return _repos(_audit(event), "containers", index)

    @field(
        "ka.req.container.image.repository",
        desc=(
            "Deprecated by ka.req.pod.containers.image.repository. Returns the repository of the first "
            "container only"
        ),
    )
    def container_image_repository(self, event: Event) -> str | None:
        repos = _repos(_audit(event), "containers", 0)
        return repos[0] if repos else None

    @field(
        "ka.req.pod.host_ipc",
        desc="When the request object refers to a pod, the value of the hostIPC flag.",
    )
    def pod_host_ipc(self, event: Event) -> str | None:
        return _scalar(_audit(event), RO, "spec", "hostIPC")

    @field(
        "ka.req.pod.host_network",
        desc="When the request object refers to a pod, the value of the hostNetwork flag.",
    )
    def pod_host_network(self, event: Event) -> str | None:
        return _scalar(_audit(event), RO, "spec", "hostNetwork")

    @field("ka.req.container.host_network", desc="Deprecated alias for ka.req.pod.host_network")
    def container_host_network(self, event: Event) -> str | None:
        return _scalar(_audit(event), RO, "spec", "hostNetwork")

    @field(
        "ka.req.pod.host_pid",
        desc="When the request object refers to a pod, the value of the hostPID flag.",
    )
    def pod_host_pid(self, event: Event) -> str | None:
        return _scalar(_audit(event), RO, "spec", "hostPID")

    @field(
        "ka.req.pod.containers.host_port",
        desc="When the request object refers to a pod, all container's hostPort values.",
    )
    def containers_host_port(self, event: Event, index: int | None = None) -> list[str] | None:
        return _host_ports(_audit(event), "containers", index)

    @field(
        "ka.req.pod.containers.privileged",
        desc=(
            "When the request object refers to a pod, the value of the privileged flag for all "
            "containers."
        ),
    )
    def containers_privileged(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "containers", index, "securityContext", "privileged")

    @field(
        "ka.req.container.privileged",
        desc=(
            "Deprecated by ka.req.pod.containers.privileged. Returns true if any container has "
            "privileged=true"
        ),
    )
    def container_privileged(self, event: Event) -> str | None:
        doc = _audit(event)
        if doc is None:
            return None
        values = _walk(doc, None, (RO, "spec", "containers", "securityContext", "privileged"))
        if values is None:
            return None
        return "true" if any(v is True for v in values) else "false"

    @field(
        "ka.req.pod.containers.allow_privilege_escalation",
        desc=(
            "When the request object refers to a pod, the value of the allowPrivilegeEscalation flag for "
            "all containers"
        ),
    )
    def containers_allow_privilege_escalation(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "containers", index, "securityContext", "allowPrivilegeEscalation")

    @field(
        "ka.req.pod.containers.read_only_fs",
        desc=(
            "When the request object refers to a pod, the value of the readOnlyRootFilesystem flag for "
            "all containers"
        ),
    )
    def containers_read_only_fs(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "containers", index, "securityContext", "readOnlyRootFilesystem")

    @field(
        "ka.req.pod.run_as_user",
        desc=(
            "When the request object refers to a pod, the runAsUser uid specified in the security context"
            " for the pod. See ....containers.run_as_user for the runAsUser for individual containers"
        ),
    )
    def pod_run_as_user(self, event: Event) -> str | None:
        return _scalar(_audit(event), RO, "spec", "securityContext", "runAsUser")

    @field(
        "ka.req.pod.containers.run_as_user",
        desc="When the request object refers to a pod, the runAsUser uid for all containers",
    )
    def containers_run_as_user(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "containers", index, "securityContext", "runAsUser")

    @field(
        "ka.req.pod.containers.eff_run_as_user",
        desc=(
            "When the request object refers to a pod, the initial uid that will be used for all "
            "containers. This combines information from both the pod and container security contexts and "
            "uses 0 if no uid is specified"
        ),
    )
    def containers_eff_run_as_user(self, event: Event, index: int | None = None) -> list[str] | None:
        return _effective(_audit(event), "containers", index, "runAsUser")

    @field(
        "ka.req.pod.run_as_group",
        desc=(
            "When the request object refers to a pod, the runAsGroup gid specified in the security "
            "context for the pod. See ....containers.run_as_group for the runAsGroup for individual "
            "containers"
        ),
    )
    def pod_run_as_group(self, event: Event) -> str | None:
        return _scalar(_audit(event), RO, "spec", "securityContext", "runAsGroup")

    @field(
        "ka.req.pod.containers.run_as_group",
        desc="When the request object refers to a pod, the runAsGroup gid for all containers",
    )
    def containers_run_as_group(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "containers", index, "securityContext", "runAsGroup")

    @field(
        "ka.req.pod.containers.eff_run_as_group",
        desc=(
            "When the request object refers to a pod, the initial gid that will be used for all "
            "containers. This combines information from both the pod and container security contexts and "
            "uses 0 if no gid is specified"
        ),
    )
    def containers_eff_run_as_group(self, event: Event, index: int | None = None) -> list[str] | None:
        return _effective(_audit(event), "containers", index, "runAsGroup")

    @field(
        "ka.req.pod.containers.proc_mount",
        desc="When the request object refers to a pod, the procMount types for all containers",
    )
    def containers_proc_mount(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "containers", index, "securityContext", "procMount")

    @field(
        "ka.req.role.rules",
        desc="When the request object refers to a role/cluster role, the rules associated with the role",
    )
    def role_rules(self, event: Event) -> list[str] | None:
        return _array(_audit(event), RO, "rules")

    @field(
        "ka.req.role.rules.apiGroups",
        desc=(
            "When the request object refers to a role/cluster role, the api groups associated with the "
            "role's rules"
        ),
    )
    def role_rules_api_groups(self, event: Event, index: int | None = None) -> list[str] | None:
        return _rules_field(_audit(event), index, "apiGroups")

    @field(
        "ka.req.role.rules.nonResourceURLs",
        desc=(
            "When the request object refers to a role/cluster role, the non resource urls associated with"
            " the role's rules"
        ),
    )
    def role_rules_non_resource_urls(self, event: Event, index: int | None = None) -> list[str] | None:
        return _rules_field(_audit(event), index, "nonResourceURLs")

    @field(
        "ka.req.role.rules.verbs",
        desc=(
            "When the request object refers to a role/cluster role, the verbs associated with the role's "
            "rules"
        ),
    )
    def role_rules_verbs(self, event: Event, index: int | None = None) -> list[str] | None:
        return _rules_field(_audit(event), index, "verbs")

    @field(
        "ka.req.role.rules.resources",
        desc=(
            "When the request object refers to a role/cluster role, the resources associated with the "
            "role's rules"
        ),
    )
    def role_rules_resources(self, event: Event, index: int | None = None) -> list[str] | None:
        return _rules_field(_audit(event), index, "resources")

    @field(
        "ka.req.pod.fs_group",
        desc="When the request object refers to a pod, the fsGroup gid specified by the security context.",
    )
    def pod_fs_group(self, event: Event) -> str | None:
        return _scalar(_audit(event), RO, "spec", "securityContext", "fsGroup")

    @field(
        "ka.req.pod.supplemental_groups",
        desc=(
            "When the request object refers to a pod, the supplementalGroup gids specified by the "
            "security context."
        ),
    )
    def pod_supplemental_groups(self, event: Event) -> list[str] | None:
        return _array(_audit(event), RO, "spec", "securityContext", "supplementalGroups")

    @field(
        "ka.req.pod.containers.add_capabilities",
        desc="When the request object refers to a pod, all capabilities to add when running the container.",
    )
    def containers_add_capabilities(self, event: Event, index: int | None = None) -> list[str] | None:
        return _capabilities(_audit(event), "containers", index)

    @field("ka.req.service.type", desc="When the request object refers to a service, the service type")
    def service_type(self, event: Event) -> str | None:
        return _scalar(_audit(event), RO, "spec", "type")

    @field("ka.req.service.ports", desc="When the request object refers to a service, the service's ports")
    def service_ports(self, event: Event, index: int | None = None) -> list[str] | None:
        # As the official plugin: the path ends at "ports", so the array is one value (its JSON
        # text) and the index is never applied.
        doc = _audit(event)
        return None if doc is None else _skip_nil(_walk(doc, index, (RO, "spec", "ports")))

    @field(
        "ka.req.pod.volumes.hostpath",
        desc="When the request object refers to a pod, all hostPath paths specified for all volumes",
    )
    def volumes_hostpath(self, event: Event, index: int | None = None) -> list[str] | None:
        doc = _audit(event)
        return None if doc is None else _skip_nil(_walk(doc, index, (RO, "spec", "volumes", "hostPath", "path")))

    @field(
        "ka.req.volume.hostpath",
        desc=(
            "Deprecated by ka.req.pod.volumes.hostpath. Return true if the provided (host) path prefix is"
            " used by any volume"
        ),
    )
    def volume_hostpath(self, event: Event, path: str) -> str | None:
        doc = _audit(event)
        if doc is None:
            return None
        paths = _skip_nil(_walk(doc, None, (RO, "spec", "volumes", "hostPath", "path")))
        if paths is None:
            return None
        prefix = path[:-1] if path.endswith("*") else None
        for p in paths:
            if p == path or (prefix is not None and p.startswith(prefix)):
                return "true"
        return "false"

    @field(
        "ka.req.pod.volumes.flexvolume_driver",
        desc="When the request object refers to a pod, all flexvolume drivers specified for all volumes",
    )
    def volumes_flexvolume_driver(self, event: Event, index: int | None = None) -> list[str] | None:
        doc = _audit(event)
        return None if doc is None else _skip_nil(_walk(doc, index, (RO, "spec", "volumes", "flexVolume", "driver")))

    @field(
        "ka.req.pod.volumes.volume_type",
        desc="When the request object refers to a pod, all volume types for all volumes",
    )
    def volumes_volume_type(self, event: Event, index: int | None = None) -> list[str] | None:
        doc = _audit(event)
        if doc is None:
            return None
        volumes = _walk(doc, index, (RO, "spec", "volumes", ""))
        if volumes is None:
            return None
        return [key for v in volumes if type(v) is dict for key in v if key != "name"]

    @field("ka.resp.name", desc="The response object name")
    def resp_name(self, event: Event) -> str | None:
        return _scalar(_audit(event), "responseObject", "metadata", "name")

    @field("ka.response.code", desc="The response code")
    def response_code(self, event: Event) -> str | None:
        return _scalar(_audit(event), "responseStatus", "code")

    @field("ka.response.reason", desc="The response reason (usually present only for failures)")
    def response_reason(self, event: Event) -> str | None:
        return _scalar(_audit(event), "responseStatus", "reason")

    @field("ka.useragent", desc="The useragent of the client who made the request to the apiserver")
    def useragent(self, event: Event) -> str | None:
        return _scalar(_audit(event), "userAgent")

    @field("ka.sourceips", desc="The IP addresses of the client who made the request to the apiserver")
    def sourceips(self, event: Event, index: int | None = None) -> list[str] | None:
        ips = _array(_audit(event), "sourceIPs")
        if ips is None or index is None:
            return ips
        return [ips[index]] if index < len(ips) else None

    @field("ka.cluster.name", desc="The name of the k8s cluster")
    def cluster_name(self, event: Event) -> str | None:
        return _scalar(_audit(event), "annotations", "cluster_name")

    # -- init containers (k8saudit 0.18) ---------------------------------------------------------------------
    @field(
        "ka.req.pod.initContainers.name",
        desc="When the request object refers to a pod, the init containers names.",
    )
    def init_name(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "initContainers", index, "name")

    @field(
        "ka.req.pod.initContainers.image",
        desc="When the request object refers to a pod, the init containers images.",
    )
    def init_image(self, event: Event, index: int | None = None) -> list[str] | None:
        return _images(_audit(event), "initContainers", index)

    @field(
        "ka.req.pod.initContainers.image.repository",
        desc=(
            "The same as ka.req.pod.initContainers.image, but only the repository part (e.g. "
            "falcosecurity/falco)."
        ),
    )
    def init_image_repository(self, event: Event, index: int | None = None) -> list[str] | None:
        return _repos(_audit(event), "initContainers", index)

    @field(
        "ka.req.pod.initContainers.command",
        desc="When the request object refers to a pod, the init containers commands.",
    )
    def init_command(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "initContainers", index, "command")

    @field(
        "ka.req.pod.initContainers.args",
        desc="When the request object refers to a pod, the init containers args.",
    )
    def init_args(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "initContainers", index, "args")

    @field(
        "ka.req.pod.initContainers.privileged",
        desc=(
            "When the request object refers to a pod, the value of the privileged flag for all init "
            "containers."
        ),
    )
    def init_privileged(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "initContainers", index, "securityContext", "privileged")

    @field(
        "ka.req.pod.initContainers.allow_privilege_escalation",
        desc=(
            "When the request object refers to a pod, the value of the allowPrivilegeEscalation flag for "
            "all init containers."
        ),
    )
    def init_allow_privilege_escalation(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "initContainers", index, "securityContext", "allowPrivilegeEscalation")

    @field(
        "ka.req.pod.initContainers.read_only_fs",
        desc=(
            "When the request object refers to a pod, the value of the readOnlyRootFilesystem flag for "
            "all init containers."
        ),
    )
    def init_read_only_fs(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "initContainers", index, "securityContext", "readOnlyRootFilesystem")

    @field(
        "ka.req.pod.initContainers.run_as_user",
        desc="When the request object refers to a pod, the runAsUser uid for all init containers.",
    )
    def init_run_as_user(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "initContainers", index, "securityContext", "runAsUser")

    @field(
        "ka.req.pod.initContainers.eff_run_as_user",
        desc=(
            "When the request object refers to a pod, the initial uid that will be used for all init "
            "containers. This combines information from both the pod and container security contexts and "
            "uses 0 if no uid is specified."
        ),
    )
    def init_eff_run_as_user(self, event: Event, index: int | None = None) -> list[str] | None:
        return _effective(_audit(event), "initContainers", index, "runAsUser")

    @field(
        "ka.req.pod.initContainers.run_as_group",
        desc="When the request object refers to a pod, the runAsGroup gid for all init containers.",
    )
    def init_run_as_group(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "initContainers", index, "securityContext", "runAsGroup")

    @field(
        "ka.req.pod.initContainers.eff_run_as_group",
        desc=(
            "When the request object refers to a pod, the initial gid that will be used for all init "
            "containers. This combines information from both the pod and container security contexts and "
            "uses 0 if no gid is specified."
        ),
    )
    def init_eff_run_as_group(self, event: Event, index: int | None = None) -> list[str] | None:
        return _effective(_audit(event), "initContainers", index, "runAsGroup")

    @field(
        "ka.req.pod.initContainers.proc_mount",
        desc="When the request object refers to a pod, the procMount type for all init containers.",
    )
    def init_proc_mount(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "initContainers", index, "securityContext", "procMount")

    @field(
        "ka.req.pod.initContainers.add_capabilities",
        desc="When the request object refers to a pod, the capabilities added for all init containers.",
    )
    def init_add_capabilities(self, event: Event, index: int | None = None) -> list[str] | None:
        return _capabilities(_audit(event), "initContainers", index)

    @field(
        "ka.req.pod.initContainers.host_port",
        desc="When the request object refers to a pod, all init containers hostPort values.",
    )
    def init_host_port(self, event: Event, index: int | None = None) -> list[str] | None:
        return _host_ports(_audit(event), "initContainers", index)

    # -- ephemeral containers (k8saudit 0.18) ----------------------------------------------------------------
    @field(
        "ka.req.pod.ephemeralContainers.name",
        desc="When the request object refers to a pod, the ephemeral containers names.",
    )
    def ephemeral_name(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "ephemeralContainers", index, "name")

    @field(
        "ka.req.pod.ephemeralContainers.image",
        desc="When the request object refers to a pod, the ephemeral containers images.",
    )
    def ephemeral_image(self, event: Event, index: int | None = None) -> list[str] | None:
        return _images(_audit(event), "ephemeralContainers", index)

    @field(
        "ka.req.pod.ephemeralContainers.image.repository",
        desc=(
            "The same as ka.req.pod.ephemeralContainers.image, but only the repository part (e.g. "
            "falcosecurity/falco)."
        ),
    )
    def ephemeral_image_repository(self, event: Event, index: int | None = None) -> list[str] | None:
        return _repos(_audit(event), "ephemeralContainers", index)

    @field(
        "ka.req.pod.ephemeralContainers.command",
        desc="When the request object refers to a pod, the ephemeral containers commands.",
    )
    def ephemeral_command(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "ephemeralContainers", index, "command")

    @field(
        "ka.req.pod.ephemeralContainers.args",
        desc="When the request object refers to a pod, the ephemeral containers args.",
    )
    def ephemeral_args(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "ephemeralContainers", index, "args")

    @field(
        "ka.req.pod.ephemeralContainers.privileged",
        desc=(
            "When the request object refers to a pod, the value of the privileged flag for all ephemeral "
            "containers."
        ),
    )
    def ephemeral_privileged(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "ephemeralContainers", index, "securityContext", "privileged")

    @field(
        "ka.req.pod.ephemeralContainers.allow_privilege_escalation",
        desc=(
            "When the request object refers to a pod, the value of the allowPrivilegeEscalation flag for "
            "all ephemeral containers."
        ),
    )
    def ephemeral_allow_privilege_escalation(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "ephemeralContainers", index, "securityContext", "allowPrivilegeEscalation")

    @field(
        "ka.req.pod.ephemeralContainers.read_only_fs",
        desc=(
            "When the request object refers to a pod, the value of the readOnlyRootFilesystem flag for "
            "all ephemeral containers."
        ),
    )
    def ephemeral_read_only_fs(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "ephemeralContainers", index, "securityContext", "readOnlyRootFilesystem")

    @field(
        "ka.req.pod.ephemeralContainers.run_as_user",
        desc="When the request object refers to a pod, the runAsUser uid for all ephemeral containers.",
    )
    def ephemeral_run_as_user(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "ephemeralContainers", index, "securityContext", "runAsUser")

    @field(
        "ka.req.pod.ephemeralContainers.eff_run_as_user",
        desc=(
            "When the request object refers to a pod, the initial uid that will be used for all ephemeral"
            " containers. This combines information from both the pod and container security contexts and"
            " uses 0 if no uid is specified."
        ),
    )
    def ephemeral_eff_run_as_user(self, event: Event, index: int | None = None) -> list[str] | None:
        return _effective(_audit(event), "ephemeralContainers", index, "runAsUser")

    @field(
        "ka.req.pod.ephemeralContainers.run_as_group",
        desc="When the request object refers to a pod, the runAsGroup gid for all ephemeral containers.",
    )
    def ephemeral_run_as_group(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "ephemeralContainers", index, "securityContext", "runAsGroup")

    @field(
        "ka.req.pod.ephemeralContainers.eff_run_as_group",
        desc=(
            "When the request object refers to a pod, the initial gid that will be used for all ephemeral"
            " containers. This combines information from both the pod and container security contexts and"
            " uses 0 if no gid is specified."
        ),
    )
    def ephemeral_eff_run_as_group(self, event: Event, index: int | None = None) -> list[str] | None:
        return _effective(_audit(event), "ephemeralContainers", index, "runAsGroup")

    @field(
        "ka.req.pod.ephemeralContainers.proc_mount",
        desc="When the request object refers to a pod, the procMount type for all ephemeral containers.",
    )
    def ephemeral_proc_mount(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "ephemeralContainers", index, "securityContext", "procMount")

    @field(
        "ka.req.pod.ephemeralContainers.add_capabilities",
        desc=(
            "When the request object refers to a pod, the capabilities added for all ephemeral "
            "containers."
        ),
    )
    def ephemeral_add_capabilities(self, event: Event, index: int | None = None) -> list[str] | None:
        return _capabilities(_audit(event), "ephemeralContainers", index)
