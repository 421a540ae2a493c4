"""Alerts as an Arrow table: one row per alert, the rule's output fields as typed columns.

Columns: ``time`` (timestamp, UTC), ``rule``, ``priority``, ``source``, ``tags`` (list of
strings), ``hostname``, ``output`` (Falco's alert line), ``message`` (the rule's rendered
output), then one column per output field of the loaded rules (``evt.time`` aside, which is
``time``), typed as in :mod:`falcoplug.data.schema`; a rule that does not name a field leaves
its column null.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..filter import ast
from ..filter.fields import FT_ABSTIME, FT_STRING, FieldInfo
from ..framework.heap import event_loop_heap
from ..framework.inspector import Inspector
from ..pipeline import Pipeline, Rules, RuleSettings
from ..rules.alerts import Alert
from ._deps import require
from .schema import field_schema, to_array
from .session import Input, PluginLike, as_spec, opened, with_input

ALERT_COLUMNS = ("time", "rule", "priority", "source", "tags", "hostname", "output", "message")
_TIME_KEYS = frozenset({"evt.time", "evt.time.iso8601"})


def output_field_infos(rules: Rules) -> dict[str, FieldInfo]:
    """Every output field of the loaded rules, by the name it has in ``output_fields``."""
    assert rules.engine is not None
    infos: dict[str, FieldInfo] = {}
    for source_rules in rules.engine.sources.values():
        for rule in source_rules.rules:
            for token in rule.output_format.tokens:
                op = token.operand
                if op is None:
                    continue
                if isinstance(op.node, ast.Field) and token.info is not None:
                    infos.setdefault(op.text, token.info)
                else:
                    for name, bound in op.raw_fields:
                        infos.setdefault(name, bound.info)
            for extra in rule.extra_fields:
                infos.setdefault(extra.key, FieldInfo(extra.key, FT_STRING))
    for key in _TIME_KEYS:
        infos.pop(key, None)
    return infos


@dataclass
class AlertTable:
    """Alerts gathered into columns, ``chunk`` alerts at a time: each chunk becomes a record batch
    as soon as it is full (an alert object with its output fields weighs 2-3 kB; its row, a tenth
    of that). :meth:`table` makes the Arrow table; :meth:`take_batches` hands the batches made so
    far to a writer."""

    fields: dict[str, FieldInfo]
    chunk: int = 16_384
    rows: list[Alert] = field(default_factory=list)  # not in a batch yet
    batches: list[Any] = field(default_factory=list)

    def add(self, alert: Alert) -> None:
        self.rows.append(alert)
        if len(self.rows) >= self.chunk:
            self.flush()

    def flush(self) -> None:
        """The alerts not in a batch yet, into one."""
        if self.rows:
            self.batches.append(self._batch(self.rows))
            self.rows = []

    def take_batches(self) -> Iterator[Any]:
        """The record batches made so far (after :meth:`flush`, the last partial one too), each let
        go here as it is taken (a batch taken is the taker's, even if writing it fails)."""
        while self.batches:
            yield self.batches.pop(0)

    def schema(self) -> Any:
        pa = require("pyarrow")
        base = [
            pa.field("time", pa.timestamp("ns", tz="UTC")),
            pa.field("rule", pa.string()),
            pa.field("priority", pa.string()),
            pa.field("source", pa.string()),
            pa.field("tags", pa.list_(pa.string())),
            pa.field("hostname", pa.string()),
            pa.field("output", pa.string()),
            pa.field("message", pa.string()),
        ]
        names = list(self.fields)
        return pa.schema(base + list(field_schema(names, [self.fields[n] for n in names])))

    def table(self) -> Any:
        pa = require("pyarrow")
        self.flush()
        return pa.Table.from_batches(self.batches, schema=self.schema())

    def _batch(self, rows: Sequence[Alert]) -> Any:
        pa = require("pyarrow")
        text = _TEXT
        arrays = [
            to_array(_TIME, [a.time_ns for a in rows]),
            to_array(text, [a.rule.name for a in rows]),
            to_array(text, [a.rule.priority.text for a in rows]),
            to_array(text, [a.rule.source for a in rows]),
            to_array(_TEXT_LIST, [sorted(a.rule.tags) for a in rows]),
            to_array(text, [a.hostname for a in rows]),
            to_array(text, [a.text for a in rows]),
            to_array(text, [a.message for a in rows]),
        ]
        for name, info in self.fields.items():
            arrays.append(to_array(info, [a.output_fields.get(name) for a in rows]))
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema())


_TEXT = FieldInfo("text", FT_STRING)
_TEXT_LIST = FieldInfo("texts", FT_STRING, is_list=True)
_TIME = FieldInfo("time", FT_ABSTIME)


def alerts(host: Inspector, pipeline: Pipeline, *, with_fields: bool = True) -> Iterator[Alert]:
    """The alerts of an open inspector's events, in event order (``pipeline.stats`` counts them);
    ``with_fields=False`` leaves their ``output_fields`` out."""
    pipeline.prepare()
    for batch in host.batches():
        yield from pipeline.alerts(batch, with_fields=with_fields)


def detect(
    plugins: Sequence[PluginLike],
    *,
    rules: Sequence[str],
    open: str | None = None,  # noqa: A002 - the plugin API's word for the input's parameters
    capture: str | None = None,
    settings: RuleSettings | None = None,
) -> Any:
    """Run ``plugins`` over one input with Falco ``rules`` files; the alerts as a ``pyarrow.Table``
    (see the module's docstring for its columns). ``settings`` are falco.yaml's rule settings
    (minimum priority, rule matching, append_output)."""
    require("pyarrow")
    specs = with_input([as_spec(p) for p in plugins], open)
    with opened(specs, Input(capture=capture, open_params=open)) as host:
        loaded = Rules.load(host, rules, settings)
        table = AlertTable(output_field_infos(loaded))
        with event_loop_heap():
            for alert in alerts(host, Pipeline(host, rules=loaded)):
                table.add(alert)
        return table.table()
