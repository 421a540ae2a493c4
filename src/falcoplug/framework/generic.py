"""The generic ``evt.*`` fields libsinsp provides on every event source (the ``evt`` class)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..events import META_EVENT_NAMES, PPME_ASYNCEVENT_E, PPME_PLUGINEVENT_E, Event
from ..filter.fields import FT_ABSTIME, FT_BOOL, FT_RELTIME, FT_STRING, FT_UINT64, FieldInfo

NS = 1_000_000_000


class GenericContext:
    """What the generic fields need to know besides the event: the host's view of the stream."""

    first_ts: int | None = None
    hostname: str = ""

    @property
    def replaying(self) -> bool:  # the input is a capture file
        return False

    def plugin_for_event(self, event: Event) -> Any:  # the sourcing Plugin of a 322 event, or None
        return None

    def plugin_info(self, event: Event) -> str | None:
        return None


def _local_time(ts: int, date: bool, nanos: bool) -> str:
    sec, ns = divmod(ts, NS)
    tm = time.localtime(sec)
    text = time.strftime("%Y-%m-%d %H:%M:%S" if date else "%H:%M:%S", tm)
    return f"{text}.{ns:09d}" if nanos else text


def _iso8601(ts: int) -> str:
    sec, ns = divmod(ts, NS)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + f".{ns:09d}+0000"


def _reltime(ctx: GenericContext, e: Event) -> int | None:
    return None if ctx.first_ts is None else e.ts - ctx.first_ts


def _pluginname(ctx: GenericContext, e: Event) -> str | None:
    plugin = ctx.plugin_for_event(e) if e.type == PPME_PLUGINEVENT_E else None
    return None if plugin is None else plugin.name


def _asynctype(ctx: GenericContext, e: Event) -> str | None:
    if e.type == PPME_ASYNCEVENT_E:
        return e.async_name
    return META_EVENT_NAMES.get(e.type)


Getter = Callable[[GenericContext, Event], Any]


@dataclass(frozen=True, slots=True)
class GenericField:
    info: FieldInfo
    get: Getter


def _field(name: str, ftype: int, desc: str, get: Getter) -> GenericField:
    return GenericField(FieldInfo(name=name, ftype=ftype, desc=desc, owner="evt"), get)


GENERIC_FIELDS: dict[str, GenericField] = {
    f.info.name: f
    for f in (
        _field("evt.num", FT_UINT64, "event number.", lambda c, e: e.num),
        _field("evt.time", FT_STRING, "event timestamp as a time string that includes the nanosecond part.",
               lambda c, e: _local_time(e.ts, False, True)),
        _field("evt.time.s", FT_STRING, "event timestamp as a time string with no nanoseconds.",
               lambda c, e: _local_time(e.ts, False, False)),
        _field("evt.time.iso8601", FT_STRING, "event timestamp in ISO 8601 format, including nanoseconds and time zone offset (in UTC).",
               lambda c, e: _iso8601(e.ts)),
        _field("evt.datetime", FT_STRING, "event timestamp as a time string that includes the date.",
               lambda c, e: _local_time(e.ts, True, True)),
        _field("evt.datetime.s", FT_STRING, "event timestamp as a datetime string with no nanoseconds.",
               lambda c, e: _local_time(e.ts, True, False)),
        _field("evt.rawtime", FT_ABSTIME, "absolute event timestamp, i.e. nanoseconds from epoch.", lambda c, e: e.ts),
        _field("evt.rawtime.s", FT_ABSTIME, "integer part of the event timestamp (e.g. seconds since epoch).",
               lambda c, e: e.ts // NS),
        _field("evt.rawtime.ns", FT_ABSTIME, "fractional part of the absolute event timestamp.", lambda c, e: e.ts % NS),
        _field("evt.reltime", FT_RELTIME, "number of nanoseconds from the beginning of the capture.", _reltime),
        _field("evt.reltime.s", FT_RELTIME, "number of seconds from the beginning of the capture.",
               lambda c, e: None if c.first_ts is None else (e.ts - c.first_ts) // NS),
        _field("evt.reltime.ns", FT_RELTIME, "fractional part (in ns) of the time from the beginning of the capture.",
               lambda c, e: None if c.first_ts is None else (e.ts - c.first_ts) % NS),
        _field("evt.pluginname", FT_STRING, "if the event comes from a plugin-defined event source, the name of the plugin that generated it.",
               _pluginname),
        _field("evt.plugininfo", FT_STRING, "if the event comes from a plugin-defined event source, a summary of the event as formatted by the plugin.",
               lambda c, e: c.plugin_info(e)),
        _field("evt.source", FT_STRING, "the name of the source that produced the event.", lambda c, e: e.source),
        _field("evt.is_async", FT_BOOL, "'true' for asynchronous events, 'false' otherwise.", lambda c, e: e.is_async),
        _field("evt.asynctype", FT_STRING, "If the event is asynchronous, the type of the event (e.g. 'container').", _asynctype),
        _field("evt.hostname", FT_STRING, "The hostname of the underlying host can be customized by setting an environment variable (e.g. FALCO_HOSTNAME for the Falco agent). This is valuable in Kubernetes setups, where the hostname can match the pod name particularly in DaemonSet deployments. To achieve this, assign Kubernetes' spec.nodeName to the environment variable. Notably, spec.nodeName generally includes the cluster name.",
               lambda c, e: "" if c.replaying else c.hostname),  # libsinsp: empty on a replay
    )
}  # fmt: skip


def plugin_info_text(payload: bytes) -> str:
    """libsinsp's fallback for ``evt.plugininfo`` when the plugin has no ``event_to_string``."""
    head = payload[:50]
    text = f"datalen={len(payload)} data="
    if any(b < 0x20 or b > 0x7E for b in head):
        return text + "<binary>"
    return text + head.decode("ascii") + ("..." if len(payload) > 50 else "")
