"""Writing .scap captures as libsinsp's dumper does for plugin sources.

A capture is a section header, a machine-info block (all zeros on plugin platforms, unless the
caller gives a hostname), then one block per event: plugin (322) and async (402) events go in
EV_BLOCK_TYPE_V2_LARGE blocks with cpuid 0 and no flags, as ``scap_dump`` writes them. Output is
plain, or gzip when asked or when the file name ends in ``.gz``.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterable
from typing import BinaryIO, Final, Self

from ..events import HEADER_LEN, PPM_EVENT_MAX, PPME_ASYNCEVENT_E, PPME_PLUGINEVENT_E, Event, EventBatch
from .errors import CaptureIOError, InvalidEventError
from .format import (
    BLOCK_HEADER_LEN,
    BLOCK_TRAILER_LEN,
    EV_BLOCK_TYPE_V2_LARGE,
    MachineInfo,
    encode_event_block,
    encode_machine_info,
    encode_section_header,
    normalize_block_len,
)

EventLike = bytes | bytearray | memoryview | Event

_FLUSH_AT: Final = 1 << 20  # bytes buffered before a write (and a compress call)
_GZIP_WBITS: Final = 16 + zlib.MAX_WBITS
_LEN_TYPE: Final = struct.Struct("<IH")  # len and type, at offset 16 of an event
_BLOCK_HEAD: Final = struct.Struct("<IIH")  # block type, total, cpuid
_U32: Final = struct.Struct("<I")
_ZEROS: Final = (b"", b"\0", b"\0\0", b"\0\0\0")
_CACHE_MAX: Final = 1 << 14


class CaptureWriter:
    """A .scap capture being written.

    ``target`` is a path or a binary file object (left open on close). ``compress`` picks gzip;
    by default a target whose name ends in ``.gz`` is compressed. The machine-info block carries
    ``machine_info``, or just ``hostname``, or zeros. With ``append=True`` the capture is added
    to an existing file as a new section, which readers take as a concatenated capture.
    """

    def __init__(
        self,
        target: str | os.PathLike[str] | BinaryIO,
        *,
        compress: bool | None = None,
        hostname: str | None = None,
        machine_info: MachineInfo | None = None,
        compresslevel: int = 6,
        append: bool = False,
    ) -> None:
        if hostname is not None and machine_info is not None:
            raise ValueError("give hostname or machine_info, not both")
        if hostname is not None:
            machine_info = MachineInfo(hostname=hostname)
        if compress is None:
            compress = _target_name(target).endswith(".gz")
        # zlib's default level (6) is what gzopen(..., "wb") uses in libscap.
        self._deflater = zlib.compressobj(compresslevel, zlib.DEFLATED, _GZIP_WBITS) if compress else None
        self.compressed = compress
        self.name, self._file, self._owned = _open_target(target, append)
        self._out = bytearray()
        self._blocks: dict[int, tuple[bytes, bytes]] = {}  # event len -> (block head, padding + trailer)
        self._closed = False
        self._flushed = 0
        self.events_written = 0
        self._out += encode_section_header()
        self._out += encode_machine_info(machine_info or MachineInfo())

    @property
    def bytes_written(self) -> int:
        """Bytes of capture written so far, before compression."""
        return self._flushed + len(self._out)

    # --- writing ---------------------------------------------------------------------------------

    def write(self, event: EventLike, *, cpuid: int = 0, flags: int = 0) -> None:
        """One event: its scap bytes, or an :class:`Event` (whose bytes are copied as they are)."""
        self._check_open()
        data = _event_view(event)
        self._check_event(data, 0, len(data), exact=True)
        self._out += encode_event_block(data, cpuid=cpuid, flags=flags)
        self.events_written += 1
        self._maybe_flush()

    def write_batch(self, batch: EventBatch) -> None:
        """Every event of ``batch``, in order; the fast path, with no object per event.

        A batch is written whole or not at all: a bad event raises before anything is written.
        """
        self._check_open()
        data = batch.data
        end = len(data)
        out = self._out
        mark = len(out)
        blocks = self._blocks
        unpack = _LEN_TYPE.unpack_from
        try:
            for off in batch.offsets:
                elen, etype = unpack(data, off + 16) if 0 <= off <= end - HEADER_LEN else (0, 0)
                block = blocks.get(elen)  # known lengths only: they were checked once
                if (
                    (etype == PPME_PLUGINEVENT_E or etype == PPME_ASYNCEVENT_E)
                    and block
                    and off + elen <= end
                ):
                    head, tail = block
                    out += head
                    out += data[off : off + elen]
                    out += tail
                else:
                    self._write_slow(data, off, elen, etype)
        except BaseException:
            del out[mark:]
            raise
        self.events_written += len(batch.offsets)
        self._maybe_flush()

    def write_events(self, events: Iterable[EventLike | EventBatch]) -> int:
        """Events and batches, in order; returns how many events were written."""
        before = self.events_written
        for item in events:
            if isinstance(item, EventBatch):
                self.write_batch(item)
            else:
                self.write(item)
        return self.events_written - before

    def _write_slow(self, data: bytes | bytearray | memoryview, off: int, elen: int, etype: int) -> None:
        """An event the fast path could not take: a first length seen, another type, or a bad one."""
        self._check_event(data, off, elen, exact=False)
        event = data[off : off + elen]
        if etype == PPME_PLUGINEVENT_E or etype == PPME_ASYNCEVENT_E:
            self._blocks_for(elen)
        self._out += encode_event_block(event)

    def _blocks_for(self, elen: int) -> None:
        """Remember the head and tail of a LARGE block for events of this length."""
        if len(self._blocks) >= _CACHE_MAX:
            self._blocks.clear()  # bounded: payload sizes vary without limit
        total = normalize_block_len(BLOCK_HEADER_LEN + 2 + elen + BLOCK_TRAILER_LEN)
        padding = normalize_block_len(2 + elen) - (2 + elen)
        self._blocks[elen] = (
            _BLOCK_HEAD.pack(EV_BLOCK_TYPE_V2_LARGE, total, 0),
            _ZEROS[padding] + _U32.pack(total),
        )

    def _check_event(self, data: bytes | bytearray | memoryview, off: int, size: int, *, exact: bool) -> None:
        """``size`` bytes at ``off`` must be one whole event whose type libscap knows."""
        if off < 0 or off + HEADER_LEN > len(data):
            raise InvalidEventError(self.name, f"event at offset {off} is shorter than an event header")
        elen, etype = _LEN_TYPE.unpack_from(data, off + 16)
        if elen < HEADER_LEN:
            raise InvalidEventError(
                self.name, f"event length {elen} is shorter than an event header ({HEADER_LEN})"
            )
        if exact and elen != size:
            raise InvalidEventError(self.name, f"event length {elen} does not match the {size} bytes given")
        if off + elen > len(data):
            raise InvalidEventError(
                self.name,
                f"event at offset {off} of length {elen} runs past the end of its {len(data)} bytes",
            )
        if etype >= PPM_EVENT_MAX:
            raise InvalidEventError(
                self.name, f"event type {etype} is not below PPM_EVENT_MAX ({PPM_EVENT_MAX})"
            )

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"capture writer for {self.name} is closed")

    # --- output ----------------------------------------------------------------------------------

    def _maybe_flush(self) -> None:
        if len(self._out) >= _FLUSH_AT:
            self._drain()

    def _drain(self) -> None:
        data = self._out
        self._flushed += len(data)
        self._out = bytearray()
        self._write(self._deflater.compress(data) if self._deflater else data)

    def _write(self, data: bytes | bytearray) -> None:
        try:
            self._file.write(data)
        except OSError as exc:
            raise CaptureIOError(self.name, f"error writing to file: {exc.strerror or exc}") from exc

    def flush(self) -> None:
        """Write what is buffered (a gzip stream stays open: use close() to finish it)."""
        self._check_open()
        self._drain()
        if self._deflater:
            self._write(self._deflater.flush(zlib.Z_SYNC_FLUSH))
        try:
            self._file.flush()
        except OSError as exc:
            raise CaptureIOError(self.name, f"error writing to file: {exc.strerror or exc}") from exc

    def close(self) -> None:
        """Finish the capture (and its gzip stream); closes the file if we opened it."""
        if self._closed:
            return
        try:
            self._drain()
            if self._deflater:
                self._write(self._deflater.flush())
            self._file.flush()
        except OSError as exc:
            raise CaptureIOError(self.name, f"error writing to file: {exc.strerror or exc}") from exc
        finally:
            self._closed = True
            if self._owned:
                self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<CaptureWriter {self.name!r} events_written={self.events_written}>"


def _target_name(target: str | os.PathLike[str] | BinaryIO) -> str:
    if isinstance(target, (str, os.PathLike)):
        return os.fsdecode(target)
    return str(getattr(target, "name", "<stream>"))


def _open_target(target: str | os.PathLike[str] | BinaryIO, append: bool) -> tuple[str, BinaryIO, bool]:
    """The name, file and ownership of the output."""
    name = _target_name(target)
    if isinstance(target, (str, os.PathLike)):
        try:
            return name, open(target, "ab" if append else "wb"), True
        except OSError as exc:
            raise CaptureIOError(name, f"can't open file: {exc.strerror or exc}") from exc
    return name, target, False


def _event_view(event: EventLike) -> bytes | bytearray | memoryview:
    """The bytes of an event, without copying those of an :class:`Event` view."""
    if isinstance(event, Event):
        return memoryview(event.buf)[event.offset : event.offset + event.len]
    return event


def write_events(
    target: str | os.PathLike[str] | BinaryIO,
    events: Iterable[EventLike | EventBatch],
    *,
    compress: bool | None = None,
    hostname: str | None = None,
) -> int:
    """Write a whole capture of ``events`` (bytes, :class:`Event` or batches); returns the count."""
    with CaptureWriter(target, compress=compress, hostname=hostname) as writer:
        return writer.write_events(events)
