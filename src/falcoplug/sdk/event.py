"""The event a plugin receives (to extract fields from, or to render as text).

An :class:`Event` wraps the event's bytes, exactly as the host holds them (scap format: a packed
26-byte header, then parameter lengths and data). Nothing is decoded until asked for: most field
methods only read :attr:`Event.payload`.
"""

from __future__ import annotations

import struct
from typing import Any, Final

from ..events import decode_params
from .constants import PLUGIN_EVENT, PLUGIN_EVENT_HEADER

_HEADER: Final = struct.Struct("<QqIHI")  # ts, tid (signed: -1 is none), len, type, nparams
_U32: Final = struct.Struct("<I")
_TID: Final = struct.Struct("<q").unpack_from
_TS: Final = struct.Struct("<Q").unpack_from
_ASYNC_EVENT: Final = 402
# The event type is the u16 at offset 20; comparing two bytes is cheaper than unpacking.
_PLUGIN_EVENT_TYPE: Final = PLUGIN_EVENT.to_bytes(2, "little")
_ASYNC_EVENT_TYPE: Final = _ASYNC_EVENT.to_bytes(2, "little")


class Event:
    """One event: its bytes, its number (from 1) and the name of its source.

    ``payload`` is the data a source plugin wrote for a plugin event (``b""`` for events of other
    types; :attr:`is_plugin_event` tells them apart). It is a plain attribute, not a property,
    because field methods read it on every event.

    ``cache`` is a dict that lives as long as this event is being handled: all the fields of one
    extraction request see the same event object, so work shared by several fields (decoding the
    payload, for example) can be kept there, or with :func:`~falcoplug.sdk.cached_per_event`.

    An event handed to a plugin method is only valid during that call: hosts reuse the object
    for the next event (keep ``event.payload`` or ``event.data``, not the event).
    """

    __slots__ = ("data", "payload", "num", "source", "_cache")

    def __init__(self, data: bytes, num: int = 0, source: str | None = None) -> None:
        self.data = data
        self.payload: bytes = data[PLUGIN_EVENT_HEADER:] if data[20:22] == _PLUGIN_EVENT_TYPE else b""
        self.num = num
        self.source = source
        self._cache: dict[Any, Any] | None = None

    @property
    def cache(self) -> dict[Any, Any]:
        if self._cache is None:
            self._cache = {}
        return self._cache

    @property
    def type(self) -> int:
        return self.data[20] | self.data[21] << 8

    @property
    def ts(self) -> int:
        """Timestamp, nanoseconds since the epoch."""
        return _TS(self.data)[0]

    @property
    def tid(self) -> int:
        """The thread ID (signed, as the ``threads`` table's key): -1 when the event has none."""
        return _TID(self.data, 8)[0]

    @property
    def is_plugin_event(self) -> bool:
        return self.data[20:22] == _PLUGIN_EVENT_TYPE

    @property
    def plugin_id(self) -> int | None:
        """The ID of the plugin that produced a plugin event (or an async event), else ``None``."""
        kind = self.type
        if kind == PLUGIN_EVENT:
            return _U32.unpack_from(self.data, 34)[0]
        if kind == _ASYNC_EVENT:
            return _U32.unpack_from(self.data, 38)[0]
        return None

    @property
    def is_async(self) -> bool:
        """Whether this is an async event (type 402, sent by a plugin with async events)."""
        return self.data[20:22] == _ASYNC_EVENT_TYPE

    @property
    def async_name(self) -> str | None:
        """The name of an async event (``None`` for other events)."""
        if self.data[20:22] != _ASYNC_EVENT_TYPE:
            return None
        length = _U32.unpack_from(self.data, 30)[0]
        return self.data[42 : 42 + length].rstrip(b"\0").decode("utf-8", "replace")

    @property
    def async_data(self) -> bytes:
        """The data of an async event (``b""`` for other events)."""
        if self.data[20:22] != _ASYNC_EVENT_TYPE:
            return b""
        name_len, data_len = _U32.unpack_from(self.data, 30)[0], _U32.unpack_from(self.data, 34)[0]
        start = 42 + name_len
        return self.data[start : start + data_len]

    @property
    def params(self) -> list[bytes]:
        """The raw parameters of any event (for plugins that extract from other event types)."""
        return decode_params(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return f"<Event num={self.num} type={self.type} source={self.source!r} len={len(self.data)}>"
