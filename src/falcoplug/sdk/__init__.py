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

Capabilities are mixins: :class:`SourcePlugin` (event sourcing) and :class:`ExtractPlugin`
(field extraction); the host-facing side (for runners and exporters) is :mod:`.driver`,
:mod:`.describe` and :mod:`.reference`.
"""

from .config import option
from .constants import API_VERSION, Severity
from .describe import Description, describe
from .event import Event
from .extract import ExtractPlugin, cached_per_event, field
from .fieldtypes import AbsTime, IpAddress, IpNetwork, RelTime
from .info import PluginDefinitionError, PluginInfo
from .metrics import Metric, counter, gauge
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

__all__ = [
    "API_VERSION", "AbsTime", "BatchFullError", "Description", "EOF", "Event", "EventWriter", "ExtractPlugin",
    "IpAddress", "IpNetwork", "IterableInstance", "Metric", "OpenParam", "Plugin", "PluginDefinitionError",
    "PluginInfo", "Progress", "PullInstance", "PushInstance", "RelTime", "Severity", "SourceInstance",
    "SourcePlugin", "Status", "TIMEOUT", "cached_per_event", "counter", "describe", "field", "gauge",
    "load_plugin_class", "option",
]  # fmt: skip
