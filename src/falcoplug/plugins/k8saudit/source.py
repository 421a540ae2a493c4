"""The file source and the open params: files, folders, FIFOs, standard input, and the webhook's
URL (the Go plugin's ``source.go``)."""

from __future__ import annotations

import itertools
import os
import re
import select
import ssl
import stat
import sys
import urllib.parse
from collections.abc import Iterator
from typing import Any, Final

from falcoplug.sdk import EOF, TIMEOUT, EventWriter, Progress, SourceInstance, SourcePlugin, Status

from .config import K8sAuditConfig
from ..json import MISSING
from .decode import AuditDecoder, _fast_parse
from .webhook import AuditWebhookInstance, WebhookServer

STDIN: Final = "-"
CHUNK: Final = 1 << 16
IDLE_WAIT: Final = 0.05  # seconds a live input (FIFO, pipe, terminal) is waited for in one batch


class _Idle:
    """Yielded by a live input with nothing to read yet: the batch goes out as it is."""


IDLE: Final = _Idle()
TOO_LONG: Final = b"\0too long"  # a line over the limit (compared by identity, never as text)


class LineReader:
    """The lines of a file, a FIFO or a pipe, each at most ``limit`` bytes: memory stays under
    ``limit`` plus one chunk whatever the input (``/dev/zero`` included). A longer line is given
    as :data:`TOO_LONG` once and skipped up to its newline. A live input (not a regular file) is
    waited for at most :data:`IDLE_WAIT` seconds at a time: :data:`IDLE` says it has nothing yet.
    """

    def __init__(self, fd: int, limit: int, live: bool) -> None:
        self.fd = fd
        self.limit = limit
        self.live = live
        self.read_bytes = 0

    def _chunk(self) -> bytes | None:
        """The next chunk; ``b""`` at the end; ``None`` when a live input has nothing yet."""
        if self.live:
            ready, _, _ = select.select([self.fd], [], [], IDLE_WAIT)
            if not ready:
                return None
        try:
            data = os.read(self.fd, CHUNK)
        except BlockingIOError:
            return None
        self.read_bytes += len(data)
        return data

    def lines(self) -> Iterator[list[tuple[int, bytes]] | _Idle]:
        """The ``(line number, line)`` pairs (without the newline) of each chunk read, or
        :data:`IDLE` (a list per chunk: one generator step for hundreds of lines)."""
        pending: list[bytes] = []  # the start of the current line, in pieces
        size = 0
        skipping = False  # inside a line already reported as too long
        number = 0
        limit = self.limit
        while True:
            data = self._chunk()
            if data is None:
                yield IDLE
                continue
            if not data:
                if pending and not skipping:
                    yield [(number + 1, b"".join(pending))]
                return
            parts = data.split(b"\n")
            out: list[tuple[int, bytes]] = []
            for part in parts[:-1]:
                number += 1
                if skipping:
                    skipping = False
                elif size + len(part) > limit:
                    out.append((number, TOO_LONG))
                else:
                    out.append((number, b"".join(pending) + part if pending else part))
                pending, size = [], 0
            tail = parts[-1]
            if skipping:
                yield out or IDLE  # IDLE: a whole chunk of one endless line, the batch may go
                continue
            if tail:
                if size + len(tail) > limit:
                    out.append((number + 1, TOO_LONG))
                    pending, size, skipping = [], 0, True
                else:
                    pending.append(tail)
                    size += len(tail)
            if out:
                yield out


