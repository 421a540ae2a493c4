"""Captures in the inspector: replay a ``.scap`` file through the loaded plugins, and record a live
stream into one. The sourcing plugins of a replay map plugin IDs to event sources and give
``evt.plugininfo``; they are not opened."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..abi.scan import uniform_source_key
from ..capture import CaptureReader, CaptureWriter
from ..events import PPME_ASYNCEVENT_E, EventBatch

if TYPE_CHECKING:
    from .inspector import Inspector, SourcedBatch



def _single_source(host: Inspector, batch: EventBatch) -> tuple[bool, str | None]:
    """Whether every event of the batch belongs to one source (the usual plugin capture), and which."""
    key = uniform_source_key(batch.data, batch.offsets)
    if key is None:
        return False, None
    evt_type, plugin_id = key
    return True, host.source_of(evt_type, plugin_id)


class CaptureInput:
    """A capture file opened as the inspector's input."""

    def __init__(self, host: Inspector, path: str | os.PathLike[str]) -> None:
        self.host = host
        self.reader = CaptureReader(path)
        if self.reader.hostname:
            host.hostname = self.reader.hostname

    def batches(self, max_events: int | None = None) -> Iterator[SourcedBatch]:
        from .inspector import SourcedBatch

        host = self.host
        for batch in self.reader.batches(max_events):
            if host.first_ts is None:
                host.first_ts = _first_ts(batch)
            single, source = _single_source(host, batch)
            if single:
                first = host.next_evtnum()
                host._num += len(batch)
                yield SourcedBatch(batch, first, source, host)
            else:
                yield from host.split_by_source(batch)

    def progress(self) -> float:
        value = self.reader.progress
        return 0.0 if value is None else value * 100.0

    def close(self) -> None:
        self.reader.close()


def _first_ts(batch: EventBatch) -> int | None:
    data = batch.data
    for off in batch.offsets:
        if struct.unpack_from("<H", data, off + 20)[0] != PPME_ASYNCEVENT_E:
            return struct.unpack_from("<Q", data, off)[0]
    return None


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
