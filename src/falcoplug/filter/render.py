"""Field values as libsinsp's formatter writes them, in text and in JSON."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from .fields import FT_BOOL, FT_BYTEBUF, FT_IPADDR, FT_IPNET, FieldInfo

NA = "<NA>"
# libsinsp truncates the text of a list field to this many bytes.
LIST_TEXT_LIMIT = 1023
# libsinsp's print format of numbers written with at least 9 digits, zero-padded (``%09``)
PADDED_DEC = "10_PADDED_DEC"
# The generic fields libsinsp declares with that print format (its catalogue says so for each)
PADDED_GENERIC_FIELDS = frozenset({"evt.reltime", "evt.reltime.ns", "evt.rawtime.ns", "evt.latency.ns", "evt.deltatime.ns"})


def is_padded(info: FieldInfo) -> bool:
    """Whether a field's text is its number zero-padded to 9 digits (time fields in nanoseconds)."""
    return info.print_format == PADDED_DEC or (info.owner == "evt" and info.name in PADDED_GENERIC_FIELDS)


def _scalar_text(ftype: int, value: Any) -> str:
    if ftype == FT_BOOL:
        return "true" if value else "false"
    if ftype == FT_IPNET:
        return "<IPNET>"
    if ftype == FT_IPADDR:
        if isinstance(value, ipaddress.IPv6Address):
            return socket.inet_ntop(socket.AF_INET6, value.packed)
        return str(value)
    if ftype == FT_BYTEBUF and isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace")
    return str(value)


def render_text(info: FieldInfo, value: Any) -> str:
    """The text of a value; ``<NA>`` when there is none, ``(a,b)`` for a list."""
    if value is None:
        return NA
    if isinstance(value, int) and not isinstance(value, bool) and is_padded(info):
        return f"{value:09d}"
    if isinstance(value, list):
        # libsinsp writes a comma only once the text holds more than "(", so leading empty
        # strings leave no trace: ["", "", "x"] prints as (x), ["x", "", "y"] as (x,,y).
        text = "("
        for item in value:
            if len(text) > 1:
                text += ","
            text += _scalar_text(info.ftype, item)
        return (text + ")")[:LIST_TEXT_LIMIT]
    return _scalar_text(info.ftype, value)


def _scalar_json(ftype: int, value: Any) -> Any:
    if ftype == FT_BOOL:
        return bool(value)
    if isinstance(value, int):
        return value
    return _scalar_text(ftype, value)


def render_json(info: FieldInfo, value: Any) -> Any:
    """The JSON value: ``null`` when there is none, an array for a list, numbers as numbers."""
    if value is None:
        return None
    if isinstance(value, list):
        return [_scalar_json(info.ftype, v) for v in value]
    return _scalar_json(info.ftype, value)
