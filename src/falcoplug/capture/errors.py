"""The errors a capture file can cause; every one is a :class:`falcoplug.errors.CaptureError`.

The message always starts with the file name, then libscap's own wording where libscap has one
(so a user can search for it), then the byte offset in the uncompressed stream when it is known.
"""

from __future__ import annotations

from ..errors import CaptureError

__all__ = [
    "CaptureError",
    "CaptureFormatError",
    "CaptureIOError",
    "CaptureVersionError",
    "InvalidEventError",
    "NoEventsError",
    "TruncatedCaptureError",
]


class _LocatedCaptureError(CaptureError):
    """A capture error that knows which file, and where in it, it comes from."""

    def __init__(self, path: str, reason: str, offset: int | None = None) -> None:
        where = "" if offset is None else f" (at offset {offset})"
        super().__init__(f"{path}: {reason}{where}")
        self.path = path
        self.reason = reason
        self.offset = offset


class CaptureIOError(_LocatedCaptureError):
    """The file could not be opened, read or written (the OS error is chained as ``__cause__``)."""


class CaptureFormatError(_LocatedCaptureError):
    """The bytes are not a valid capture: bad magic, bad lengths, bad trailer, bad event."""


class CaptureVersionError(CaptureFormatError):
    """The capture was written by a newer libscap (major version above the one we read)."""


class NoEventsError(CaptureFormatError):
    """The section ends before its first event block ("no events in file")."""


class TruncatedCaptureError(CaptureFormatError):
    """The file ends inside a block, or a gzip stream ends before its end marker."""


class InvalidEventError(_LocatedCaptureError):
    """The writer was given bytes that are not a well-formed scap event."""
