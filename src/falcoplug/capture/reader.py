"""Reading .scap captures as libscap's savefile engine does, in bounded memory.

The file is read in chunks (a few MiB) into a fresh buffer each time. Event blocks are scanned
in place: a batch is the chunk buffer plus the offsets of the events inside it, so the fast path
creates no Python object per event. A chunk buffer is never written again once events point into
it, so batches stay valid after the reader moves on.

Behaviour follows libscap (``scap_savefile.c``): the section header and the metadata blocks are
read when the capture is opened, which fails with "no events in file" when no event block follows;
unknown metadata blocks are skipped; events whose type the event table does not know (>= 454) are
skipped; a section header after events starts a concatenated capture; a partial block at the end
is an error, a clean block boundary is the end.
"""

from __future__ import annotations

import os
import struct
from array import array
from collections.abc import Iterator
from typing import BinaryIO, Final, NoReturn, Self

from ..events import (
    HEADER,
    HEADER_LEN,
    LARGE_PAYLOAD_TYPES,
    PPM_EVENT_MAX,
    PPME_PLUGINEVENT_E,
    Event,
    EventBatch,
)
from ..abi.scan import plugin_block_scanner
from ._source import RawInput, Source, open_source
from .errors import (
    CaptureError,
    CaptureFormatError,
    CaptureVersionError,
    NoEventsError,
    TruncatedCaptureError,
)
from .format import (
    BLOCK_HEADER,
    BLOCK_HEADER_LEN,
    BLOCK_TRAILER_LEN,
    CURRENT_MAJOR_VERSION,
    EV_BLOCK_TYPE_V2_LARGE,
    EVENT_BLOCK_TYPES,
    FLAGGED_BLOCK_TYPES,
    LARGE_BLOCK_TYPES,
    MACHINE_INFO_LEN,
    MAX_BLOCK_LEN,
    MAX_EVENT_PARAMS,
    MI_BLOCK_TYPE,
    MI_BLOCK_TYPE_INT,
    OLD_EVENT_BLOCK_TYPES,
    OLD_EVENT_HEADER_LEN,
    READER_BUF_SIZE,
    SHB_BLOCK_TYPE,
    SHB_LEN,
    SHB_MAGIC,
    MachineInfo,
)

DEFAULT_CHUNK_SIZE: Final = 4 << 20

# The fast path reads, in one unpack, what a plugin event block needs checked: block type and
# length, then (skipping cpuid, ts and tid) the event's len, type, nparams and its two u32 lengths.
_FAST: Final = struct.Struct("<II18xIHIII")
_FAST_EVENT_OFFSET: Final = BLOCK_HEADER_LEN + 2
# Bytes of a plugin event block that are not the event: header, cpuid, trailer.
_FAST_OVERHEAD: Final = BLOCK_HEADER_LEN + 2 + BLOCK_TRAILER_LEN
_PLUGIN_FIXED_LEN: Final = HEADER_LEN + 4 + 4 + 4  # header, two lengths, plugin_id
_SHB_FIELDS: Final = struct.Struct("<IIIHH")  # type, total, magic, major, minor
_EVENT_TAIL: Final = struct.Struct("<IHI")  # len, type, nparams at offset 16 of an event
_OLD_EVENT_HEAD: Final = struct.Struct("<QQIH")  # an event header without nparams
_U32: Final = struct.Struct("<I")
_U16: Final = struct.Struct("<H")


