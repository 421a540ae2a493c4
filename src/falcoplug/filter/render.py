"""Field values as libsinsp's formatter writes them, in text and in JSON."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from .fields import FT_BOOL, FT_BYTEBUF, FT_IPADDR, FT_IPNET, FieldInfo

NA = "<NA>"
# libsinsp truncates the text of a list field to this many bytes.
LIST_TEXT_LIMIT = 1023


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
