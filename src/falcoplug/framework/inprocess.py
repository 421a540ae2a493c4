"""SDK plugins run in-process: a Python plugin class behind the :class:`PluginBackend` interface.

No C boundary is crossed: the framework calls the plugin through the SDK's
:class:`~falcoplug.sdk.driver.PluginDriver`, events are laid out once into the batch the
framework keeps, and extraction hands each plugin method the event's own bytes. Only the SDK's
public, host-facing interface is used here (``describe``, ``PluginDriver``, ``load_plugin_class``).
"""

from __future__ import annotations

import struct
import time
from collections.abc import Sequence
from typing import Any, Final

from ..backend import Extractor, FieldRequest, Metric, Owner, PluginBackend
from ..errors import EventError, PluginError
from ..events import NO_TID, PPME_PLUGINEVENT_E, TS_NOW, EventBatch
from ..sdk import describe, load_plugin_class
from ..sdk.driver import InstanceDriver, PluginDriver
from ..sdk.plugin import Plugin as SdkPlugin

_HEAD: Final = struct.Struct("<QQIHIIII")  # header, the two u32 parameter lengths, the plugin ID
_LEN: Final = struct.Struct("<I")
_JSON_SCHEMA: Final = 1
_PAYLOAD: Final = 38  # where a plugin event's payload starts
_PLUGIN_EVENT_TYPE: Final = PPME_PLUGINEVENT_E.to_bytes(2, "little")
_EMPTY: Final = EventBatch(b"", ())


class InProcessBackend(PluginBackend):
    """A Python plugin class (or a ``module:Class`` / ``file.py[:Class]`` reference) run directly."""

    def __init__(self, plugin: type[SdkPlugin] | str) -> None:
        if isinstance(plugin, str):
            self.location = plugin
            plugin = load_plugin_class(plugin)
        else:
            self.location = f"{plugin.__module__}:{plugin.__qualname__}"
        self.description = describe(plugin)
        self.info = self.description.info
        self.driver: PluginDriver | None = None

    def has(self, entry_point: str) -> bool:
        return self.description.has(entry_point)

    # -- information -------------------------------------------------------------------------------
    def get_required_api_version(self) -> str:
        return self.info.required_api_version

    def get_version(self) -> str:
        return self.info.version

    def get_name(self) -> str:
        return self.info.name

    def get_description(self) -> str:
        return self.info.description

    def get_contact(self) -> str:
        return self.info.contact

    def get_id(self) -> int:
        return self.info.id

    def get_event_source(self) -> str | None:
        return self.info.event_source if self.description.sourcing else None

    def get_fields(self) -> str | None:
        return self.description.extraction.fields_json if self.description.extraction else None

    def get_extract_event_sources(self) -> str | None:
        return self.description.extraction.sources_json if self.description.extraction else None

    def get_init_schema(self) -> tuple[int, str | None]:
        schema = self.description.init_schema
        return (_JSON_SCHEMA, schema) if schema is not None else (0, None)

    # -- lifecycle ---------------------------------------------------------------------------------
    def init(self, config: str, owner: Owner, with_tables: bool) -> tuple[bool, int]:
        driver = PluginDriver(self.description)
        ok = driver.init(config, owner.log)
        self.driver = driver  # kept on failure too, so that get_last_error can explain it
        return True, 0 if ok else 1

    def destroy(self) -> None:
        driver, self.driver = self.driver, None
        if driver is not None:
            driver.destroy()

    def get_last_error(self) -> str | None:
        return self.driver.last_error if self.driver is not None else None

    def get_extract_event_types(self) -> list[int] | None:
        ext = self.description.extraction
        return list(ext.event_types) if ext is not None and ext.event_types else None

    def get_required_event_schema_version(self) -> str | None:
        ext = self.description.extraction
        return ext.required_event_schema_version if ext is not None else None

    def set_config(self, config: str) -> int:
        return 0 if self._driver().set_config(config) else 1

    def get_metrics(self) -> list[Metric]:
        metrics = self._driver().metrics()
        return metrics if metrics is not None else []

    def _driver(self) -> PluginDriver:
        if self.driver is None or self.driver.plugin is None:
            raise PluginError(f"plugin {self.info.name} used before a successful init", plugin=self.info.name)
        return self.driver

    # -- sourcing ----------------------------------------------------------------------------------
    def open(self, params: str) -> tuple[Any, int]:
        instance = self._driver().open(params)
        return (instance, 0) if instance is not None else (None, 1)

    def close(self, handle: Any) -> None:
        if isinstance(handle, InstanceDriver):
            handle.close()

    def next_batch(self, handle: Any, plugin_id: int, plugin_name: str) -> tuple[int, EventBatch]:
        rc = handle.next_batch()
        items = handle.writer.items
        if not items:
            return rc, _EMPTY
        return rc, self._layout(items, plugin_id or self.info.id, plugin_name)

    def _layout(self, items: list[Any], plugin_id: int, plugin_name: str) -> EventBatch:
        """Plugin events (type 322, the plugin's ID, tid -1), laid end to end in one buffer."""
        now = time.time_ns()
        limit = self.description.sourcing.max_event_size if self.description.sourcing else 0
        pack = _HEAD.pack
        parts: list[bytes] = []
        offsets: list[int] = []
        pos = 0
        for item in items:
            payload, ts = _item(item, plugin_name)
            n = len(payload)
            if n > limit:
                raise EventError(f"plugin {plugin_name}: an event of {n} bytes exceeds max_event_size ({limit})")
            parts.append(pack(now if ts == TS_NOW else ts, NO_TID, 38 + n, PPME_PLUGINEVENT_E, 2, 4, n, plugin_id))
            parts.append(payload)
            offsets.append(pos)
            pos += 38 + n
        return EventBatch(b"".join(parts), offsets)

    def list_open_params(self) -> tuple[int, str | None]:
        text = self._driver().list_open_params()
        return (0, text) if text is not None else (1, None)

    def get_progress(self, handle: Any) -> tuple[int, str | None]:
        return handle.progress()

    def event_to_string(self, event: bytes | memoryview, evtnum: int, source: str | None) -> str | None:
        return self._driver().event_to_string(bytes(event), evtnum, source)

    # -- extraction --------------------------------------------------------------------------------
    def extractor(self, fields: Sequence[FieldRequest]) -> Extractor:
        return InProcessExtractor(self._driver(), fields)