class CaptureReader:
    """A .scap capture opened for reading, plain or gzip.

    ``source`` is a path or a binary file object (which is not closed). Opening reads the section
    header and metadata, so format errors show up here. Then iterate for :class:`Event` objects
    (numbered from 1, with no source: the host assigns sources), or call :meth:`batches` for
    :class:`EventBatch` objects on the fast path. A reader is read once, front to back.
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | BinaryIO,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        max_block_len: int = MAX_BLOCK_LEN,
    ) -> None:
        if chunk_size < 64 or max_block_len < 64:
            raise ValueError("chunk_size and max_block_len must be at least 64 bytes")
        self._raw = RawInput(source)
        self.name = self._raw.name
        self._chunk_size = chunk_size
        self._max_block_len = max_block_len
        self._scanner = plugin_block_scanner()  # the compiled scan of plugin event blocks, if built
        self._buf = bytearray()
        self._pos = 0
        self._base = 0  # stream offset of _buf[0], for error messages
        self._eof = False
        self._context = ""  # prefix of error reasons while restarting on a concatenated section
        self._pending: CaptureError | None = None
        self._events_read = 0
        self._closed = False
        self.machine_info: MachineInfo | None = None
        self.version: tuple[int, int] = (0, 0)
        self.sections = 0
        try:
            self._source: Source = open_source(self._raw)
            self._read_section()
        except BaseException:
            self._raw.close()
            raise

    # --- public API ------------------------------------------------------------------------------

    @property
    def compressed(self) -> bool:
        return self._source.compressed

    @property
    def hostname(self) -> str | None:
        return None if self.machine_info is None else self.machine_info.hostname

    @property
    def events_read(self) -> int:
        """Events handed out so far (the number of the last one)."""
        return self._events_read

    @property
    def bytes_read(self) -> int:
        """Bytes read from the file so far (compressed bytes for a gzip file)."""
        return self._raw.bytes_read

    @property
    def size(self) -> int | None:
        """The file size, or ``None`` when reading from a pipe."""
        return self._raw.size

    @property
    def progress(self) -> float | None:
        """The fraction of the file read so far, for a progress bar; ``None`` if the size is unknown."""
        size = self._raw.size
        if size is None:
            return None
        return 1.0 if size == 0 else min(1.0, self._raw.bytes_read / size)

    def batches(self, max_events: int | None = None) -> Iterator[EventBatch]:
        """Events in batches of at most ``max_events`` (default: all complete events of a chunk).

        A batch's ``data`` is the chunk buffer itself (block headers included) and its ``offsets``
        an ``array('Q')``; after a batch, :attr:`events_read` is the number of its last event.
        """
        if max_events is not None and max_events < 1:
            raise ValueError("max_events must be at least 1")
        while True:
            offsets, data = self._scan()
            if offsets:
                step = len(offsets) if max_events is None else max_events
                for start in range(0, len(offsets), step):
                    part = offsets if step >= len(offsets) else offsets[start : start + step]
                    self._events_read += len(part)
                    yield EventBatch(data, part)
            if not self._after_scan():
                return

    def __iter__(self) -> Iterator[Event]:
        for batch in self.batches():
            view = memoryview(batch.data)
            num = self._events_read - len(batch.offsets)
            for offset in batch.offsets:
                num += 1
                yield Event(view, offset, num)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._raw.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<CaptureReader {self.name!r} events_read={self._events_read}>"

    # --- errors ----------------------------------------------------------------------------------

    def _fail(self, cls: type[CaptureFormatError], reason: str, at: int | None = None) -> NoReturn:
        offset = self._base + (self._pos if at is None else at)
        raise cls(self.name, self._context + reason, offset)

    def _truncated(self, expected: int, got: int, at: int | None = None) -> NoReturn:
        self._fail(
            TruncatedCaptureError, f"expecting {expected} bytes, read {got}. Is the file truncated?", at
        )

    # --- buffer ----------------------------------------------------------------------------------

    def _ensure(self, n: int) -> int:
        """Bytes available from the read position, at least ``n`` unless the file ends first."""
        if len(self._buf) - self._pos < n and not self._eof:
            self._refill(n)
        return len(self._buf) - self._pos

    def _refill(self, need: int) -> None:
        """Move to a new buffer: the unread tail, then a chunk, and at least ``need`` bytes if the file has them.

        The old buffer is left untouched because batches handed out may still point into it.
        """
        tail = len(self._buf) - self._pos
        target = max(need, tail + self._chunk_size)
        new = bytearray(tail + self._chunk_size)
        new[:tail] = memoryview(self._buf)[self._pos :]
        filled = tail
        while filled < target:
            if filled == len(new):  # only for a block larger than a chunk; grow geometrically
                new += bytes(min(len(new), target - filled))
            n = self._read_into(new, filled)
            if n == 0:
                self._eof = True
                break
            filled += n
        del new[filled:]
        self._base += self._pos
        self._buf = new
        self._pos = 0

    def _read_into(self, buf: bytearray, start: int) -> int:
        with memoryview(buf) as view, view[start:] as part:
            return self._source.readinto(part)

    def _skip(self, n: int) -> None:
        """Advance ``n`` bytes, reading and dropping what is not buffered (metadata, SHB options)."""
        avail = len(self._buf) - self._pos
        if n <= avail:
            self._pos += n
            return
        start = self._base + self._pos  # absolute: the buffer is dropped below
        self._base += len(self._buf)
        self._buf = bytearray()
        self._pos = 0
        left = n - avail
        scratch = bytearray(min(left, self._chunk_size))
        while left > 0:
            with memoryview(scratch) as view, view[: min(left, len(scratch))] as part:
                got = self._source.readinto(part)
            if got == 0:
                self._eof = True
                self._truncated(n, n - left, start - self._base)
            left -= got
            self._base += got

    # --- section header and metadata -------------------------------------------------------------

    def _read_section(self) -> None:
        """The section header block, then metadata blocks up to the first event block."""
        self._read_section_header()
        self._read_metadata()

    def _read_section_header(self) -> None:
        avail = self._ensure(SHB_LEN - BLOCK_TRAILER_LEN)
        if avail < BLOCK_HEADER_LEN:
            self._truncated(BLOCK_HEADER_LEN, avail)
        block_type, total = BLOCK_HEADER.unpack_from(self._buf, self._pos)
        if block_type != SHB_BLOCK_TYPE:
            self._fail(CaptureFormatError, f"invalid block type 0x{block_type:x}: not a .scap capture")
        if avail < SHB_LEN - BLOCK_TRAILER_LEN:
            self._truncated(SHB_LEN - BLOCK_TRAILER_LEN - BLOCK_HEADER_LEN, avail - BLOCK_HEADER_LEN)
        _, _, magic, major, minor = _SHB_FIELDS.unpack_from(self._buf, self._pos)
        if total < SHB_LEN:
            self._fail(
                CaptureFormatError, f"scap_read_section_header block length {total} less than {SHB_LEN}"
            )
        # libscap checks the magic after skipping the options; checking it first gives the
        # meaningful error for a byte-swapped file, whose total length is swapped too.
        if magic != SHB_MAGIC:
            self._fail(CaptureFormatError, "invalid magic number")
        if major > CURRENT_MAJOR_VERSION:
            self._fail(
                CaptureVersionError,
                "cannot correctly parse the capture. Upgrade your version. "
                f"(capture version {major}.{minor}, supported {CURRENT_MAJOR_VERSION}.x)",
            )
        self._pos += SHB_LEN - BLOCK_TRAILER_LEN
        self._skip(total - SHB_LEN)  # pcapng options
        if self._ensure(BLOCK_TRAILER_LEN) < BLOCK_TRAILER_LEN:
            self._truncated(BLOCK_TRAILER_LEN, len(self._buf) - self._pos)
        self._pos += BLOCK_TRAILER_LEN  # libscap reads the SHB trailer without checking it
        self.version = (major, minor)
        self.sections += 1
        self.machine_info = None

    def _read_metadata(self) -> None:
        while True:
            avail = self._ensure(BLOCK_HEADER_LEN)
            if avail == 0:
                self._fail(NoEventsError, "no events in file")
            if avail < BLOCK_HEADER_LEN:
                self._truncated(BLOCK_HEADER_LEN, avail)
            block_type, total = BLOCK_HEADER.unpack_from(self._buf, self._pos)
            if block_type in EVENT_BLOCK_TYPES:
                return  # the read position stays on the first event block
            if block_type in (MI_BLOCK_TYPE, MI_BLOCK_TYPE_INT):
                self._read_machine_info(total)
            else:
                self._skip_block(block_type, total)

    def _read_machine_info(self, total: int) -> None:
        # libscap reads exactly sizeof(scap_machine_info) then the trailer, whatever the length says.
        want = BLOCK_HEADER_LEN + MACHINE_INFO_LEN + BLOCK_TRAILER_LEN
        avail = self._ensure(want)
        if avail < want:
            self._truncated(want - BLOCK_HEADER_LEN, avail - BLOCK_HEADER_LEN)
        info = MachineInfo.from_bytes(self._buf, self._pos + BLOCK_HEADER_LEN)
        trailer = _U32.unpack_from(self._buf, self._pos + want - BLOCK_TRAILER_LEN)[0]
        self._check_trailer(total, trailer)
        self._pos += want
        self.machine_info = info

    def _skip_block(self, block_type: int, total: int) -> None:
        """A metadata block we do not use (process, fd, interface, user lists) or do not know."""
        body = total - BLOCK_HEADER_LEN - BLOCK_TRAILER_LEN
        if body < 0:
            self._fail(
                CaptureFormatError,
                f"corrupted input file. Can't skip block of type {block_type:x} and size {body & 0xFFFFFFFF}.",
            )
        start = self._base + self._pos  # absolute: skipping may replace the buffer
        self._pos += BLOCK_HEADER_LEN
        self._skip(body)
        if self._ensure(BLOCK_TRAILER_LEN) < BLOCK_TRAILER_LEN:
            self._truncated(BLOCK_TRAILER_LEN, len(self._buf) - self._pos)
        trailer = _U32.unpack_from(self._buf, self._pos)[0]
        self._check_trailer(total, trailer, start - self._base)
        self._pos += BLOCK_TRAILER_LEN

    def _check_trailer(self, total: int, trailer: int, at: int | None = None) -> None:
        if trailer != total:
            self._fail(CaptureFormatError, f"wrong block total length, header={total}, trailer={trailer}", at)

    # --- event blocks ----------------------------------------------------------------------------

    def _scan(self) -> tuple[array[int], bytearray | bytes]:
        """The offsets of the events in complete blocks from the read position, and their buffer.

        Stops at the first block that is incomplete, not an event block, or bad; a bad block's
        error is kept in ``_pending`` so that the events before it are handed out first.
        """
        buf = self._buf
        pos = self._pos
        end = len(buf)
        fast_end = end - _FAST.size
        unpack = _FAST.unpack_from
        max_blen = self._max_block_len
        offsets = array("Q")  # what the host's C fast path takes as it is
        append = offsets.append
        converted = bytearray()  # events of old blocks, rewritten with nparams
        scanner = self._scanner
        while True:
            if scanner is not None:
                pos = scanner.scan(buf, pos, end, max_blen, offsets)
            elif pos <= fast_end:
                btype, blen, elen, etype, nparams, len0, len1 = unpack(buf, pos)
                # A valid plugin event in a LARGE block, entirely in the buffer: the common case.
                if (
                    btype == EV_BLOCK_TYPE_V2_LARGE
                    and etype == PPME_PLUGINEVENT_E
                    and nparams == 2
                    and len0 == 4
                    and _PLUGIN_FIXED_LEN + len1 == elen
                    and elen + _FAST_OVERHEAD <= blen
                    and pos + blen <= end
                    and blen <= max_blen
                ):
                    append(pos + _FAST_EVENT_OFFSET)
                    pos += blen
                    continue
            try:
                nxt = self._event_block(buf, pos, end, offsets, converted)
            except CaptureError as exc:
                self._pending = exc
                break
            if nxt < 0:
                break
            pos = nxt
        self._pos = pos
        if not converted:
            return offsets, buf
        # Events of old blocks were rewritten after the end of this buffer (see _event_block).
        return offsets, bytes(buf) + bytes(converted)

    def _event_block(
        self, buf: bytearray, pos: int, end: int, offsets: array[int], converted: bytearray
    ) -> int:
        """Read any event block at ``pos``: the position after it, or -1 if the scan must stop there."""
        if end - pos < BLOCK_HEADER_LEN:
            return -1
        btype: int
        blen: int
        btype, blen = BLOCK_HEADER.unpack_from(buf, pos)
        if btype not in EVENT_BLOCK_TYPES:
            return -1
        self._check_block_len(btype, blen, pos)
        if end - pos < blen:
            return -1
        prefix = 6 if btype in FLAGGED_BLOCK_TYPES else 2  # cpuid [+ flags]
        evt = pos + BLOCK_HEADER_LEN + prefix
        space = blen - BLOCK_HEADER_LEN - prefix - BLOCK_TRAILER_LEN
        if _U16.unpack_from(buf, evt + 20)[0] >= PPM_EVENT_MAX:
            return pos + blen  # a newer libscap's event: skipped, as libscap does
        if btype in OLD_EVENT_BLOCK_TYPES:
            event = self._convert_old_event(buf, evt, space, blen, pos)
            offsets.append(len(buf) + len(converted))  # where it will be once appended to buf
            converted += event
        else:
            self._check_event(buf, evt, space, pos)
            offsets.append(evt)
        return pos + blen

    def _check_block_len(self, btype: int, blen: int, at: int) -> None:
        head = OLD_EVENT_HEADER_LEN if btype in OLD_EVENT_BLOCK_TYPES else HEADER_LEN
        prefix = 6 if btype in FLAGGED_BLOCK_TYPES else 2
        if blen < BLOCK_HEADER_LEN + prefix + head + BLOCK_TRAILER_LEN:
            self._fail(CaptureFormatError, f"block length too short {blen}", at)
        readlen = blen - BLOCK_HEADER_LEN
        if btype not in LARGE_BLOCK_TYPES:
            if readlen > READER_BUF_SIZE:
                self._fail(
                    CaptureFormatError,
                    f"event block length {readlen} greater than NON-LARGE read buffer size {READER_BUF_SIZE}",
                    at,
                )
        elif blen > self._max_block_len:
            self._fail(
                CaptureFormatError,
                f"event block length {readlen} greater than the maximum {self._max_block_len}",
                at,
            )

    def _check_event(self, buf: bytes | bytearray, evt: int, space: int, at: int) -> None:
        """The event at ``evt`` must fit in ``space`` bytes and its parameters in its length."""
        elen, etype, nparams = _EVENT_TAIL.unpack_from(buf, evt + 16)
        if elen < HEADER_LEN:
            self._fail(
                CaptureFormatError, f"event length {elen} shorter than the event header ({HEADER_LEN})", at
            )
        if elen > space:
            self._fail(
                CaptureFormatError, f"event length {elen} greater than its block data ({space} bytes)", at
            )
        if nparams > MAX_EVENT_PARAMS:
            self._fail(
                CaptureFormatError,
                f"event of type {etype} has {nparams} parameters (at most {MAX_EVENT_PARAMS})",
                at,
            )
        code = "I" if etype in LARGE_PAYLOAD_TYPES else "H"
        lens_end = HEADER_LEN + nparams * (4 if code == "I" else 2)
        if lens_end > elen:
            self._fail(
                CaptureFormatError,
                f"event of type {etype} with {nparams} parameters does not fit in its length {elen}",
                at,
            )
        if lens_end + sum(struct.unpack_from(f"<{nparams}{code}", buf, evt + HEADER_LEN)) > elen:
            self._fail(
                CaptureFormatError, f"parameter lengths of event type {etype} exceed its length {elen}", at
            )

    def _convert_old_event(self, buf: bytearray, evt: int, space: int, blen: int, at: int) -> bytes:
        """An event of a 0x204/0x208 block (no nparams) in today's layout, as libscap converts it.

        nparams is the count whose u16 lengths add up exactly to the event length. libscap counts
        down from the event table's nparams; we count down from PPM_MAX_EVENT_PARAMS, which finds
        the same value whenever libscap finds one (the sum grows with the count).
        """
        prefix = "cannot convert v1 event block to v2"
        readlen = blen - BLOCK_HEADER_LEN
        if readlen + 4 > READER_BUF_SIZE:
            self._fail(
                CaptureFormatError,
                f"{prefix} ({readlen + 4} greater than read buffer size {READER_BUF_SIZE})",
                at,
            )
        ts, tid, elen, etype = _OLD_EVENT_HEAD.unpack_from(buf, evt)
        if not OLD_EVENT_HEADER_LEN <= elen <= space:
            self._fail(CaptureFormatError, f"{prefix} (event length {elen} does not fit in its block)", at)
        lens = evt + OLD_EVENT_HEADER_LEN
        end = evt + elen
        for nparams in range(MAX_EVENT_PARAMS, -1, -1):
            values = lens + 2 * nparams
            if values > end:
                continue
            values += sum(struct.unpack_from(f"<{nparams}H", buf, lens))
            if values < end:
                self._fail(
                    CaptureFormatError, f"{prefix} (corrupted trace file - can't calculate nparams).", at
                )
            if values == end:
                break
        else:
            self._fail(
                CaptureFormatError, f"{prefix} (corrupted trace file - can't calculate nparams) (2).", at
            )
        event = HEADER.pack(ts, tid, elen + 4, etype, nparams) + bytes(buf[lens:end])
        self._check_event(event, 0, len(event), at)
        return event

    def _after_scan(self) -> bool:
        """Deal with what stopped the scan: False at the end of the capture, else True to scan on."""
        if self._pending is not None:
            exc, self._pending = self._pending, None
            raise exc
        avail = len(self._buf) - self._pos
        if avail < BLOCK_HEADER_LEN:
            if not self._eof:
                self._refill(BLOCK_HEADER_LEN)
                return True
            if avail == 0:
                return False
            self._truncated(BLOCK_HEADER_LEN, avail)
        btype, blen = BLOCK_HEADER.unpack_from(self._buf, self._pos)
        if btype in EVENT_BLOCK_TYPES:  # an incomplete block, whose length was checked
            if self._eof:
                self._truncated(blen - BLOCK_HEADER_LEN, avail - BLOCK_HEADER_LEN)
            self._refill(blen)
            return True
        # libscap returns SCAP_UNEXPECTED_BLOCK and libsinsp restarts the capture from this block,
        # which works only for a new section header (a concatenated capture).
        self._context = "could not restart capture: "
        try:
            if btype != SHB_BLOCK_TYPE:
                self._fail(
                    CaptureFormatError, f"invalid block type (unexpected block type 0x{btype:x} after events)"
                )
            self._read_section()
        finally:
            self._context = ""
        return True


def read_events(source: str | os.PathLike[str] | BinaryIO) -> list[Event]:
    """Every event of a capture, in memory; stream with :class:`CaptureReader` for big files."""
    with CaptureReader(source) as reader:
        return list(reader)
