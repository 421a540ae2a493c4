"""Payloads (file lines, POST bodies) to events: the Go plugin's ``ParseAuditEventsJSON``."""

from __future__ import annotations

from typing import Any

from ..json import MISSING, compact, parse
from .timefmt import parse_time



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
