"""Alerts as Falco prints them: the text line and the JSON object.

Text: ``<%evt.time>: <Priority> <output>`` (``%evt.time.iso8601`` with ``time_format_iso_8601``).
JSON (``json_output``): an object with sorted keys, dumped compactly: ``hostname``, ``output``,
``output_fields`` (each output token's value, ``evt.time`` as integer nanoseconds, extra fields),
``priority``, ``rule``, ``source``, ``tags`` (sorted) and ``time`` (UTC, 9 digits, ``Z``).
Missing values print ``<NA>`` in text and are ``null`` in JSON (Falco always formats with ``*``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..filter import FieldResolver, FilterError, OutputFormat, ValueSource, compile_format
from .compiler import CompiledRule

NS = 1_000_000_000


@dataclass(frozen=True)
class AlertOptions:
    time_format_iso_8601: bool = False
    json_include_output_property: bool = True
    json_include_tags_property: bool = True
    json_include_message_property: bool = False
    json_include_output_fields_property: bool = True
    hostname: str = ""


@dataclass
class Alert:
    rule: CompiledRule
    time_ns: int
    text: str  # the full line: "<time>: <Priority> <message>"
    message: str  # the rendered rule output
    output_fields: dict[str, Any] = field(default_factory=dict)
    hostname: str = ""
    options: AlertOptions = field(default_factory=AlertOptions)

    def as_json(self) -> dict[str, Any]:
        """Falco's JSON alert object (keys in Falco's order is irrelevant: it is dumped sorted)."""
        event: dict[str, Any] = {
            "time": iso8601_z(self.time_ns),
            "rule": self.rule.name,
            "priority": self.rule.priority.text,
            "source": self.rule.source,
            "hostname": self.hostname,
        }
        opts = self.options
        if opts.json_include_output_property:
            event["output"] = self.text
        if opts.json_include_tags_property:
            event["tags"] = sorted(self.rule.tags)
        if opts.json_include_message_property:
            event["message"] = self.message
        if opts.json_include_output_fields_property:
            event["output_fields"] = self.output_fields
        return event

    def json_line(self) -> str:
        """The JSON object as Falco writes it: sorted keys, no spaces."""
        return json.dumps(self.as_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def iso8601_z(ts: int) -> str:
    seconds, nanos = divmod(ts, NS)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos:09d}Z"


def local_time(ts: int) -> str:
    seconds, nanos = divmod(ts, NS)
    return time.strftime("%H:%M:%S", time.localtime(seconds)) + f".{nanos:09d}"


def iso8601_offset(ts: int) -> str:
    seconds, nanos = divmod(ts, NS)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos:09d}+0000"


class AlertFormatter:
    """Renders alerts for the rules of several sources (the time prefix is compiled per source)."""

    def __init__(self, resolvers: Mapping[str, FieldResolver], options: AlertOptions | None = None) -> None:
        self.options = options or AlertOptions()
        self._time_key = "evt.time.iso8601" if self.options.time_format_iso_8601 else "evt.time"
        self._prefix: dict[str, OutputFormat | None] = {}
        for source, resolver in resolvers.items():
            try:
                self._prefix[source] = compile_format("*%" + self._time_key, resolver)
            except FilterError:
                self._prefix[source] = None  # a source without evt.time: format the timestamp here

    def _time_text(self, source: str, values: ValueSource, ts: int) -> str:
        prefix = self._prefix.get(source)
        if prefix is not None:
            text = prefix.text(values)
            if text != "<NA>":
                return text
        return iso8601_offset(ts) if self.options.time_format_iso_8601 else local_time(ts)

    def alert(self, rule: CompiledRule, values: ValueSource, ts: int, *, with_fields: bool = True) -> Alert:
        """The alert of ``rule`` for the event ``values`` describe; ``with_fields=False`` skips
        ``output_fields`` (only the JSON object shows them), which saves extracting them."""
        message = rule.output_format.text(values)
        line = f"{self._time_text(rule.source, values, ts)}: {rule.priority.text} {message}"
        fields: dict[str, Any] = {}
        if with_fields and self.options.json_include_output_fields_property:
            fields = rule.output_format.json_fields(values)
            fields[self._time_key] = ts
            for extra in rule.extra_fields:
                fields[extra.key] = (
                    extra.format.json_fields(values).get(extra.key)
                    if extra.raw
                    else extra.format.text(values)
                )
        return Alert(rule, ts, line, message, fields, self.options.hostname, self.options)
