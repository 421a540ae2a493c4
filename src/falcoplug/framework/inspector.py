"""The inspector: open a source, pull batches of events, number them, and extract their fields.

This is what ``sinsp`` does for plugin sources, reshaped for Python: the unit of work is a batch
(events laid end to end, as the plugin returned them), and fields are extracted for a whole batch
with one plugin call per event carrying every field that plugin must give.
"""

from __future__ import annotations

import os
import socket
import time
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from ..abi.constants import Rc
from ..errors import FalcoplugError, PluginError, PluginLoadError
from ..events import PPME_ASYNCEVENT_E, PPME_PLUGINEVENT_E, Event, EventBatch
from .generic import GenericContext, plugin_info_text
from .loading import load_backend
from .manager import PluginManager
from .plugin import ALL_EVENT_TYPES, SYSCALL_SOURCE, Plugin
from .registry import BoundField, BoundGeneric, PluginField, SourceFields
from .fields import split_field_ref

_TIMEOUT_SLEEP_MIN = 0.0005
_TIMEOUT_SLEEP_MAX = 0.02


class SourcedBatch:
    """A batch of events of one source, numbered from ``first_num``."""

    __slots__ = ("events", "first_num", "source", "host", "_nums")

    def __init__(self, events: EventBatch, first_num: int, source: str | None, host: Inspector) -> None:
        self.events = events
        self.first_num = first_num
        self.source = source
        self.host = host
        self._nums: array | None = None

    def __len__(self) -> int:
        return len(self.events)

    @property
    def evtnums(self) -> array:
        if self._nums is None:
            self._nums = array("Q", range(self.first_num, self.first_num + len(self.events)))
        return self._nums

    def event(self, i: int) -> Event:
        return Event(self.events.data, self.events.offsets[i], self.first_num + i, self.source, self.host)

    def __iter__(self) -> Iterator[Event]:
        data, source, host, num = self.events.data, self.source, self.host, self.first_num
        for i, off in enumerate(self.events.offsets):
            yield Event(data, off, num + i, source, host)


class FieldPlan:
    """A fixed list of fields of one source, extracted together batch after batch."""

    def __init__(self, host: Inspector, source: str | None, fields: Sequence[BoundField]) -> None:
        self.host = host
        self.source = source
        self.fields = list(fields)
        groups: dict[int, tuple[Plugin, list[int]]] = {}
        self._generic: list[tuple[int, BoundGeneric]] = []
        for col, bound in enumerate(self.fields):
            if isinstance(bound, PluginField):
                groups.setdefault(id(bound.plugin), (bound.plugin, []))[1].append(col)
            else:
                self._generic.append((col, bound))
        self._extractors = []
        for plugin, cols in groups.values():
            requests = [self.fields[c].request for c in cols]  # type: ignore[union-attr]
            types = None if plugin.extract_event_types is ALL_EVENT_TYPES else plugin.extract_event_types
            self._extractors.append((plugin, plugin.backend.extractor(requests), cols, types))

    def columns(self, batch: SourcedBatch) -> list[list[Any]]:
        """One list of values per field, one value per event (``None``: no value)."""
        n = len(batch)
        cols: list[list[Any]] = [[]] * len(self.fields)
        for plugin, extractor, idxs, types in self._extractors:
            if batch.source is None or not plugin.is_extract_compatible(batch.source):
                values: list[list[Any]] = [[None] * n for _ in idxs]
            else:
                values = extractor.extract_batch(batch.events, batch.evtnums, batch.source, types)
            for col, column in zip(idxs, values):
                cols[col] = column
        if self._generic:
            events = list(batch)
            for col, bound in self._generic:
                get = bound.generic.get
                cols[col] = [get(self.host, e) for e in events]
        return cols

    def rows(self, batch: SourcedBatch) -> Iterator[tuple[Event, list[Any]]]:
        cols = self.columns(batch)
        for i, event in enumerate(batch):
            yield event, [c[i] for c in cols]


