"""Metrics lines: the plugins' metrics (``get_metrics``, named ``<plugin>.<metric>`` as libsinsp
names them) and the inspectors' own counters, formatted for a periodic ``--metrics`` output.

>>> lines = format_metrics([Metric("testsrc.next_calls", 3)], style="text", ts_ns=0)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from ..backend import Metric

if TYPE_CHECKING:
    from .inspector import Inspector

STYLES = ("text", "json", "prometheus")
_PROM_UNSAFE = re.compile(r"[^a-zA-Z0-9_]")


def collect(inspectors: Inspector | Sequence[Inspector]) -> list[tuple[str | None, Metric]]:
    """Every metric of one or several inspectors, with the source each inspector reads."""
    if not isinstance(inspectors, Sequence):
        inspectors = [inspectors]
    out: list[tuple[str | None, Metric]] = []
    for inspector in inspectors:
        source = inspector.input.source_name if inspector.input is not None else None
        out.extend((source, m) for m in inspector.metrics())
    return out


def _number(value: int | float) -> str:
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return repr(value)
    return str(value)


def format_metrics(
    metrics: Iterable[Metric | tuple[str | None, Metric]], *, style: str = "text", ts_ns: int | None = None
) -> list[str]:
    """Lines for a metrics snapshot.

    ``text``: one ``<name> <value>`` line per metric (``<name>{source=...}`` when several sources
    report). ``json``: one line, ``{"ts": ..., "metrics": {name: value}}`` (names prefixed with
    ``<source>.`` for several sources). ``prometheus``: the text exposition format, with a
    ``falcosecurity_`` prefix, counters for monotonic metrics and gauges for the others.
    """
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, not {style!r}")
    items = [m if isinstance(m, tuple) else (None, m) for m in metrics]
    # Run-wide metrics (no source, e.g. extraction failures) do not make a run multi-source.
    many = len({source for source, _ in items if source is not None}) > 1
    ts = time.time_ns() if ts_ns is None else ts_ns
    if style == "json":
        values = {(f"{s}." if many and s else "") + m.name: m.value for s, m in items}
        return [json.dumps({"ts": ts, "metrics": values}, separators=(",", ":"))]
    if style == "text":
        return [
            f"{m.name}{{source={s}}} {_number(m.value)}" if many and s else f"{m.name} {_number(m.value)}"
            for s, m in items
        ]
    lines: list[str] = []
    typed: set[str] = set()
    for source, m in items:
        name = "falcosecurity_" + _PROM_UNSAFE.sub("_", m.name) + ("_total" if m.monotonic else "")
        if name not in typed:
            typed.add(name)
            lines.append(f"# TYPE {name} {'counter' if m.monotonic else 'gauge'}")
        labels = f'{{source="{source}"}}' if source else ""
        lines.append(f"{name}{labels} {_number(m.value)}")
    return lines


class MetricsReporter:
    """Writes a metrics snapshot every ``interval`` seconds when :meth:`tick` is called (from the
    event loop, so that plugins are only called from their inspector's thread)."""

    def __init__(
        self,
        inspectors: Inspector | Sequence[Inspector],
        write: Callable[[str], None],
        *,
        interval: float = 10.0,
        style: str = "text",
    ) -> None:
        if interval <= 0:
            raise ValueError("the metrics interval must be positive")
        self.inspectors = inspectors
        self.write = write
        self.interval = interval
        self.style = style
        self._next = time.monotonic() + interval

    def tick(self, force: bool = False) -> bool:
        """Write a snapshot if one is due (or ``force``); True when written."""
        now = time.monotonic()
        if not force and now < self._next:
            return False
        self._next = now + self.interval
        for line in format_metrics(collect(self.inspectors), style=self.style):
            self.write(line)
        return True
