"""The .scap reader and writer against hand-built bytes (tests/capture_fixtures.py)."""

from __future__ import annotations

import gzip
import io
import struct
import tracemalloc
import zlib
from pathlib import Path

import pytest
from capture_fixtures import (
    EV,
    EV_LARGE,
    EV_V2,
    EVF,
    EVF_LARGE,
    EVF_V2,
    IL_V2,
    PL_V9,
    UL_V2,
    async_event,
    block,
    capture,
    ev_block,
    event,
    mi,
    old_event,
    plugin_event,
    shb,
)

from falcoplug.capture import (
    CaptureError,
    CaptureFormatError,
    CaptureIOError,
    CaptureReader,
    CaptureVersionError,
    CaptureWriter,
    InvalidEventError,
    MachineInfo,
    NoEventsError,
    TruncatedCaptureError,
    read_events,
    write_events,
)
from falcoplug.capture.format import (
    SCAP_DF_STATE_ONLY,
    encode_event_block,
    encode_machine_info,
    encode_section_header,
)
from falcoplug.errors import FalcoplugError
from falcoplug.events import EventBatch, encode_async_event, encode_plugin_event

WORKED_EXAMPLE = bytes.fromhex(
    "21020000 3c000000 0000 0100000000000000 ffffffffffffffff 2b000000 4201 02000000"
    " 04000000 05000000 01000000 68656c6c6f 000000 3c000000"
)
SHB_BYTES = bytes.fromhex("0a0d0d0a 1c000000 4d3c2b1a 0100 0200 ffffffffffffffff 1c000000")


def write_file(tmp_path: Path, data: bytes, name: str = "t.scap") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def events_of(source: Path | io.BytesIO, **kwargs: int) -> list[bytes]:
    with CaptureReader(source, **kwargs) as reader:
        return [ev.data for ev in reader]