class Inspector(GenericContext):
    """Plugins registered together, one open input, and the events it produces."""

    def __init__(self, *, hostname: str | None = None) -> None:
        self.manager = PluginManager()
        self.hostname = hostname or os.environ.get("FALCO_HOSTNAME") or socket.gethostname()
        self.first_ts: int | None = None
        self._resolvers: dict[str, SourceFields] = {}
        self._single: dict[tuple[object, ...], Any] = {}
        self._input: Plugin | None = None
        self._handle: Any = None
        self._num = 0
        self._eof = False

    # -- plugins ------------------------------------------------------------------------------
    def register(self, plugin: Plugin | str | os.PathLike[str]) -> Plugin:
        """Register a plugin (or load one from a library path / SDK reference) without initializing it."""
        if not isinstance(plugin, Plugin):
            try:
                backend = load_backend(plugin)
            except PluginLoadError as exc:
                raise PluginLoadError(f"cannot load plugin {os.fspath(plugin)}: {exc}", plugin=os.fspath(plugin)) from None
            plugin = Plugin(backend)
        self.manager.add(plugin)
        self._resolvers.clear()
        return plugin

    def load(
        self, location: Plugin | str | os.PathLike[str], config: str | Mapping[str, Any] | None = None
    ) -> Plugin:
        """Register and initialize a plugin."""
        plugin = self.register(location)
        plugin.init(config)
        return plugin

    @property
    def plugins(self) -> list[Plugin]:
        return self.manager.plugins

    def plugin(self, name: str) -> Plugin:
        found = self.manager.get(name)
        if found is None:
            raise PluginError(f"plugin {name} does not exist", plugin=name)
        return found

    # -- fields ---------------------------------------------------------------------------------
    def resolver(self, source: str) -> SourceFields:
        """The fields available on ``source``."""
        fields = self._resolvers.get(source)
        if fields is None:
            fields = self._resolvers[source] = SourceFields(source, self.manager.plugins)
        return fields

    def plan(self, source: str | None, fields: Iterable[str | BoundField]) -> FieldPlan:
        """Fields (by name, ``name[arg]`` or already bound) to extract batch after batch."""
        resolver = self.resolver(source or "")
        bound = [resolver.resolve(*split_field_ref(f)) if isinstance(f, str) else f for f in fields]
        return FieldPlan(self, source, bound)

    def field_value(self, event: Event, text: str) -> Any:
        """The value of one field for one event (``None`` when it has none)."""
        if event.source is None:
            name, arg = split_field_ref(text)
            bound = self.resolver("").resolve(name, arg)
            if isinstance(bound, PluginField):
                return None
        else:
            bound = self.resolver(event.source).resolve(*split_field_ref(text))
        if isinstance(bound, BoundGeneric):
            return bound.generic.get(self, event)
        plugin = bound.plugin
        if event.source is None or not plugin.extract_event_types[event.type]:
            return None
        extractor = self._single.get(bound.key)
        if extractor is None:
            extractor = self._single[bound.key] = plugin.backend.extractor([bound.request])
        return extractor.extract_event(event.buf, event.offset, event.num, event.source)[0]

    def value_offsets(self, event: Event, fields: Sequence[str]) -> list[tuple[Any, tuple[int, int] | None]]:
        """Plugin fields' values with their ``(start, length)`` in the event, as the plugin reports them
        (API 3.11 value offsets; ``None`` where the plugin reports none)."""
        resolver = self.resolver(event.source or "")
        bound = [resolver.resolve(*split_field_ref(f)) for f in fields]
        out: list[tuple[Any, tuple[int, int] | None]] = []
        for b in bound:
            if not isinstance(b, PluginField):
                out.append((b.generic.get(self, event), None))
                continue
            extractor = b.plugin.backend.extractor([b.request])
            if not hasattr(extractor, "extract_offsets"):
                out.append((self.field_value(event, b.text), None))
                continue
            out.append(extractor.extract_offsets(event.buf, event.offset, event.num, event.source)[0])
        return out

    # -- generic-field context ----------------------------------------------------------------------
    def plugin_for_event(self, event: Event) -> Plugin | None:
        plugin_id = event.plugin_id
        return None if plugin_id is None else self.manager.by_id(plugin_id)

    def plugin_info(self, event: Event) -> str | None:
        if event.type != PPME_PLUGINEVENT_E:
            return None
        plugin = self.plugin_for_event(event)
        if plugin is None:
            return None
        text = None
        if plugin.initialized and plugin.backend.has("event_to_string"):
            text = plugin.backend.event_to_string(
                event.buf[event.offset : event.offset + event.len], event.num, event.source
            )
        return text or plugin_info_text(event.payload)

    def source_of(self, event_type: int, plugin_id: int | None) -> str | None:
        """libsinsp's event source of an event: a plugin event's source is its plugin's, else syscall."""
        if event_type in (PPME_PLUGINEVENT_E, PPME_ASYNCEVENT_E) and plugin_id:
            plugin = self.manager.by_id(plugin_id)
            return plugin.event_source if plugin is not None else None
        return SYSCALL_SOURCE

    # -- live input -----------------------------------------------------------------------------
    def open(self, plugin: Plugin | str | None = None, params: str = "") -> None:
        """Open a sourcing plugin as the input (the only sourcing plugin when none is named)."""
        source = self._input_plugin(plugin)
        if not source.initialized:
            source.init(None)
        handle, rc = source.backend.open(params)
        if rc != Rc.SUCCESS or handle is None:
            source.backend.close(handle) if handle is not None else None
            raise PluginError(f"could not open plugin {source.name}: {source.last_error()}", plugin=source.name)
        self._input, self._handle, self._eof = source, handle, False

    def _input_plugin(self, plugin: Plugin | str | None) -> Plugin:
        if isinstance(plugin, Plugin):
            return plugin
        if plugin is None:
            sourcing = [p for p in self.manager.plugins if p.has_sourcing]
            if len(sourcing) != 1:
                raise PluginError(f"cannot choose an input plugin among {len(sourcing)} sourcing plugins; name one")
            return sourcing[0]
        found = self.plugin(plugin)
        if not found.has_sourcing:
            raise PluginError(
                f"plugin {found.name} has not event sourcing capabilities and cannot be used as input", found.name
            )
        return found

    @property
    def input(self) -> Plugin | None:
        return self._input

    def close(self) -> None:
        if self._input is not None:
            plugin, handle = self._input, self._handle
            self._input = self._handle = None
            plugin.backend.close(handle)

    def __enter__(self) -> Inspector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def destroy(self) -> None:
        """Close the input and destroy every plugin's state."""
        self.close()
        for plugin in self.manager.plugins:
            if plugin.initialized:
                plugin.destroy()

    def progress(self) -> tuple[float, str | None]:
        """The input plugin's progress in percent, with its optional text."""
        plugin = self._input
        if plugin is None or not plugin.backend.has("get_progress"):
            return 0.0, None
        pct, text = plugin.backend.get_progress(self._handle)
        return pct / 100.0, text

    def batches(self) -> Iterator[SourcedBatch]:
        """Batches of the open input until it ends (EOF), as libscap delivers them."""
        plugin = self._input
        if plugin is None:
            raise FalcoplugError("no input is open")
        backend, handle = plugin.backend, self._handle
        pid, name = plugin.id, plugin.name
        source = plugin.event_source if pid != 0 else None
        sleep = _TIMEOUT_SLEEP_MIN
        while not self._eof:
            rc, batch = backend.next_batch(handle, pid, name)
            if len(batch):
                yield from self._number(batch, source)
                sleep = _TIMEOUT_SLEEP_MIN
            if rc == Rc.SUCCESS:
                if not len(batch):
                    raise PluginError(f"unexpected 0 size event returned by plugin {name}", plugin=name)
            elif rc == Rc.TIMEOUT:
                if not len(batch):
                    time.sleep(sleep)
                    sleep = min(sleep * 2, _TIMEOUT_SLEEP_MAX)
            elif rc == Rc.EOF:
                self._eof = True
            else:
                raise PluginError(f"plugin {name}: {plugin.last_error() or 'next_batch failed'}", plugin=name)

    def _number(self, batch: EventBatch, source: str | None) -> Iterator[SourcedBatch]:
        if self.first_ts is None:
            self.first_ts = _first_ts(batch)
        if source is not None:
            first = self._num + 1
            self._num += len(batch)
            yield SourcedBatch(batch, first, source, self)
            return
        yield from self.split_by_source(batch)

    def split_by_source(self, batch: EventBatch) -> Iterator[SourcedBatch]:
        """Number mixed events (an ID-0 source, a capture) and cut them into runs of one source."""
        data, offsets = batch.data, batch.offsets
        run_start, run_source = 0, None
        sources = []
        for off in offsets:
            evt = Event(data, off)
            sources.append(self.source_of(evt.type, evt.plugin_id))
        for i in range(1, len(offsets) + 1):
            if i == len(offsets) or sources[i] != sources[run_start]:
                run_source = sources[run_start]
                first = self._num + 1
                self._num += i - run_start
                yield SourcedBatch(EventBatch(data, offsets[run_start:i]), first, run_source, self)
                run_start = i

    def events(self) -> Iterator[Event]:
        """Every event of the open input, one at a time (fields reachable with ``event[name]``)."""
        for batch in self.batches():
            yield from batch

    def __iter__(self) -> Iterator[Event]:
        return self.events()

    def next_evtnum(self) -> int:
        return self._num + 1


def _first_ts(batch: EventBatch) -> int | None:
    for off in batch.offsets:
        evt = Event(batch.data, off)
        if not evt.is_async:
            return evt.ts
    return None
