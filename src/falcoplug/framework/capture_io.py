"""Captures in the inspector: how a replayed batch maps to an event source, and the recorder that
writes a run into a ``.scap`` file (replay itself is :meth:`Inspector.open_capture`)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..abi.scan import uniform_source_key
from ..capture import CaptureWriter
from ..events import EventBatch

if TYPE_CHECKING:
    from .inspector import Inspector, SourcedBatch



def _single_source(host: Inspector, batch: EventBatch) -> tuple[bool, str | None]:
    """Whether every event of the batch belongs to one source (the usual plugin capture), and which."""
    key = uniform_source_key(batch.data, batch.offsets)
    if key is None:
        return False, None
    evt_type, plugin_id = key
    return True, host.source_of(evt_type, plugin_id)


class Recorder:
    """Writes the events of a run into a capture, as libsinsp's dumper does."""

    def __init__(self, path: str | os.PathLike[str], *, compress: bool | None = None, hostname: str | None = None) -> None:
        self.writer = CaptureWriter(path, compress=compress, hostname=hostname)

    def write_initial(self, events: list[bytes]) -> None:
        """Events that go first (the plugins' ``dump_state``)."""
        for raw in events:
            self.writer.write(raw)

    def write(self, batch: SourcedBatch) -> None:
        self.writer.write_batch(batch.events)

    def close(self) -> None:
        self.writer.close()
