"""Property tests: the reader returns events or raises CaptureError on any input, in bounded time
and memory, and reads every valid capture the same way whatever its chunk size or compression."""

from __future__ import annotations

import gzip
import io
import struct
import tracemalloc

from capture_fixtures import (
    EV,
    EV_LARGE,
    EV_V2,
    EVF,
    EVF_LARGE,
    EVF_V2,
    async_event,
    block,
    ev_block,
    event,
    mi,
    old_event,
    plugin_event,
    shb,
)
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from falcoplug.abi.scan import plugin_block_scanner
from falcoplug.capture import CaptureError, CaptureReader

FUZZ = settings(max_examples=300, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
CHUNKS = st.sampled_from([64, 100, 257, 4096])


def read_all(data: bytes, chunk_size: int = 4096, compiled: bool = True) -> list[bytes] | CaptureError:
    """The events of ``data``, or the CaptureError it raised; any other exception fails the test.
    ``compiled=False``: the reader's own Python scan of plugin blocks, not the compiled one."""
    events: list[bytes] = []
    try:
        with CaptureReader(io.BytesIO(data), chunk_size=chunk_size) as reader:
            if not compiled:
                reader._scanner = None
            for evt in reader:
                events.append(evt.data)
    except CaptureError as exc:
        return exc
    return events


# --- valid captures ------------------------------------------------------------------------------

payloads = st.binary(max_size=300)
plugin_events = st.builds(
    lambda p, ts, pid: plugin_event(p, ts=ts, plugin_id=pid),
    payloads,
    st.integers(0, 2**64 - 1),
    st.integers(1, 2**32 - 1),
)
async_events = st.builds(
    lambda n, d: async_event(n, d), st.text(max_size=20).filter(lambda s: "\0" not in s), payloads
)
syscall_types = st.integers(0, 453).filter(lambda t: t not in (322, 323, 402, 403))
syscall_params = st.lists(st.binary(max_size=40), max_size=6)
syscall_events = st.builds(lambda t, ps: event(t, ps), syscall_types, syscall_params)
block_types = st.sampled_from([EV_V2, EVF_V2, EV_LARGE, EVF_LARGE])


@st.composite
def event_blocks(draw: st.DrawFn) -> tuple[bytes, bytes | None]:
    """An event block and the event a reader returns for it (None: skipped)."""
    cpuid, flags = draw(st.integers(0, 7)), draw(st.integers(0, 3))
    choice = draw(st.integers(0, 9))
    if choice == 0:  # an event type this libscap does not know: skipped
        evt = event(draw(st.integers(454, 65535)), [b"x"])
        return ev_block(evt, draw(block_types), cpuid=cpuid, flags=flags), None
    if choice == 1:  # an old block, converted to today's layout
        evt_type, params, ts = draw(syscall_types), draw(syscall_params), draw(st.integers(0, 2**64 - 1))
        old = ev_block(old_event(evt_type, params, ts=ts), draw(st.sampled_from([EV, EVF])), flags=flags)
        return old, event(evt_type, params, ts=ts)
    evt = draw(st.one_of(plugin_events, async_events, syscall_events))
    return ev_block(evt, draw(block_types), cpuid=cpuid, flags=flags), evt


@st.composite
def captures(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    """A valid capture (maybe several sections) with the events a reader must return."""
    data = b""
    expected: list[bytes] = []
    for _ in range(draw(st.integers(1, 3))):
        data += shb(minor=draw(st.integers(0, 5)), options=draw(st.sampled_from([b"", b"opts"])))
        if draw(st.booleans()):
            data += mi(draw(st.binary(max_size=20).map(lambda b: b.replace(b"\0", b"h"))))
        if draw(st.booleans()):
            data += block(draw(st.integers(0x300, 0x400)), draw(st.binary(max_size=50)))
        for _ in range(draw(st.integers(1, 8))):
            blk, evt = draw(event_blocks())
            data += blk
            if evt is not None:
                expected.append(evt)
    return data, expected


@FUZZ
@given(captures(), CHUNKS, st.booleans())
def test_valid_captures_read_back_exactly(
    capture: tuple[bytes, list[bytes]], chunk: int, compress: bool
) -> None:
    data, expected = capture
    assert read_all(gzip.compress(data, 1) if compress else data, chunk) == expected


# --- invalid input -------------------------------------------------------------------------------


def check_reader_survives(data: bytes, chunk: int) -> None:
    result = read_all(data, chunk)
    if isinstance(result, CaptureError):
        assert str(result).startswith("<stream>: ")


@FUZZ
@given(st.binary(max_size=2000), CHUNKS)
def test_random_bytes(data: bytes, chunk: int) -> None:
    check_reader_survives(data, chunk)


@FUZZ
@given(st.binary(max_size=600), CHUNKS)
def test_random_bytes_after_a_valid_header(data: bytes, chunk: int) -> None:
    check_reader_survives(shb() + data, chunk)
    check_reader_survives(shb() + mi() + data, chunk)
    check_reader_survives(gzip.compress(shb() + data, 1), chunk)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(captures())[0])
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "u32", "u16", "cut", "insert", "delete"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "u32" and len(data) >= 4:
            pos = min(pos, len(data) - 4)
            value = draw(
                st.sampled_from([0, 1, 3, 4, 12, 26, 0x7FFFFFFF, 0xFFFFFFFF, 0xFFFFFFF0])
                | st.integers(0, 2**32 - 1)
            )
            struct.pack_into("<I", data, pos, value)
        elif kind == "u16" and len(data) >= 2:
            pos = min(pos, len(data) - 2)
            struct.pack_into("<H", data, pos, draw(st.integers(0, 65535)))
        elif kind == "cut":
            del data[pos:]
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[pos : pos + draw(st.integers(1, 16))]
    return bytes(data)


@FUZZ
@given(mutated(), CHUNKS)
def test_mutated_captures(data: bytes, chunk: int) -> None:
    check_reader_survives(data, chunk)


def _same_reading(a: list[bytes] | CaptureError, b: list[bytes] | CaptureError) -> bool:
    if isinstance(a, CaptureError) or isinstance(b, CaptureError):
        return type(a) is type(b) and str(a) == str(b)
    return a == b


@pytest.mark.skipif(plugin_block_scanner() is None, reason="the compiled fast path is not built (ABI mode)")
@FUZZ
@given(st.one_of(mutated(), captures().map(lambda c: c[0])), CHUNKS)
def test_the_compiled_scan_of_plugin_blocks_reads_as_the_python_one(data: bytes, chunk: int) -> None:
    assert _same_reading(read_all(data, chunk), read_all(data, chunk, compiled=False))


@pytest.mark.skipif(plugin_block_scanner() is None, reason="the compiled fast path is not built (ABI mode)")
@pytest.mark.parametrize(("at", "fmt", "value"), [
    (4, "<I", 52), (4, "<I", 56), (4, "<I", 0x7FFFFFF0), (26, "<I", 39), (26, "<I", 4000), (30, "<H", 323), (32, "<I", 3),
    (36, "<I", 8), (40, "<I", 9), (0, "<I", 0x216),
])  # fmt: skip
def test_every_check_of_the_compiled_scan_matters(at: int, fmt: str, value: int) -> None:
    """A plugin block with one header field off (block length too short or too long, event length,
    type, params, first param's length, payload length, block type): read as the Python scan reads it."""
    blocks = [ev_block(plugin_event(bytes([65 + i]) * (5 + i), ts=i), EV_LARGE) for i in range(6)]
    good = shb() + mi() + b"".join(blocks)
    start = len(shb() + mi()) + sum(map(len, blocks[:3]))
    data = bytearray(good)
    struct.pack_into(fmt, data, start + at, value)
    for chunk in (64, 4096):
        compiled, python = read_all(bytes(data), chunk), read_all(bytes(data), chunk, compiled=False)
        assert _same_reading(compiled, python), (compiled, python)
    assert read_all(good) == read_all(good, compiled=False) and len(read_all(good)) == 6


@settings(max_examples=100, deadline=5000)
@given(mutated())
def test_mutated_gzip_captures(data: bytes) -> None:
    packed = bytearray(gzip.compress(data, 1))
    check_reader_survives(bytes(packed), 4096)
    packed[len(packed) // 2] ^= 0xFF
    check_reader_survives(bytes(packed), 4096)


def test_length_fields_claiming_gigabytes_allocate_nothing_big() -> None:
    """Every u32 of a small capture set to ~4 GiB: errors, never a 4 GiB buffer."""
    base = bytearray(shb() + mi() + ev_block(plugin_event(b"hello")) + ev_block(event(2, [b"ab"]), EVF_V2))
    tracemalloc.start()
    try:
        for pos in range(len(base) - 3):
            for value in (0xFFFFFFFF, 0xFFFFFFFC, 0x7FFFFFFF, 0x04000000):
                data = bytearray(base)
                struct.pack_into("<I", data, pos, value)
                check_reader_survives(bytes(data), 1 << 16)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8_000_000
