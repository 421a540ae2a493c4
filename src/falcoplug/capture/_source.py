"""The bytes of a capture, plain or gzip, whatever the file is called.

libscap opens every capture with zlib's ``gzopen(..., "rb")``, which reads gzip and plain files
alike; we do the same by sniffing the gzip magic. Decompression goes through ``zlib.decompressobj``
with a bounded output size, so a small compressed file cannot expand into a large allocation, and
concatenated gzip members (``cat a.scap.gz b.scap.gz``) read as one stream, as with zlib.
"""

from __future__ import annotations

import io
import os
import stat
import zlib
from typing import BinaryIO, Final, Protocol

from .errors import CaptureFormatError, CaptureIOError, TruncatedCaptureError

GZIP_MAGIC: Final = b"\x1f\x8b"
_RAW_CHUNK: Final = 1 << 20
_GZIP_WBITS: Final = 16 + zlib.MAX_WBITS  # gzip wrapper only, as gzopen expects


class Source(Protocol):
    compressed: bool

    def readinto(self, out: memoryview) -> int: ...


class RawInput:
    """The file itself: opened by us from a path, or a binary file object we do not own."""

    def __init__(self, target: str | os.PathLike[str] | BinaryIO) -> None:
        if isinstance(target, (str, os.PathLike)):
            self.name = os.fsdecode(target)
            try:
                self._file: BinaryIO = open(target, "rb", buffering=0)  # noqa: SIM115 (closed in close())
            except OSError as exc:
                raise CaptureIOError(self.name, f"can't open file: {exc.strerror or exc}") from exc
            self._owned = True
        else:
            self.name = str(getattr(target, "name", "<stream>"))
            self._file = target
            self._owned = False
        self.size = self._file_size()
        self.bytes_read = 0

    def _file_size(self) -> int | None:
        """The size of a regular file, for progress; ``None`` for pipes and sockets."""
        try:
            st = os.fstat(self._file.fileno())
        except (OSError, AttributeError, io.UnsupportedOperation):
            return None
        return st.st_size if stat.S_ISREG(st.st_mode) else None

    def read(self, n: int) -> bytes:
        try:
            data = self._file.read(n)
        except OSError as exc:
            raise CaptureIOError(self.name, f"error reading file: {exc.strerror or exc}") from exc
        self.bytes_read += len(data or b"")
        return data or b""

    def readinto(self, out: memoryview) -> int:
        readinto = getattr(self._file, "readinto", None)
        if readinto is None:
            data = self.read(len(out))
            out[: len(data)] = data
            return len(data)
        try:
            n = readinto(out) or 0
        except OSError as exc:
            raise CaptureIOError(self.name, f"error reading file: {exc.strerror or exc}") from exc
        self.bytes_read += n
        return n

    def read_at_least(self, n: int) -> bytes:
        """Up to ``n`` bytes, fewer only at the end of the file (pipes return short reads)."""
        parts: list[bytes] = []
        got = 0
        while got < n:
            data = self.read(n - got)
            if not data:
                break
            parts.append(data)
            got += len(data)
        return b"".join(parts)

    def close(self) -> None:
        if self._owned:
            self._file.close()


class PlainSource:
    """An uncompressed capture; the sniffed bytes are handed out first."""

    compressed = False

    def __init__(self, raw: RawInput, head: bytes) -> None:
        self._raw = raw
        self._head = head

    def readinto(self, out: memoryview) -> int:
        if self._head:
            n = min(len(out), len(self._head))
            out[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        return self._raw.readinto(out)


class GzipSource:
    """A gzip capture, one or more members, decompressed piece by piece."""

    compressed = True

    def __init__(self, raw: RawInput, head: bytes) -> None:
        self._raw = raw
        self._pending = head  # compressed bytes not yet given to the decompressor
        self._inflater = zlib.decompressobj(_GZIP_WBITS)
        self._done = False

    def read_chunk(self, max_length: int) -> bytes:
        """The next decompressed bytes (at most ``max_length``); empty at the end."""
        while not self._done:
            if self._inflater.eof:
                self._next_member()
                continue
            if not self._pending:
                self._pending = self._raw.read(_RAW_CHUNK)
                if not self._pending:
                    raise TruncatedCaptureError(self._raw.name, "error reading file: unexpected end of file")
            data = self._inflate(max_length)
            if data:
                return data
        return b""

    def readinto(self, out: memoryview) -> int:
        data = self.read_chunk(len(out))
        out[: len(data)] = data
        return len(data)

    def _inflate(self, max_length: int) -> bytes:
        try:
            data = self._inflater.decompress(self._pending, max_length)
        except zlib.error as exc:
            raise CaptureFormatError(self._raw.name, f"error reading file: {exc}") from exc
        self._pending = self._inflater.unconsumed_tail
        return data

    def _next_member(self) -> None:
        """After a member's end: start the next member, or stop (zlib ignores trailing garbage)."""
        rest = self._inflater.unused_data + self._pending
        if len(rest) < len(GZIP_MAGIC):
            rest += self._raw.read_at_least(len(GZIP_MAGIC) - len(rest))
        if rest.startswith(GZIP_MAGIC):
            self._inflater = zlib.decompressobj(_GZIP_WBITS)
            self._pending = rest
        else:
            self._done = True


def open_source(raw: RawInput) -> Source:
    """The right decoder for ``raw``, chosen from its first two bytes, as gzopen does."""
    head = raw.read_at_least(len(GZIP_MAGIC))
    if head == GZIP_MAGIC:
        return GzipSource(raw, head)
    return PlainSource(raw, head)
