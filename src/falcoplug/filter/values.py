"""Right-hand side constants parsed by the left-hand side's type, as libsinsp's value parser does."""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import Any

from .errors import FilterError
from .fields import (
    FT_ABSTIME,
    FT_BOOL,
    FT_BYTEBUF,
    FT_IPADDR,
    FT_IPNET,
    FT_RELTIME,
    FT_STRING,
    FT_UINT64,
)

U64_MASK = (1 << 64) - 1
# sscanf("%lu%c"): optional leading white space, an optional sign, decimal digits, nothing after.
_SSCANF_U64 = re.compile(r"[ \t\n\v\f\r]*([+-]?)([0-9]+)")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_u64(text: str) -> int:
    """``sinsp_numparser::parseu64``: decimal only (``0x10`` and ``1.5`` fail), sign wraps, overflow saturates."""
    match = _SSCANF_U64.fullmatch(text)
    if match is None:
        raise FilterError(f"{text} is not a valid number")
    value = min(int(match.group(2)), U64_MASK)  # strtoul saturates at ULONG_MAX
    if match.group(1) == "-":
        value = (-value) & U64_MASK
    return value


def parse_u8(text: str) -> int:
    match = _SSCANF_U64.fullmatch(text)
    if match is None:
        raise FilterError(f"{text} is not a valid number")
    value = int(match.group(2))
    return ((-value) if match.group(1) == "-" else value) & 0xFF


def parse_bool(text: str) -> bool:
    if text == "true":
        return True
    if text == "false":
        return False
    raise FilterError(f"filter error: unrecognized boolean value {text}")


def parse_ipaddr(text: str) -> IPAddress:
    """A value with a ``.`` is IPv4, anything else IPv6 (``inet_pton`` rules)."""
    if "." in text:
        try:
            return ipaddress.IPv4Address(socket.inet_pton(socket.AF_INET, text))
        except (OSError, ValueError):
            raise FilterError(f"unrecognized IPv4 address {text}") from None
    try:
        return ipaddress.IPv6Address(socket.inet_pton(socket.AF_INET6, text))
    except (OSError, ValueError):
        raise FilterError(f"unrecognized IPv6 address {text}") from None


def parse_ipnet(text: str) -> IPNetwork:
    """``a.b.c.d/n`` (IPv4, the mask parsed as a byte) or an IPv6 CIDR."""
    if "." in text:
        if "/" not in text:
            raise FilterError(f"unrecognized IP network {text}")
        ip, _, mask = text.partition("/")
        try:
            packed = socket.inet_pton(socket.AF_INET, ip)
        except OSError:
            raise FilterError(f"unrecognized IP address {text}") from None
        bits = parse_u8(mask)
        if bits > 32:
            raise FilterError(f"invalid netmask {mask}")
        return ipaddress.IPv4Network((packed, bits), strict=False)
    ip, sep, mask = text.partition("/")
    try:
        packed = socket.inet_pton(socket.AF_INET6, ip)
        bits = int(mask) if sep else 128
        return ipaddress.IPv6Network((packed, bits), strict=False)
    except (OSError, ValueError):
        raise FilterError(f"unrecognized IPv6 network {text}") from None


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def unhex(text: str) -> bytes:
    """``bcontains``/``bstartswith`` take hex strings only."""
    if len(text) % 2 or not _HEX_DIGITS.issuperset(text):
        raise FilterError("filter error: bcontains and bstartswith operator support hex strings only")
    return bytes.fromhex(text)


def parse_value(text: str, ftype: int, op: str) -> Any:
    """The Python value of a constant compared with a field of type ``ftype`` under ``op``."""
    if ftype == FT_STRING:
        return text
    if ftype in (FT_UINT64, FT_RELTIME, FT_ABSTIME):
        return parse_u64(text)
    if ftype == FT_BOOL:
        return parse_bool(text)
    if ftype == FT_IPADDR:
        return parse_ipaddr(text)
    if ftype == FT_IPNET:
        return parse_ipnet(text)
    if ftype == FT_BYTEBUF:
        return unhex(text) if op in ("bcontains", "bstartswith") else text.encode("utf-8", "surrogateescape")
    raise FilterError(f"wrong parameter type {ftype}")
