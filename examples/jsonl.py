"""jsonl: events from a JSON-lines file, one event per line, and fields read from them.

Each non-blank line of the file becomes one event whose payload is the line (JSON text); its
timestamp comes from the line's ``time_key`` (RFC 3339 text or epoch seconds), or is left to the
host when the line has none. The instance reports its progress through the file.

    falcoplug run -p 'examples/jsonl.py||examples/data/events.jsonl' -o '%jsonl.value[user] %jsonl.value[action]'
"""

from __future__ import annotations

import ipaddress
import json
import os
from datetime import datetime, timezone
from typing import Any, BinaryIO

from falcoplug.sdk import (
    EOF,
    Event,
    EventWriter,
    ExtractPlugin,
    IpAddress,
    Progress,
    SourceInstance,
    SourcePlugin,
    Status,
    cached_per_event,
    field,
    option,
)
from dataclasses import dataclass


@dataclass
class JsonlConfig:
    time_key: str = option("time", description="The key holding each record's time (RFC 3339 or epoch seconds)")


def parse_time(value: Any) -> datetime | None:
    """A record's time: RFC 3339 text or epoch seconds; ``None`` when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=timezone.utc)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def lookup(record: Any, path: str) -> Any:
    """The value at a dotted path ("session.id", "tags.0"), or ``None``."""
    node = record
    for part in path.split("."):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


class JsonLinesInstance(SourceInstance):
    """Reads the file a batch at a time and tracks how much of it was read."""

    def __init__(self, path: str, time_key: str) -> None:
        self.file: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed by close()
        self.size = os.fstat(self.file.fileno()).st_size
        self.done = 0
        self.time_key = time_key

    def next_batch(self, events: EventWriter) -> Status | None:
        while not events.full:
            line = self.file.readline()
            if not line:
                return EOF
            self.done += len(line)
            line = line.strip()
            if line:
                events.add(line, ts=self._time(line))
        return None

    def _time(self, line: bytes) -> datetime | None:
        try:
            record = json.loads(line)
        except ValueError:
            return None
        return parse_time(record.get(self.time_key)) if isinstance(record, dict) else None

    def progress(self) -> Progress:
        pct = 100.0 * self.done / self.size if self.size else 100.0
        return Progress(pct, f"{self.done}/{self.size} bytes")

    def close(self) -> None:
        self.file.close()


class JsonLines(SourcePlugin, ExtractPlugin):
    """Events from a JSON-lines file, with fields from each record"""

    name = "jsonl"
    version = "0.1.0"
    contact = "github.com/falcoplug"
    id = 990
    event_source = "jsonl"
    batch_capacity = 16  # small batches, so that progress moves through a small file

    def init(self, config: JsonlConfig) -> None:
        self.config = config

    def open(self, params: str) -> JsonLinesInstance:
        path = params.strip()
        if not path:
            raise ValueError("open params must be the path of a JSON-lines file")
        return JsonLinesInstance(path, self.config.time_key)

    def event_to_string(self, event: Event) -> str:
        return event.payload.decode("utf-8", "replace")

    @cached_per_event
    def record(self, event: Event) -> Any:
        """The decoded line, once per event for all the fields that read it."""
        return json.loads(event.payload)

    @field("jsonl.raw", display="Raw line")
    def raw(self, event: Event) -> str:
        """The whole line, as it is in the file."""
        return event.payload.decode("utf-8", "replace")

    @field("jsonl.value", display="Value")
    def value(self, event: Event, path: str) -> str | None:
        """The value at a dotted path (e.g. jsonl.value[session.id]); JSON text when not a string."""
        found = lookup(self.record(event), path)
        if found is None:
            return None
        return found if isinstance(found, str) else json.dumps(found, separators=(",", ":"))

    @field("jsonl.num")
    def num(self, event: Event, path: str) -> int | None:
        """The non-negative integer at a dotted path."""
        found = lookup(self.record(event), path)
        return found if isinstance(found, int) and not isinstance(found, bool) and found >= 0 else None

    @field("jsonl.has")
    def has(self, event: Event, path: str) -> bool:
        """Whether the record has a value at a dotted path."""
        return lookup(self.record(event), path) is not None

    @field("jsonl.keys", properties=["info"])
    def keys(self, event: Event) -> list[str]:
        """The top-level keys of the record."""
        record = self.record(event)
        return list(record) if isinstance(record, dict) else []

    @field("jsonl.time", display="Record time")
    def time(self, event: Event) -> datetime | None:
        """The record's time (from the configured key)."""
        record = self.record(event)
        return parse_time(record.get(self.config.time_key)) if isinstance(record, dict) else None

    @field("jsonl.ip")
    def ip(self, event: Event, path: str) -> IpAddress | None:
        """The IP address at a dotted path."""
        found = lookup(self.record(event), path)
        try:
            return ipaddress.ip_address(found) if isinstance(found, str) else None
        except ValueError:
            return None