def read_error(data: bytes, tmp_path: Path, cls: type[CaptureError] = CaptureFormatError) -> str:
    """The message of the error reading ``data`` raises (opening or iterating)."""
    path = write_file(tmp_path, data, "bad.scap")
    with pytest.raises(cls) as info:
        events_of(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    return message


# --- the writer's bytes --------------------------------------------------------------------------


def test_worked_example_block_is_byte_exact() -> None:
    evt = encode_plugin_event(b"hello", ts=1, plugin_id=1)
    assert encode_event_block(evt) == WORKED_EXAMPLE
    assert ev_block(plugin_event(b"hello", ts=1)) == WORKED_EXAMPLE


def test_section_header_and_machine_info_bytes() -> None:
    assert encode_section_header() == SHB_BYTES == shb()
    zeros = encode_machine_info(MachineInfo())
    assert len(zeros) == 192
    assert zeros == struct.pack("<II", 0x201, 192) + bytes(180) + struct.pack("<I", 192) == mi()
    assert encode_machine_info(MachineInfo(hostname="box")) == mi(b"box")


def test_writer_output_is_byte_exact() -> None:
    out = io.BytesIO()
    with CaptureWriter(out) as writer:
        writer.write(encode_plugin_event(b"hello", ts=1, plugin_id=1))
        writer.write(encode_async_event("sample", b"data", ts=2, plugin_id=1))
    expected = SHB_BYTES + mi() + WORKED_EXAMPLE + ev_block(async_event("sample", b"data", ts=2))
    assert out.getvalue() == expected


@pytest.mark.parametrize("size", range(8))
def test_padding_and_trailer_for_every_alignment(size: int) -> None:
    evt = encode_plugin_event(b"x" * size, plugin_id=3)
    assert encode_event_block(evt) == ev_block(evt)
    blk = encode_event_block(evt)
    assert len(blk) % 4 == 0
    assert struct.unpack_from("<I", blk, 4) == struct.unpack_from("<I", blk, len(blk) - 4)


def test_flagged_block_pads_on_cpuid_and_event() -> None:
    evt = encode_plugin_event(b"abc", plugin_id=1)
    blk = encode_event_block(evt, cpuid=5, flags=SCAP_DF_STATE_ONLY)
    assert blk == ev_block(evt, EVF_LARGE, cpuid=5, flags=SCAP_DF_STATE_ONLY)
    assert struct.unpack_from("<I", blk)[0] == EVF_LARGE


def test_non_plugin_event_uses_v2_block_unless_too_big() -> None:
    small = event(2, [b"\x01" * 8])
    assert struct.unpack_from("<I", encode_event_block(small))[0] == EV_V2
    big = event(2, [b"\x01" * 60000, b"\x02" * 6000])
    assert struct.unpack_from("<I", encode_event_block(big))[0] == EV_LARGE


def test_writer_hostname_and_machine_info(tmp_path: Path) -> None:
    path = tmp_path / "h.scap"
    write_events(path, [plugin_event(b"a")], hostname="falco-host")
    with CaptureReader(path) as reader:
        assert reader.hostname == "falco-host"
        assert reader.machine_info == MachineInfo(hostname="falco-host")
    info = MachineInfo(num_cpus=4, memory_size_bytes=1 << 30, hostname="h")
    with CaptureWriter(path, machine_info=info) as writer:
        writer.write(plugin_event(b"a"))
    assert CaptureReader(path).machine_info == info
    with pytest.raises(ValueError):
        CaptureWriter(io.BytesIO(), hostname="a", machine_info=info)
    with pytest.raises(ValueError):
        MachineInfo(hostname="x" * 128)


# --- round trips ---------------------------------------------------------------------------------


def sample_events(n: int = 50) -> list[bytes]:
    evts = []
    for i in range(n):
        if i % 10 == 9:
            evts.append(encode_async_event(f"name{i}", b"d" * i, ts=1000 + i, plugin_id=2))
        else:
            evts.append(encode_plugin_event(bytes([i % 256]) * (i * 3), ts=1000 + i, plugin_id=1 + i % 2))
    return evts


def test_round_trip_write_and_iterate(tmp_path: Path) -> None:
    evts = sample_events()
    path = tmp_path / "rt.scap"
    with CaptureWriter(path) as writer:
        for evt in evts:
            writer.write(evt)
    assert writer.events_written == len(evts)
    with CaptureReader(path) as reader:
        got = list(reader)
        assert reader.events_read == len(evts)
        assert reader.version == (1, 2)
        assert not reader.compressed
    assert [e.data for e in got] == evts
    assert [e.num for e in got] == list(range(1, len(evts) + 1))
    assert all(e.source is None for e in got)
    assert got[0].ts == 1000 and got[0].plugin_id == 1 and got[0].payload == b""
    assert got[9].async_name == "name9" and got[9].payload == b"d" * 9 and got[9].plugin_id == 2


def test_round_trip_write_batch_and_batches(tmp_path: Path) -> None:
    evts = sample_events(200)
    path = tmp_path / "rt.scap"
    with CaptureWriter(path) as writer:
        writer.write_batch(EventBatch.from_events(evts[:120]))
        writer.write_batch(EventBatch.from_events(evts[120:]))
    assert path.read_bytes() == SHB_BYTES + mi() + b"".join(ev_block(e) for e in evts)
    with CaptureReader(path) as reader:
        batches = list(reader.batches(max_events=64))
    assert [len(b) for b in batches] == [64, 64, 64, 8]
    assert [b.event_bytes(i) for b in batches for i in range(len(b))] == evts


def test_batch_with_gaps_and_offsets_out_of_order() -> None:
    evts = sample_events(5)
    data = b"junk" + evts[0] + b"zz" + evts[1]
    batch = EventBatch(data, [4 + len(evts[0]) + 2, 4])
    out = io.BytesIO()
    with CaptureWriter(out) as writer:
        writer.write_batch(batch)
    out.seek(0)
    assert events_of(out) == [evts[1], evts[0]]


def test_large_event_round_trip(tmp_path: Path) -> None:
    evts = [encode_plugin_event(b"\xab" * 300_000, ts=5, plugin_id=1), encode_plugin_event(b"z", plugin_id=1)]
    path = tmp_path / "big.scap"
    write_events(path, evts)
    assert events_of(path) == evts
    assert events_of(path, chunk_size=4096) == evts


def test_write_event_objects_and_convenience(tmp_path: Path) -> None:
    evts = sample_events(12)
    first = tmp_path / "a.scap"
    assert write_events(first, [EventBatch.from_events(evts[:6]), *evts[6:]]) == 12
    second = tmp_path / "b.scap"
    assert write_events(second, read_events(first)) == 12
    assert [e.data for e in read_events(second)] == evts
    assert first.read_bytes() == second.read_bytes()


# --- gzip ----------------------------------------------------------------------------------------


def test_gzip_by_suffix_and_option(tmp_path: Path) -> None:
    evts = sample_events(30)
    gz = tmp_path / "c.scap.gz"
    write_events(gz, evts)
    assert gz.read_bytes()[:2] == b"\x1f\x8b"
    assert gzip.decompress(gz.read_bytes()) == SHB_BYTES + mi() + b"".join(ev_block(e) for e in evts)
    with CaptureReader(gz) as reader:
        assert reader.compressed
        assert [e.data for e in reader] == evts
    forced = tmp_path / "forced.scap"  # compressed whatever the name
    write_events(forced, evts, compress=True)
    assert forced.read_bytes()[:2] == b"\x1f\x8b"
    assert events_of(forced) == evts
    plain = tmp_path / "plain.scap.gz"  # plain whatever the name
    write_events(plain, evts, compress=False)
    assert plain.read_bytes()[:4] == b"\x0a\x0d\x0d\x0a"
    assert events_of(plain) == evts


def test_gzip_members_trailing_garbage_and_small_reads(tmp_path: Path) -> None:
    data = capture(*sample_events(40))
    cut = len(data) // 3
    multi = gzip.compress(data[:cut]) + gzip.compress(data[cut:]) + b"garbage after the last member"
    path = write_file(tmp_path, multi, "m.gz")
    assert events_of(path) == sample_events(40)
    assert events_of(path, chunk_size=64) == sample_events(40)


def test_gzip_truncated_and_corrupt(tmp_path: Path) -> None:
    packed = gzip.compress(capture(*sample_events(40)))
    message = read_error(packed[: len(packed) - 12], tmp_path, TruncatedCaptureError)
    assert "unexpected end of file" in message
    corrupt = packed[:20] + bytes(b ^ 0x55 for b in packed[20:40]) + packed[40:]
    read_error(corrupt, tmp_path)
    bad_crc = packed[:-8] + b"\0\0\0\0" + packed[-4:]
    read_error(bad_crc, tmp_path)


def test_gzip_write_flush_keeps_stream_readable(tmp_path: Path) -> None:
    path = tmp_path / "f.scap.gz"
    writer = CaptureWriter(path)
    writer.write(plugin_event(b"one"))
    writer.flush()
    partial = path.read_bytes()
    writer.write(plugin_event(b"two"))
    writer.close()
    assert zlib.decompressobj(31).decompress(partial) == capture(plugin_event(b"one"))
    assert events_of(path) == [plugin_event(b"one"), plugin_event(b"two")]


# --- block types a plugin capture can contain ----------------------------------------------------


def test_reads_every_event_block_type(tmp_path: Path) -> None:
    evts = [plugin_event(b"p%d" % i, ts=i) for i in range(4)]
    data = (
        shb()
        + mi()
        + ev_block(evts[0], EV_V2, cpuid=3)
        + ev_block(evts[1], EVF_V2, flags=SCAP_DF_STATE_ONLY)
        + ev_block(evts[2], EV_LARGE)
        + ev_block(evts[3], EVF_LARGE, cpuid=1, flags=1)
    )
    assert events_of(write_file(tmp_path, data)) == evts


def test_old_blocks_get_nparams(tmp_path: Path) -> None:
    params = [b"\x07" * 8, b"/etc/passwd\0", b"\x01\0\0\0"]
    data = (
        shb()
        + ev_block(old_event(2, params, ts=9, tid=42), EV)
        + ev_block(old_event(5, [], ts=10, tid=1), EVF, flags=1)
        + ev_block(event(2, params, ts=11, tid=42), EV_V2)
    )
    got = read_events(write_file(tmp_path, data))
    assert [e.data for e in got] == [
        event(2, params, ts=9, tid=42),
        event(5, [], ts=10, tid=1),
        event(2, params, ts=11, tid=42),
    ]
    assert [e.num for e in got] == [1, 2, 3]
    assert got[0].nparams == 3 and got[0].params == params


def test_old_block_whose_lengths_do_not_add_up(tmp_path: Path) -> None:
    evt = bytearray(old_event(2, [b"abc", b"de"]))
    evt[16:20] = struct.pack("<I", len(evt) - 1)  # the length now ends inside a parameter
    message = read_error(shb() + ev_block(bytes(evt), EV), tmp_path)
    assert "cannot convert v1 event block to v2" in message


def test_metadata_blocks_are_skipped(tmp_path: Path) -> None:
    evts = sample_events(3)
    data = (
        shb()
        + block(0x7777, b"unknown metadata")
        + mi(b"host")
        + block(IL_V2, b"\0" * 10)
        + block(UL_V2, b"\1" * 7)
        + block(PL_V9, b"")
        + block(0x8002ABCD + 1, b"x" * 1000)
        + b"".join(ev_block(e) for e in evts)
    )
    with CaptureReader(write_file(tmp_path, data)) as reader:
        assert reader.hostname == "host"
        assert [e.data for e in reader] == evts


def test_section_header_options_are_skipped(tmp_path: Path) -> None:
    data = shb(options=b"\x01\x00\x04\x00abcd") + mi() + ev_block(plugin_event(b"x"))
    assert events_of(write_file(tmp_path, data)) == [plugin_event(b"x")]
    assert events_of(write_file(tmp_path, data), chunk_size=64) == [plugin_event(b"x")]


def test_newer_minor_version_reads(tmp_path: Path) -> None:
    with CaptureReader(write_file(tmp_path, shb(1, 99) + ev_block(plugin_event(b"x")))) as reader:
        assert reader.version == (1, 99)
        assert reader.machine_info is None
        assert len(list(reader)) == 1


def test_unknown_event_types_are_skipped(tmp_path: Path) -> None:
    data = capture(plugin_event(b"a"), event(454, [b"new"]), event(999, []), plugin_event(b"b"))
    got = read_events(write_file(tmp_path, data))
    assert [e.payload for e in got] == [b"a", b"b"]
    assert [e.num for e in got] == [1, 2]


def test_event_block_trailer_is_not_checked(tmp_path: Path) -> None:
    data = shb() + ev_block(plugin_event(b"a"), trailer=12345) + ev_block(plugin_event(b"b"))
    assert len(events_of(write_file(tmp_path, data))) == 2


def test_concatenated_captures(tmp_path: Path) -> None:
    first, second = sample_events(7), sample_events(4)
    data = capture(*first, hostname=b"one") + capture(*second, hostname=b"two")
    with CaptureReader(write_file(tmp_path, data)) as reader:
        got = list(reader)
        assert reader.sections == 2
        assert reader.hostname == "two"
    assert [e.data for e in got] == first + second
    assert [e.num for e in got] == list(range(1, 12))
    assert events_of(write_file(tmp_path, data), chunk_size=64) == first + second


def test_writer_append_makes_a_concatenated_capture(tmp_path: Path) -> None:
    path = tmp_path / "app.scap"
    write_events(path, [plugin_event(b"1")])
    with CaptureWriter(path, append=True, hostname="later") as writer:
        writer.write(plugin_event(b"2"))
    assert events_of(path) == [plugin_event(b"1"), plugin_event(b"2")]


def test_progress_and_streaming_small_chunks(tmp_path: Path) -> None:
    evts = sample_events(300)
    path = write_file(tmp_path, capture(*evts))
    with CaptureReader(path, chunk_size=256) as reader:
        assert reader.size == path.stat().st_size
        start = reader.progress
        assert start is not None and start < 0.2
        batches = list(reader.batches())
        assert reader.progress == 1.0
        assert reader.bytes_read == path.stat().st_size
    assert len(batches) > 10
    # batches stay valid after the reader has moved on to new buffers
    assert [b.event_bytes(i) for b in batches for i in range(len(b))] == evts


def test_reading_a_pipe_like_stream() -> None:
    class Chunky(io.RawIOBase):
        """Returns at most 5 bytes per read, as a pipe may."""

        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, out: memoryview) -> int:  # type: ignore[override]
            chunk = self._data.read(min(5, len(out)))
            out[: len(chunk)] = chunk
            return len(chunk)

    evts = sample_events(20)
    with CaptureReader(Chunky(capture(*evts))) as reader:  # type: ignore[arg-type]
        assert reader.progress is None
        assert [e.data for e in reader] == evts
    with CaptureReader(Chunky(gzip.compress(capture(*evts)))) as reader:  # type: ignore[arg-type]
        assert [e.data for e in reader] == evts


