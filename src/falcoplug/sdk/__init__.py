"""The Python SDK for Falco plugins: write a plugin as a class, run it in falcoplug, build it
into a shared library that Falco loads (``falcoplug build``).

::

    from falcoplug.sdk import Event, ExtractPlugin, SourcePlugin, IterableInstance, field

    class Counter(SourcePlugin, ExtractPlugin):
        "Counts from 1."
        name, version, id, event_source = "counter", "0.1.0", 999, "counter"

        def open(self, params: str) -> IterableInstance:
            return IterableInstance(str(i).encode() for i in range(1, 11))

        @field("counter.value")
        def value(self, event: Event) -> int:
            "The number in the event."
            return int(event.payload)

Capabilities are mixins: :class:`SourcePlugin` (event sourcing), :class:`ExtractPlugin` (field
extraction), :class:`ParsePlugin` (event parsing), :class:`AsyncPlugin` (async events and
``dump_state``) and :class:`CaptureListenPlugin` (capture listening, routines); state tables are
declared with :class:`TableAccess` (tables the plugin reads and writes) and :class:`OwnedTable`
(tables it shares). The host-facing side (for runners and exporters) is :mod:`.driver`,
:mod:`.describe` and :mod:`.reference`.
"""

from .async_events import AsyncEventError, AsyncPlugin, BackgroundTask, Emitter, encode_async_event
from .config import option
from .constants import API_VERSION, Severity
from .describe import Description, describe
from .event import Event
from .extract import ExtractPlugin, cached_per_event, field
from .fieldtypes import AbsTime, IpAddress, IpNetwork, RelTime
from .info import PluginDefinitionError, PluginInfo
from .listen import Capture, CaptureListenPlugin, Routine, Routines
from .metrics import Metric, counter, gauge
from .parse import ParsePlugin
from .plugin import Plugin
from .reference import load_plugin_class
from .source import (
    EOF,
    TIMEOUT,
    BatchFullError,
    EventWriter,
    IterableInstance,
    OpenParam,
    Progress,
    PullInstance,
    PushInstance,
    SourceInstance,
    SourcePlugin,
    Status,
)
from .tables import (
    AccessedTable,
    Dynamic,
    Field,
    Int8,
    Int16,
    Int32,
    Int64,
    OwnedTable,
    Private,
    Readonly,
    StateType,
    Table,
    TableAccess,
    TableEntry,
    TableError,
    TableFields,
    Tables,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    field_named,
)

__all__ = [
    "API_VERSION", "AbsTime", "AccessedTable", "AsyncEventError", "AsyncPlugin", "BackgroundTask",
    "BatchFullError", "Capture", "CaptureListenPlugin", "Description", "Dynamic", "EOF", "Emitter", "Event",
    "EventWriter", "ExtractPlugin", "Field", "Int16", "Int32", "Int64", "Int8", "IpAddress", "IpNetwork",
    "IterableInstance", "Metric", "OpenParam", "OwnedTable", "ParsePlugin", "Plugin", "PluginDefinitionError",
    "PluginInfo", "Private", "Progress", "PullInstance", "PushInstance", "Readonly", "RelTime", "Routine",
    "Routines", "Severity", "SourceInstance", "SourcePlugin", "StateType", "Status", "TIMEOUT", "Table",
    "TableAccess", "TableEntry", "TableError", "TableFields", "Tables", "UInt16", "UInt32", "UInt64", "UInt8",
    "cached_per_event", "counter", "describe", "encode_async_event", "field", "field_named", "gauge",
    "load_plugin_class", "option",
]  # fmt: skip
