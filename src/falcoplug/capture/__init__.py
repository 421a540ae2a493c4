"""The .scap capture file format: read and write captures that libscap and Falco read and write.

>>> with CaptureWriter("out.scap.gz", hostname="box") as w:      # doctest: +SKIP
...     w.write(encode_plugin_event(b"hello", ts=1, plugin_id=1))
>>> for event in CaptureReader("out.scap.gz"):                     # doctest: +SKIP
...     print(event.num, event.plugin_id, event.payload)
"""

from .errors import (
    CaptureError,
    CaptureFormatError,
    CaptureIOError,
    CaptureVersionError,
    InvalidEventError,
    NoEventsError,
    TruncatedCaptureError,
)
from .format import MachineInfo
from .reader import CaptureReader, read_events
from .writer import CaptureWriter, write_events

__all__ = [
    "CaptureError",
    "CaptureFormatError",
    "CaptureIOError",
    "CaptureReader",
    "CaptureVersionError",
    "CaptureWriter",
    "InvalidEventError",
    "MachineInfo",
    "NoEventsError",
    "TruncatedCaptureError",
    "read_events",
    "write_events",
]
