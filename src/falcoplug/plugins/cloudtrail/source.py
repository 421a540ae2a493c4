"""The file source: CloudTrail log files and folders (the Go plugin's ``source.go``, local files only)."""

from __future__ import annotations

import calendar
import functools
import gzip
import json
import os
import re
import zlib
from collections.abc import Callable, Iterator
from typing import Any, Final

from falcoplug.errors import ConfigError
from falcoplug.sdk import EOF, EventWriter, Progress, SourceInstance, SourcePlugin, Status

from .extract import _U64_MAX

# The Go SDK's default event buffer: a longer record fails the stream, as in the official plugin.
MAX_RECORD_SIZE: Final = 256 * 1024
GZIP_MAGIC: Final = b"\x1f\x8b"


class CloudTrailError(ConfigError):
    """An input the open params name that the plugin cannot read: a missing or empty path, a
    remote input, a record over 256 KiB (the message is the official plugin's where it has one)."""


# -- reading files -----------------------------------------------------------------------------

# One match per structural brace: everything up to it (plain text and whole strings, so that
# braces inside strings do not count), then the brace; the last match ends at the end of the
# data. An unterminated string runs to the end. Possessive quantifiers: no backtracking, and no
# failed match to retry, so the scan is linear.
_UP_TO_BRACE: Final = re.compile(
    rb'(?:[^{}"]++|"[^"\\]*+(?:\\.[^"\\]*+)*+(?:"|\\?\Z))*+([{}]|\Z)',
    re.DOTALL,
)


def split_records(data: bytes) -> Iterator[bytes]:
    """The objects directly inside the top-level object of ``data`` (in a CloudTrail file, the
    elements of ``Records``), each as its original bytes. Arrays do not count as a level, as in
    the official plugin, and a closing brace on the last byte closes nothing."""
    depth = 0
    start = 0
    last = len(data) - 1
    for match in _UP_TO_BRACE.finditer(data):
        pos = match.start(1)
        if pos == len(data):
            break
        if data[pos] == 0x7B:  # "{"
            if depth == 1:
                start = pos
            depth += 1
        else:
            depth -= 1
            if depth == 1 and pos < last:
                yield data[start : pos + 1]


_WHITESPACE: Final = re.compile(r"[ \t\n\r]*")
_DECODER: Final = json.JSONDecoder()


def parse_records(text: str) -> list[tuple[str, Any]] | None:
    """The same objects as :func:`split_records`, each with its parsed value, when ``text`` is one
    valid JSON object (the usual case: each record is then parsed once, by the C decoder);
    ``None`` for anything else, which :func:`split_records` then scans."""
    ws, decode = _WHITESPACE.match, _DECODER.raw_decode
    found: list[tuple[str, Any]] = []

    def value(pos: int) -> int:
        """Skip the value at ``pos`` (objects found; arrays entered: they are no level)."""
        head = text[pos]
        if head == "{":
            record, end = decode(text, pos)
            found.append((text[pos:end], record))
            return end
        if head != "[":
            return decode(text, pos)[1]
        pos = ws(text, pos + 1).end()
        if text[pos] == "]":
            return pos + 1
        while True:
            pos = ws(text, value(pos)).end()
            if text[pos] == "]":
                return pos + 1
            if text[pos] != ",":
                raise ValueError("bad array")
            pos = ws(text, pos + 1).end()

    try:
        pos = ws(text, 0).end()
        if text[pos] != "{":
            return None
        pos = ws(text, pos + 1).end()
        while text[pos] != "}":
            if text[pos] != '"':
                return None
            pos = ws(text, decode(text, pos)[1]).end()
            if text[pos] != ":":
                return None
            pos = ws(text, value(ws(text, pos + 1).end())).end()
            if text[pos] == ",":
                pos = ws(text, pos + 1).end()
            elif text[pos] != "}":
                return None
        if ws(text, pos + 1).end() != len(text):
            return None
    except (ValueError, IndexError, RecursionError):
        return None
    return found


def file_records(data: bytes) -> Iterator[tuple[bytes, Any]]:
    """``(original bytes, parsed value or None)`` of each record of a file's content."""
    text = data.decode("utf-8", "surrogateescape")  # reversible, even for invalid UTF-8
    parsed = parse_records(text)
    if parsed is None:
        for raw in split_records(data):
            yield raw, None
    else:
        for piece, record in parsed:
            yield piece.encode("utf-8", "surrogateescape"), record


_RFC3339: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?(?:Z|([+-])(\d{2}):(\d{2}))\Z", re.ASCII
)


