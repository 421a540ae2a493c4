"""Byte-level builders for .scap test files, written from the format notes and independent of
falcoplug.capture, so that the tests check the library against the format and not against itself."""

from __future__ import annotations

import struct

SHB = 0x0A0D0D0A
MI = 0x201
EV = 0x204
EVF = 0x208
EV_V2 = 0x216
EVF_V2 = 0x217
EV_LARGE = 0x221
EVF_LARGE = 0x222
PL_V9 = 0x215
IL_V2 = 0x219
UL_V2 = 0x220
FLAGGED = {EVF, EVF_V2, EVF_LARGE}


def pad4(n: int) -> int:
    return (n + 3) & ~3


def block(btype: int, body: bytes, *, total: int | None = None, trailer: int | None = None) -> bytes:
    """A block with zero padding; ``total`` and ``trailer`` override the computed length."""
    size = pad4(8 + len(body) + 4)
    body = body + bytes(size - 12 - len(body))
    total = size if total is None else total
    return struct.pack("<II", btype, total) + body + struct.pack("<I", total if trailer is None else trailer)


def shb(
    major: int = 1, minor: int = 2, *, magic: int = 0x1A2B3C4D, options: bytes = b"", total: int | None = None
) -> bytes:
    return block(SHB, struct.pack("<IHHQ", magic, major, minor, 0xFFFFFFFFFFFFFFFF) + options, total=total)


def mi(hostname: bytes = b"", *, num_cpus: int = 0, trailer: int | None = None) -> bytes:
    body = struct.pack("<IQQ128sQQQQ", num_cpus, 0, 0, hostname, 0, 0, 0, 0)
    assert len(body) == 180
    return block(MI, body, trailer=trailer)


def event(
    evt_type: int, params: list[bytes], *, ts: int = 0, tid: int = 0, wide: bool | None = None
) -> bytes:
    """An event with u32 lengths for plugin/async types (or ``wide``), u16 otherwise."""
    if wide is None:
        wide = evt_type in (322, 323, 402, 403)
    code = "I" if wide else "H"
    lens = struct.pack("<" + code * len(params), *map(len, params))
    total = 26 + len(lens) + sum(map(len, params))
    return struct.pack("<QQIHI", ts, tid, total, evt_type, len(params)) + lens + b"".join(params)


def plugin_event(payload: bytes, *, ts: int = 0, plugin_id: int = 1) -> bytes:
    return event(322, [struct.pack("<I", plugin_id), payload], ts=ts, tid=0xFFFFFFFFFFFFFFFF)


def async_event(name: str, data: bytes, *, ts: int = 0, plugin_id: int = 1) -> bytes:
    return event(
        402, [struct.pack("<I", plugin_id), name.encode() + b"\0", data], ts=ts, tid=0xFFFFFFFFFFFFFFFF
    )


def old_event(evt_type: int, params: list[bytes], *, ts: int = 0, tid: int = 0) -> bytes:
    """An event as 0x204/0x208 blocks hold it: a 22-byte header without nparams, u16 lengths."""
    lens = struct.pack("<" + "H" * len(params), *map(len, params))
    total = 22 + len(lens) + sum(map(len, params))
    return struct.pack("<QQIH", ts, tid, total, evt_type) + lens + b"".join(params)


def ev_block(
    evt: bytes, btype: int = EV_LARGE, *, cpuid: int = 0, flags: int = 0, trailer: int | None = None
) -> bytes:
    """An event block; padding is on cpuid + event, as scap_dump computes it."""
    prefix = struct.pack("<HI", cpuid, flags) if btype in FLAGGED else struct.pack("<H", cpuid)
    total = pad4(8 + len(prefix) + len(evt) + 4)
    padding = pad4(2 + len(evt)) - (2 + len(evt))
    end = struct.pack("<I", total if trailer is None else trailer)
    return struct.pack("<II", btype, total) + prefix + evt + bytes(padding) + end


def capture(*events: bytes, hostname: bytes = b"") -> bytes:
    """SHB + MI + one 0x221 block per event."""
    return shb() + mi(hostname) + b"".join(ev_block(e) for e in events)