class AuditFileInstance(SourceInstance):
    """Audit events from files, FIFOs or standard input: JSON lines, or JSON documents spread over
    several lines (a pretty-printed EventList). Every payload is at most ``max_payload`` bytes
    (``webhookMaxBatchSize``: a line is a batch as a POST body is)."""

    def __init__(self, paths: list[str], decoder: AuditDecoder, max_payload: int) -> None:
        self.paths = paths
        self.decoder = decoder
        self.max_payload = max_payload
        self.total = sum(os.path.getsize(p) for p in paths if p != STDIN and os.path.isfile(p))
        self.done = 0
        self._reader: LineReader | None = None
        self._events = self._generate()
        self._finished = False

    def _generate(self) -> Iterator[tuple[bytes, int] | _Idle]:
        for path in self.paths:
            fd = self._open(path)
            try:
                live = not stat.S_ISREG(os.fstat(fd).st_mode)
                self._reader = LineReader(fd, self.max_payload, live)
                yield from self._read(self._reader, "<stdin>" if path == STDIN else path)
            finally:
                if self._reader is not None:
                    self.done += self._reader.read_bytes
                    self._reader = None
                if path != STDIN:
                    os.close(fd)
        self.done = max(self.done, self.total)
        self._finished = True

    @staticmethod
    def _open(path: str) -> int:
        if path == STDIN:
            return sys.stdin.fileno()
        # O_NONBLOCK: a FIFO without a writer yet opens at once (and is waited for in batches)
        return os.open(path, os.O_RDONLY | os.O_NONBLOCK)

    def _read(self, reader: LineReader, name: str) -> Iterator[tuple[bytes, int] | _Idle]:
        """The events of each JSON line or multi-line document (or :data:`IDLE`)."""
        decode = self.decoder.events
        held: list[tuple[int, bytes]] = []  # the lines of a document that does not end on its first line
        held_size = 0
        for chunk in reader.lines():
            if chunk is IDLE:
                yield IDLE
                continue
            for number, line in chunk:  # type: ignore[union-attr]
                if line is TOO_LONG:
                    yield from self._flush(held, name)
                    held, held_size = [], 0
                    self.decoder.drop((name, number), f"line longer than webhookMaxBatchSize ({self.max_payload} bytes)")
                    continue
                if line[-1:] == b"\r":
                    line = line[:-1]
                if held:
                    held.append((number, line))
                    held_size += len(line) + 1
                    document = self._held_document(held, line)
                    if document is not None:
                        yield from decode(document[0], (name, held[0][0]), document[1])
                        held, held_size = [], 0
                    elif held_size > self.max_payload or _alone(line):
                        yield from self._flush(held, name)
                        held, held_size = [], 0
                    continue
                start = line[:1]
                if start != b"{" and start != b"[":
                    if not line.strip():
                        continue
                    start = line.lstrip()[:1]
                if start == b"{" or start == b"[":
                    try:
                        doc = _fast_parse(line)
                    except ValueError:  # maybe the first line of a multi-line document
                        held, held_size = [(number, line)], len(line) + 1
                        continue
                    yield from decode(line, (name, number), doc)
                    continue
                yield from decode(line, (name, number), MISSING)
        if held:
            text = b"\n".join(line for _, line in held)
            try:
                doc = _fast_parse(text)
            except ValueError:
                yield from self._flush(held, name)
            else:
                yield from decode(text, (name, held[0][0]), doc)

    @staticmethod
    def _held_document(held: list[tuple[int, bytes]], line: bytes) -> tuple[bytes, Any] | None:
        """``(text, document)`` of the held lines, when ``line`` closes the top level (``}`` or
        ``]`` alone at the start of a line) and they parse."""
        if line.rstrip() not in (b"}", b"]"):
            return None
        text = b"\n".join(part for _, part in held)
        try:
            return text, _fast_parse(text)
        except ValueError:
            return None

    def _flush(self, held: list[tuple[int, bytes]], name: str) -> Iterator[tuple[bytes, int]]:
        """The events of held lines taken one by one (they were JSON lines after all)."""
        for number, line in held:
            if line.strip():
                yield from self.decoder.events(line, (name, number))

    def next_batch(self, events: EventWriter) -> Status | None:
        if self._finished:
            return EOF
        room = events.remaining
        taken = events.extend(itertools.takewhile(_not_idle, self._events))
        if taken == room:
            return None
        if self._finished:
            return None if taken else EOF
        return None if taken else TIMEOUT  # a live input with nothing yet

    def progress(self) -> Progress:
        done = self.done + (self._reader.read_bytes if self._reader is not None else 0)
        if not self.total:
            return Progress(100.0 if self._finished else 0.0, f"{done} bytes")
        done = min(done, self.total)
        return Progress(100.0 * done / self.total, f"{done}/{self.total} bytes")

    def close(self) -> None:
        self._events.close()  # closes the open file


def _not_idle(item: object) -> bool:
    return item is not IDLE


def _alone(line: bytes) -> bool:
    """Whether a line is a JSON document of its own that starts at column 0 (then the lines
    held before it were JSON lines, not a multi-line document)."""
    if line[:1] not in (b"{", b"["):
        return False
    try:
        _fast_parse(line)
    except ValueError:
        return False
    return True


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




class AuditSource(SourcePlugin):
    """The sourcing half of the plugin (a nameless mixin: the plugin class is in ``__init__``)."""

    config: K8sAuditConfig

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
        if path == STDIN:
            paths = [STDIN]
        elif not os.path.exists(path):
            raise FileNotFoundError(f"stat {path}: no such file or directory")
        else:
            paths = _folder_files(path) if os.path.isdir(path) else [path]
        return AuditFileInstance(paths, self._decoder(), self.config.webhook_max_batch_size)

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
        server = WebhookServer((host, port), endpoint, self.config.webhook_max_batch_size, self.log, context)
        bound_host, bound_port = server.server_address[:2]
        scheme = "https" if tls else "http"
        self.log.info("webhook listening on %s://%s:%d%s", scheme, bound_host or "*", bound_port, endpoint)
        return AuditWebhookInstance(server, self._decoder())
