"""The file source and the open params: files, folders, and the webhook's URL (``source.go``)."""

from __future__ import annotations

import os
import re
import ssl
import urllib.parse
from collections.abc import Iterator
from typing import Any, BinaryIO, Final

from falcoplug.sdk import EOF, EventWriter, Progress, SourceInstance, SourcePlugin, Status

from ..json import MISSING, parse
from .config import K8sAuditConfig
from .decode import AuditDecoder
from .webhook import AuditWebhookInstance, _WebhookServer



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