def test_memory_stays_bounded_on_a_big_file(tmp_path: Path) -> None:
    path = tmp_path / "big.scap"
    payload = encode_plugin_event(b"m" * 200, plugin_id=1)
    with CaptureWriter(path) as writer:
        for _ in range(40):
            writer.write_batch(EventBatch.from_events([payload] * 2000))
    assert path.stat().st_size > 15_000_000
    tracemalloc.start()
    try:
        with CaptureReader(path, chunk_size=1 << 18) as reader:
            count = sum(len(b) for b in reader.batches())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 80_000
    assert peak < 4_000_000


# --- errors --------------------------------------------------------------------------------------


def test_every_error_is_a_capture_error() -> None:
    for cls in (
        CaptureFormatError,
        CaptureIOError,
        CaptureVersionError,
        NoEventsError,
        TruncatedCaptureError,
    ):
        assert issubclass(cls, CaptureError) and issubclass(cls, FalcoplugError)
    assert issubclass(InvalidEventError, CaptureError)


def test_invalid_magic(tmp_path: Path) -> None:
    assert "invalid magic number" in read_error(
        shb(magic=0x12345678) + ev_block(plugin_event(b"x")), tmp_path
    )
    swapped = b"".join(
        part[::-1]
        for part in (struct.pack("<I", 0x0A0D0D0A), struct.pack("<I", 28), struct.pack("<I", 0x1A2B3C4D))
    )
    message = read_error(swapped + bytes(16) + ev_block(plugin_event(b"x")), tmp_path)
    assert message.endswith("invalid magic number (at offset 0)")