def _item(item: Any, plugin_name: str) -> tuple[bytes, int]:
    """A batch item as (payload bytes, ts): items are payloads or (payload, ts) pairs."""
    ts = TS_NOW
    if type(item) is tuple:
        if len(item) != 2:
            raise EventError(f"plugin {plugin_name}: a batch item must be a payload or (payload, ts), got {item!r:.60}")
        item, ts = item
        if not isinstance(ts, int) or not 0 <= ts <= TS_NOW:
            raise EventError(f"plugin {plugin_name}: an event timestamp must be int nanoseconds, got {ts!r:.60}")
    if isinstance(item, bytes):
        return item, ts
    if isinstance(item, str):
        return item.encode(), ts
    if isinstance(item, (bytearray, memoryview)):
        return bytes(item), ts
    raise EventError(f"plugin {plugin_name}: an event payload must be bytes or str, got {type(item).__name__}")


class InProcessExtractor(Extractor):
    """One request run through the SDK plan, one plugin call per event."""

    def __init__(self, driver: PluginDriver, fields: Sequence[FieldRequest]) -> None:
        self.fields = tuple(fields)
        self.driver = driver
        try:
            self.plan = driver.plan(self.fields, check=True)
        except ValueError as exc:
            raise PluginError(str(exc), plugin=driver.name) from None

    def extract_batch(
        self, batch: EventBatch, evtnums: Sequence[int], source: str | None, type_ok: bytes | None
    ) -> list[list[Any]]:
        nf = len(self.fields)
        data, run, unpack = batch.data, self.plan.run, _LEN.unpack_from
        copy = bytes if isinstance(data, memoryview) else None  # plugin code gets bytes, not views
        values_of = []  # one tuple (or None) per event, turned into columns at the end
        add = values_of.append
        for off, num in zip(batch.offsets, evtnums):
            if type_ok is not None and not type_ok[data[off + 20] | data[off + 21] << 8]:
                add(None)
                continue
            event = data[off : off + unpack(data, off + 16)[0]]
            if copy is not None:
                event = copy(event)
            payload = event[_PAYLOAD:] if event[20:22] == _PLUGIN_EVENT_TYPE else b""
            add(run(event, payload, num, source))
        if not values_of:
            return [[] for _ in range(nf)]
        missing = (None,) * nf
        return [list(col) for col in zip(*(v or missing for v in values_of))]

    def extract_event(self, buf: bytes | memoryview, offset: int, evtnum: int, source: str | None) -> list[Any]:
        return [column[0] for column in self.extract_batch(EventBatch(buf, (offset,)), (evtnum,), source, None)]