@functools.lru_cache(maxsize=4096)  # records of a file share few distinct times
def parse_event_time(text: str) -> int | None:
    """Nanoseconds since the epoch of an RFC 3339 time, as Go's ``time.Parse(time.RFC3339, ...)``
    reads it (fractional seconds accepted, nanosecond precision); ``None`` when it does not parse."""
    m = _RFC3339.match(text)
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    if year == 0 or not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(year, month)[1]:
        return None
    if hour > 23 or minute > 59 or second > 59:
        return None
    offset = 0
    if m.group(8):
        zh, zm = int(m.group(9)), int(m.group(10))
        if zh > 23 or zm > 59:
            return None
        offset = (zh * 3600 + zm * 60) * (1 if m.group(8) == "+" else -1)
    fraction = (m.group(7) or "")[:9].ljust(9, "0")
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)) - offset
    # Go stores UnixNano() in a uint64: a time before 1970 wraps around, as there.
    return (seconds * 1_000_000_000 + int(fraction)) & _U64_MAX


def list_log_files(path: str) -> list[str]:
    """The files an open parameter names: the file itself, or a directory's ``*.json`` and
    ``*.json.gz`` files, recursively, in lexical order (directories walked where they sort)."""
    if not os.path.isdir(path):
        return [path]
    found: list[str] = []

    def walk(directory: str) -> None:
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            return
        for name in names:
            full = os.path.join(directory, name)
            if os.path.isdir(full) and not os.path.islink(full):
                walk(full)
            elif name.endswith((".json", ".json.gz")) and os.path.isfile(full):
                found.append(full)

    walk(path)
    return found


def read_log_file(path: str) -> bytes | None:
    """A file's content, gunzipped when it starts with the gzip magic; ``None`` when that fails."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == GZIP_MAGIC:
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            return None
    return data


def record_event(raw: bytes, record: Any = None) -> tuple[bytes, int] | None:
    """``(payload, timestamp)`` for one record (``record``: its value, when already parsed), or
    ``None`` when the official plugin skips it: not JSON, no string ``eventTime`` in RFC 3339, no
    string ``eventType``, or a CloudTrail Insight."""
    if record is None:
        try:
            record = json.loads(raw.decode("utf-8", "replace"))
        except ValueError:
            return None
    if type(record) is not dict:
        return None
    when = record.get("eventTime")
    if type(when) is not str:
        return None
    ts = parse_event_time(when)
    if ts is None:
        return None
    kind = record.get("eventType")
    if type(kind) is not str or kind == "AwsCloudTrailInsight":
        return None
    if len(raw) > MAX_RECORD_SIZE:
        raise CloudTrailError(f"cloudwatch message too long: {len(raw)}, but {MAX_RECORD_SIZE} were written")
    return raw, ts


class CloudTrailFiles(SourceInstance):
    """The records of a list of files, file after file; progress is counted in files."""

    def __init__(self, files: list[str], warn: Callable[[str], None]) -> None:
        self.files = files
        self.opened = 0  # files opened so far (the official plugin's curFileNum)
        self.warn = warn
        self.records: Iterator[tuple[bytes, int]] | None = None

    def _file_events(self, path: str) -> Iterator[tuple[bytes, int]]:
        data = read_log_file(path)
        if data is None:
            self.warn(f"skipping {path}: not a valid gzip file")
            return
        for raw, record in file_records(data):
            item = record_event(raw, record)
            if item is not None:
                yield item

    def next_batch(self, events: EventWriter) -> Status | None:
        while True:
            if self.records is not None:
                room = events.remaining
                if events.extend(self.records) == room:
                    return None
                self.records = None  # this file is done
            if self.opened >= len(self.files):
                return EOF
            path = self.files[self.opened]
            self.opened += 1
            self.records = self._file_events(path)

    def progress(self) -> Progress:
        total = len(self.files)
        fraction = self.opened / total if total else 1.0
        return Progress(fraction * 100, f"{fraction * 100:.2f}% - {self.opened}/{total} files")


class CloudTrailSource(SourcePlugin):
    """The sourcing half of the plugin (a nameless mixin: the plugin class is in ``__init__``)."""

    def open(self, params: str) -> CloudTrailFiles:
        for scheme in ("s3://", "sqs://"):
            if params.startswith(scheme):
                raise CloudTrailError(
                    f"cloudtrail plugin error: {scheme} inputs are not supported by this port of the plugin "
                    f"(local files and directories only); download the log files and open their path"
                )
        if not params:
            raise CloudTrailError("cloudtrail plugin error: missing input directory argument")
        if not os.path.exists(params):
            raise CloudTrailError(f"cloudtrail plugin error: cannot open {params}")
        files = list_log_files(params)
        if not files:
            raise CloudTrailError(f"cloudtrail plugin error: no json files found in {params}")
        return CloudTrailFiles(files, self.log.warning)