def test_not_a_capture(tmp_path: Path) -> None:
    assert "invalid block type" in read_error(b"hello, this is not a capture file", tmp_path)


def test_newer_major_version(tmp_path: Path) -> None:
    message = read_error(shb(2, 0) + ev_block(plugin_event(b"x")), tmp_path, CaptureVersionError)
    assert "cannot correctly parse the capture. Upgrade your version." in message


def test_no_events_in_file(tmp_path: Path) -> None:
    for data in (shb(), shb() + mi(), shb() + mi() + block(0x7777, b"abc")):
        assert "no events in file" in read_error(data, tmp_path, NoEventsError)


def test_wrong_metadata_trailer(tmp_path: Path) -> None:
    message = read_error(shb() + mi(trailer=999) + ev_block(plugin_event(b"x")), tmp_path)
    assert "wrong block total length, header=192, trailer=999 (at offset 28)" in message
    message = read_error(
        shb() + block(0x7777, b"12345678", trailer=7) + ev_block(plugin_event(b"x")), tmp_path
    )
    assert "wrong block total length, header=20, trailer=7" in message
    short_mi = block(0x201, bytes(100))  # read as 180 bytes, so the "trailer" is elsewhere
    assert "wrong block total length, header=112" in read_error(
        shb() + short_mi + capture(plugin_event(b"x")), tmp_path
    )


