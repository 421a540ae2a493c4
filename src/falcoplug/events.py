"""The scap event format, as plugins and capture files carry it.

An event is its bytes: a packed 26-byte header (ts u64, tid u64, len u32, type u16, nparams u32),
then one length per parameter (u32 for event types flagged EF_LARGE_PAYLOAD, else u16), then the
parameter bytes. Everything is little-endian. :class:`Event` is a light view over those bytes that
decodes only what is asked for.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Final

from .errors import EventError

HEADER: Final = struct.Struct("<QQIHI")
HEADER_LEN: Final = 26
PLUGIN_EVENT_PAYLOAD_OFFSET: Final = 38

PPME_GENERIC_E: Final = 0
PPME_PLUGINEVENT_E: Final = 322
PPME_ASYNCEVENT_E: Final = 402
PPM_EVENT_MAX: Final = 454

NO_TID: Final = 0xFFFFFFFFFFFFFFFF
TS_NOW: Final = 0xFFFFFFFFFFFFFFFF

# Event types whose parameter lengths are u32 (EF_LARGE_PAYLOAD in libscap's event table).
LARGE_PAYLOAD_TYPES: Final = frozenset({PPME_PLUGINEVENT_E, 323, PPME_ASYNCEVENT_E, 403})

# Meta-events (EC_METAEVENT) among the codes a plugin stream can carry, and their names.
META_EVENT_NAMES: Final = {PPME_ASYNCEVENT_E: "asyncevent", 403: "asyncevent"}

_PLUGIN_HEAD = struct.Struct("<QQIHIIII")  # header, two u32 lengths, plugin id
_ASYNC_HEAD = struct.Struct("<QQIHIIIII")  # header, three u32 lengths, plugin id
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")


def param_len_size(evt_type: int) -> int:
    return 4 if evt_type in LARGE_PAYLOAD_TYPES else 2


def encode_plugin_event(payload: bytes, *, ts: int = TS_NOW, plugin_id: int = 0, tid: int = NO_TID) -> bytes:
    """A PPME_PLUGINEVENT_E (322): params ``plugin_id`` (u32) and ``event_data`` (bytes)."""
    n = len(payload)
    return _PLUGIN_HEAD.pack(ts, tid, 38 + n, PPME_PLUGINEVENT_E, 2, 4, n, plugin_id) + bytes(payload)


def encode_async_event(
    name: str, data: bytes = b"", *, ts: int = TS_NOW, plugin_id: int = 0, tid: int = NO_TID
) -> bytes:
    """A PPME_ASYNCEVENT_E (402): params ``plugin_id`` (u32), ``name`` (NUL-terminated) and ``data``."""
    raw_name = name.encode() + b"\0"
    total = 42 + len(raw_name) + len(data)
    head = _ASYNC_HEAD.pack(ts, tid, total, PPME_ASYNCEVENT_E, 3, 4, len(raw_name), len(data), plugin_id)
    return head + raw_name + bytes(data)


def encode_event(evt_type: int, params: Sequence[bytes], *, ts: int = 0, tid: int = 0) -> bytes:
    """Any event from its raw parameters, with the length width its type requires."""
    size = param_len_size(evt_type)
    fmt = "<" + ("I" if size == 4 else "H") * len(params)
    total = HEADER_LEN + size * len(params) + sum(len(p) for p in params)
    return HEADER.pack(ts, tid, total, evt_type, len(params)) + struct.pack(fmt, *map(len, params)) + b"".join(params)


def decode_params(buf: bytes | memoryview, offset: int = 0) -> list[bytes]:
    """The raw parameters of the event at ``offset``, checked against its length."""
    ts, tid, length, evt_type, nparams = HEADER.unpack_from(buf, offset)
    size = param_len_size(evt_type)
    if length < HEADER_LEN or offset + length > len(buf):
        raise EventError(f"event length {length} does not fit in {len(buf) - offset} bytes")
    lens_end = HEADER_LEN + size * nparams
    if lens_end > length:
        raise EventError(f"event of type {evt_type} with {nparams} parameters is longer than its length {length}")
    lens = struct.unpack_from("<" + ("I" if size == 4 else "H") * nparams, buf, offset + HEADER_LEN)
    if lens_end + sum(lens) > length:
        raise EventError(f"parameter lengths of event type {evt_type} exceed its length {length}")
    out: list[bytes] = []
    pos = offset + lens_end
    for n in lens:
        out.append(bytes(buf[pos : pos + n]))
        pos += n
    return out


class Event:
    """One event: a view over its bytes at ``offset`` in ``buf``, plus what the host knows of it.

    ``num`` is the event number (from 1) and ``source`` the event source name (``None`` when no
    loaded plugin produces it). Header fields and parameters are decoded on demand.
    """

    __slots__ = ("buf", "offset", "num", "source", "_host")

    def __init__(
        self, buf: bytes | bytearray | memoryview, offset: int = 0, num: int = 0, source: str | None = None, host: object = None
    ) -> None:
        self.buf = buf
        self.offset = offset
        self.num = num
        self.source = source
        self._host = host

    @classmethod
    def from_bytes(cls, data: bytes, num: int = 0, source: str | None = None) -> Event:
        return cls(data, 0, num, source)

    @property
    def ts(self) -> int:
        return struct.unpack_from("<Q", self.buf, self.offset)[0]

    @property
    def tid(self) -> int:
        return struct.unpack_from("<Q", self.buf, self.offset + 8)[0]

    @property
    def len(self) -> int:
        return _U32.unpack_from(self.buf, self.offset + 16)[0]

    @property
    def type(self) -> int:
        return _U16.unpack_from(self.buf, self.offset + 20)[0]

    @property
    def nparams(self) -> int:
        return _U32.unpack_from(self.buf, self.offset + 22)[0]

    @property
    def plugin_id(self) -> int | None:
        """The ``plugin_id`` parameter of plugin and async events, else ``None``."""
        t = self.type
        if t == PPME_PLUGINEVENT_E:
            return _U32.unpack_from(self.buf, self.offset + 34)[0]
        if t == PPME_ASYNCEVENT_E:
            return _U32.unpack_from(self.buf, self.offset + 38)[0]
        return None

    @property
    def is_async(self) -> bool:
        return self.type in META_EVENT_NAMES

    @property
    def async_name(self) -> str | None:
        """The name of an async event (402), else ``None``."""
        if self.type != PPME_ASYNCEVENT_E:
            return None
        n = _U32.unpack_from(self.buf, self.offset + 30)[0]
        start = self.offset + 42
        return bytes(self.buf[start : start + n]).rstrip(b"\0").decode("utf-8", "replace")

    @property
    def data(self) -> bytes:
        """The whole event, header included."""
        return bytes(self.buf[self.offset : self.offset + self.len])

    @property
    def payload(self) -> bytes:
        """The ``event_data`` of a plugin event, or the ``data`` of an async event."""
        t = self.type
        if t == PPME_PLUGINEVENT_E:
            n = _U32.unpack_from(self.buf, self.offset + 30)[0]
            start = self.offset + PLUGIN_EVENT_PAYLOAD_OFFSET
            return bytes(self.buf[start : start + n])
        if t == PPME_ASYNCEVENT_E:
            name_len, n = struct.unpack_from("<II", self.buf, self.offset + 30)
            start = self.offset + 42 + name_len
            return bytes(self.buf[start : start + n])
        raise EventError(f"event of type {t} has no plugin payload")

    def __getitem__(self, field: str) -> object:
        """The value of ``field`` for this event (``None`` when it has none), from the host that made it."""
        if self._host is None:
            raise KeyError(f"event {self.num} is not attached to a host that extracts fields")
        return self._host.field_value(self, field)  # type: ignore[attr-defined]

    def get(self, field: str, default: object = None) -> object:
        value = self[field]
        return default if value is None else value

    @property
    def params(self) -> list[bytes]:
        return decode_params(self.buf, self.offset)

    def __repr__(self) -> str:
        return f"<Event num={self.num} type={self.type} ts={self.ts} source={self.source!r} len={self.len}>"


class EventBatch:
    """Events in one buffer: ``offsets[i]`` is where event ``i`` starts in ``data``.

    Events need not be contiguous (a capture reader's batch is its chunk buffer, block headers
    included). The host copies what a plugin returns into a batch, so a batch stays valid after the
    plugin's next call; readers make events from it without copying them one by one.
    """

    __slots__ = ("data", "offsets", "payloads")

    def __init__(
        self, data: bytes | bytearray | memoryview, offsets: Sequence[int], payloads: Sequence[bytes] | None = None
    ) -> None:
        self.data = data
        self.offsets = offsets
        # The payloads of plugin events, one per offset, as the objects a Python source returned
        # (when the host laid them out): Python extractors get the very objects, not copies, so
        # a plugin's per-payload caches hit at once (a 2 kB payload's hash is computed once).
        self.payloads = payloads

    @classmethod
    def from_events(cls, events: Sequence[bytes]) -> EventBatch:
        offsets, pos = [], 0
        for raw in events:
            offsets.append(pos)
            pos += len(raw)
        return cls(b"".join(events), offsets)

    def __len__(self) -> int:
        return len(self.offsets)

    def event_bytes(self, i: int) -> bytes:
        off = self.offsets[i]
        return bytes(self.data[off : off + _U32.unpack_from(self.data, off + 16)[0]])

    def types(self) -> list[int]:
        data = self.data
        return [_U16.unpack_from(data, off + 20)[0] for off in self.offsets]


MAX_EVENT_LEN: Final = 64 * 1024 * 1024


def fix_plugin_events(
    buf: bytearray, offsets: Sequence[int], plugin_id: int, plugin_name: str, now_ns: int
) -> None:
    """Check and fix, in place, the events a sourcing plugin returned, as libscap does.

    A plugin with an ID may only emit plugin events (322, 2 params); their plugin_id 0 is set to
    the plugin's, any other is an error; a 322 event from an ID-0 plugin must carry an ID. Plugin
    events get tid -1, and ts -1 becomes ``now_ns``. Raises :class:`EventError` with libsinsp's
    message for a malformed event.
    """
    for off in offsets:
        ts, tid, length, evt_type, nparams = HEADER.unpack_from(buf, off)
        if length < HEADER_LEN or length > MAX_EVENT_LEN or off + length > len(buf):
            raise EventError(f"malformed plugin event produced by plugin: '{plugin_name}' (event length {length})")
        if plugin_id != 0 and (evt_type != PPME_PLUGINEVENT_E or nparams != 2):
            raise EventError(f"malformed plugin event produced by plugin: '{plugin_name}'")
        if evt_type == PPME_PLUGINEVENT_E:
            if nparams != 2 or length < 38:
                raise EventError(f"malformed plugin event produced by plugin: '{plugin_name}'")
            len0, len1, evt_id = struct.unpack_from("<III", buf, off + 26)
            if len0 != 4 or 38 + len1 != length:
                raise EventError(
                    f"malformed plugin event produced by plugin: '{plugin_name}' "
                    f"(parameter lengths do not add up to the event length {length})"
                )
            if plugin_id != 0:
                if evt_id == 0:
                    _U32.pack_into(buf, off + 34, plugin_id)
                elif evt_id != plugin_id:
                    raise EventError(
                        f"unexpected plugin ID in plugin event: plugin='{plugin_name}', "
                        f"expected_id={plugin_id}, actual_id={evt_id}"
                    )
            elif evt_id == 0:
                raise EventError(f"malformed plugin event produced by plugin (no ID): '{plugin_name}'")
            struct.pack_into("<Q", buf, off + 8, NO_TID)
        if ts == TS_NOW:
            struct.pack_into("<Q", buf, off, now_ns)
