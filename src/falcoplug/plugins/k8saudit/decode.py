"""Payloads (file lines, POST bodies) to events: the Go plugin's ``ParseAuditEventsJSON``.

Nothing in a payload stops the stream: a payload or an event that cannot become an event is
dropped with a warning that names where it came from (``audit.log:12``, ``webhook request 7 from
127.0.0.1:50000``), and the next one is read.
"""

from __future__ import annotations

from typing import Any, Final, Union

from falcoplug.errors import EventError

from ..json import MISSING, compact, parse, remember
from .timefmt import parse_time

# fastjson's MaxDepth: the Go plugin drops a payload nested deeper (and so does this port, which
# keeps every later step, Python's recursive JSON encoder included, far from the recursion limit).
MAX_DEPTH: Final = 300
# Per payload, the first drops are warned one by one; the rest of that payload's are counted in one
# more warning (an EventList of a million bad items is one payload, not a million log lines).
WARNINGS_PER_PAYLOAD: Final = 10
_U64: Final = (1 << 64) - 1
# Where a payload comes from: its text ("webhook request 3 from ..."), or a file's (name, line),
# formatted only when a warning needs it.
Where = Union[str, tuple[str, int]]


class _NotAudit(EventError, ValueError):
    """A payload that is JSON but not an audit event, an EventList or an array of them (caught
    here: it becomes a warning, never an error of the stream)."""


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
        except ValueError as exc:
            if str(exc).startswith("depth limit exceeded"):  # over 1024 levels: no second parse
                raise ValueError(f"too big depth for the nested JSON; it exceeds {MAX_DEPTH}") from None
            # invalid UTF-8, a lone surrogate or really not JSON: the standard parser decides
    return parse(data)


def _too_deep(doc: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether arrays and objects nest more than ``limit`` levels (fastjson counts the top one)."""
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        t = type(node)
        if t is dict:
            stack += [(v, depth + 1) for v in node.values() if type(v) in (dict, list)]
        elif t is list:
            stack += [(v, depth + 1) for v in node if type(v) in (dict, list)]
    return False


def event_time(stamp: str) -> int:
    """The event timestamp of a ``stageTimestamp``, as the Go plugin sets it: ``UnixNano()`` (an
    int64 that wraps outside the years 1678-2262) taken as a uint64. Raises ``ValueError``."""
    return parse_time(stamp) & _U64


class AuditDecoder:
    """Turns payloads (file lines, POST bodies) into ``(event data, timestamp)`` pairs, logging
    and dropping what the official plugin drops."""

    def __init__(self, log: Any, max_event_size: int) -> None:
        self.log = log
        self.max_event_size = max_event_size
        self.dropped = 0
        self._warned = 0  # drops warned one by one in the current payload

    def events(self, data: bytes, where: Where = "", doc: Any = MISSING) -> list[tuple[bytes, int]]:
        """The events of one payload; ``where`` names it in warnings (``(file, line)``, a request)."""
        self._warned = 0
        before = self.dropped
        if doc is MISSING:
            try:
                doc = _fast_parse(data)
            except ValueError as exc:
                self._drop(where, f"cannot parse JSON: {exc}")
                return []
        if len(data) > 2 * MAX_DEPTH and data.count(b"[") + data.count(b"{") > MAX_DEPTH and _too_deep(doc):
            self._drop(where, f"cannot parse JSON: too big depth for the nested JSON; it exceeds {MAX_DEPTH}")
            return []
        try:
            items = _audit_items(doc)
        except _NotAudit as exc:
            self._drop(where, str(exc))
            return []
        if len(items) > 1 and _orjson is not None:
            # events out of an EventList are written back as JSON: parse the list again with the
            # json plugin's parser, which keeps each number's text as written (the first parse is
            # let go first: a huge EventList is in memory once at a time)
            doc, items = MISSING, []
            try:
                items = _audit_items(parse(data))
            except ValueError as exc:  # _NotAudit included; orjson and the standard parser agree
                self._drop(where, f"cannot parse JSON: {exc}")
                return []
        out = []
        single = len(items) == 1 and items[0] is doc
        text = data.strip()
        for item in items:
            if type(item) is not dict or "stageTimestamp" not in item:
                self._drop(where, "can't read stageTimestamp")
                continue
            stamp = item["stageTimestamp"]
            try:
                ts = parse_time(stamp if type(stamp) is str else "") & _U64  # as event_time()
            except ValueError as exc:
                self._drop(where, str(exc))
                continue
            payload = text if single and b"\n" not in text else compact(item).encode()
            if len(payload) > self.max_event_size:
                self._drop(where, f"event larger than maxEventSize: size={len(payload)}")
                continue
            if payload is text:
                remember(payload, doc)  # the fields of this event read it without a parse
            out.append((payload, ts))
        hidden = self.dropped - before - self._warned
        if hidden > 0:
            self.log.warning("%s%d more events of this payload dropped", _prefix(where), hidden)
        return out

    def drop(self, where: Where, message: str) -> None:
        """A payload dropped before it is decoded (a line too long, a request body too large)."""
        self.dropped += 1
        self.log.warning("%s%s", _prefix(where), message)

    def _drop(self, where: Where, message: str) -> None:
        self.dropped += 1
        if self._warned < WARNINGS_PER_PAYLOAD:
            self._warned += 1
            self.log.warning("%s%s", _prefix(where), message)


def _prefix(where: Where) -> str:
    if type(where) is tuple:
        return f"{where[0]}:{where[1]}: "
    return f"{where}: " if where else ""