def test_truncated_files(tmp_path: Path) -> None:
    full = capture(*sample_events(5))
    assert "Is the file truncated?" in read_error(b"", tmp_path, TruncatedCaptureError)
    assert "Is the file truncated?" in read_error(shb()[:20], tmp_path, TruncatedCaptureError)
    assert "Is the file truncated?" in read_error(shb() + mi()[:100], tmp_path, TruncatedCaptureError)
    # a truncated tail: the complete events come first, then the error
    path = write_file(tmp_path, full[:-5])
    seen: list[bytes] = []
    with pytest.raises(TruncatedCaptureError, match="Is the file truncated"), CaptureReader(path) as reader:
        seen.extend(e.data for e in reader)
    assert seen == sample_events(5)[:4]
    # a partial block header at the end
    assert "expecting 8 bytes, read 3" in read_error(full + b"\x21\x02\x00", tmp_path, TruncatedCaptureError)
    # a block boundary is a clean end
    assert len(events_of(write_file(tmp_path, full))) == 5


def test_metadata_block_claiming_more_than_the_file(tmp_path: Path) -> None:
    data = shb() + block(0x7777, b"x", total=0xFFFFFFF0) + ev_block(plugin_event(b"x"))
    assert "Is the file truncated?" in read_error(data, tmp_path, TruncatedCaptureError)
    tiny = shb() + struct.pack("<II", 0x7777, 4) + ev_block(plugin_event(b"x"))
    assert "Can't skip block of type 7777" in read_error(tiny, tmp_path)


def test_event_block_length_limits(tmp_path: Path) -> None:
    huge = shb() + struct.pack("<II", EV_LARGE, 0xFFFFFFFC) + bytes(40)
    tracemalloc.start()
    try:
        message = read_error(huge, tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "event block length 4294967284 greater than the maximum" in message
    assert peak < 20_000_000
    non_large = shb() + struct.pack("<II", EV_V2, 65548) + bytes(65540)
    assert "greater than NON-LARGE read buffer size 65536" in read_error(non_large, tmp_path)
    too_short = shb() + struct.pack("<II", EV_V2, 20) + bytes(12)
    assert "block length too short 20" in read_error(too_short, tmp_path)


def test_event_lengths_that_do_not_fit(tmp_path: Path) -> None:
    def with_event_fields(**fields: int) -> bytes:
        evt = bytearray(plugin_event(b"hello"))
        offsets = {"len": (16, "<I"), "nparams": (22, "<I"), "len0": (26, "<I"), "len1": (30, "<I")}
        for name, value in fields.items():
            off, fmt = offsets[name]
            struct.pack_into(fmt, evt, off, value)
        return capture(plugin_event(b"ok"), bytes(evt))

    assert "event length 20 shorter than the event header" in read_error(with_event_fields(len=20), tmp_path)
    assert "event length 500 greater than its block data" in read_error(with_event_fields(len=500), tmp_path)
    assert "has 70000 parameters" in read_error(with_event_fields(nparams=70000), tmp_path)
    assert "does not fit in its length" in read_error(with_event_fields(nparams=5), tmp_path)
    assert "parameter lengths of event type 322 exceed" in read_error(with_event_fields(len1=6), tmp_path)
    # the event before the bad one is still delivered
    path = write_file(tmp_path, with_event_fields(len1=6))
    seen: list[bytes] = []
    with pytest.raises(CaptureFormatError), CaptureReader(path) as reader:
        seen.extend(e.payload for e in reader)
    assert seen == [b"ok"]


def test_non_event_block_after_events(tmp_path: Path) -> None:
    data = capture(plugin_event(b"a")) + mi()
    assert "could not restart capture: invalid block type" in read_error(data, tmp_path)
    data = capture(plugin_event(b"a")) + shb() + mi()
    assert "could not restart capture: no events in file" in read_error(data, tmp_path, NoEventsError)
    data = capture(plugin_event(b"a")) + shb(magic=1) + ev_block(plugin_event(b"x"))
    assert "could not restart capture: invalid magic number" in read_error(data, tmp_path)


def test_shb_too_short(tmp_path: Path) -> None:
    message = read_error(shb(total=24) + ev_block(plugin_event(b"x")), tmp_path)
    assert "block length 24 less than 28" in message


def test_missing_file_is_a_capture_error(tmp_path: Path) -> None:
    with pytest.raises(CaptureIOError, match="nope.scap: can't open file"):
        CaptureReader(tmp_path / "nope.scap")
    with pytest.raises(CaptureIOError, match="can't open file"):
        CaptureWriter(tmp_path / "no-dir" / "x.scap")


# --- writer input checks -------------------------------------------------------------------------


def test_writer_rejects_bad_events() -> None:
    writer = CaptureWriter(io.BytesIO())
    good = plugin_event(b"abc")
    with pytest.raises(InvalidEventError, match="shorter than an event header"):
        writer.write(good[:10])
    with pytest.raises(InvalidEventError, match="does not match"):
        writer.write(good + b"extra")
    with pytest.raises(InvalidEventError, match="does not match"):
        writer.write(good[:-1])
    with pytest.raises(InvalidEventError, match="PPM_EVENT_MAX"):
        writer.write(event(454, []))
    batch = EventBatch(good + good[:-1], [0, len(good)])
    with pytest.raises(InvalidEventError, match="event at offset 41 of length 41 runs past the end of its 81 bytes"):
        writer.write_batch(batch)
    with pytest.raises(InvalidEventError, match="shorter than an event header"):
        writer.write_batch(EventBatch(good, [0, len(good) - 20]))
    assert writer.events_written == 0
    writer.write_batch(EventBatch.from_events([good]))
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.write(good)


def test_failed_batch_writes_nothing() -> None:
    out = io.BytesIO()
    good = plugin_event(b"abc")
    with CaptureWriter(out) as writer:
        writer.write(good)
        with pytest.raises(InvalidEventError):
            writer.write_batch(EventBatch(good + b"\0" * 8, [0, len(good)]))
    out.seek(0)
    assert events_of(out) == [good]
