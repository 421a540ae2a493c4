"""Printing events: a simple ``%field`` output format and one JSON object per event."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from ..filter.render import render_json, render_text
from ..framework.inspector import FieldPlan, Inspector, SourcedBatch

DEFAULT_FORMAT = "%evt.num %evt.time [%evt.pluginname] %evt.plugininfo"
_TOKEN = re.compile(r"%([A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*(?:\[[^\]]*\])?)")


class EventFormat:
    """A format string's text pieces and fields, compiled per event source."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pieces: list[str] = []
        self.fields: list[str] = []
        pos = 0
        for match in _TOKEN.finditer(text):
            self.pieces.append(text[pos : match.start()])
            self.fields.append(match[1])
            pos = match.end()
        self.pieces.append(text[pos:])
        self._plans: dict[str | None, FieldPlan] = {}

    def plan(self, host: Inspector, source: str | None) -> FieldPlan:
        plan = self._plans.get(source)
        if plan is None:
            plan = self._plans[source] = host.plan(source, self.fields)
        return plan

    def lines(self, host: Inspector, batch: SourcedBatch, as_json: bool) -> list[str]:
        plan = self.plan(host, batch.source)
        infos = [f.info for f in plan.fields]
        cols = plan.columns(batch)
        out = []
        for i in range(len(batch)):
            values = [c[i] for c in cols]
            out.append(self._json(infos, values) if as_json else self._text(infos, values))
        return out

    def _text(self, infos: Sequence[Any], values: Sequence[Any]) -> str:
        parts = [self.pieces[0]]
        for info, value, piece in zip(infos, values, self.pieces[1:]):
            parts.append(render_text(info, value))
            parts.append(piece)
        return "".join(parts)

    def _json(self, infos: Sequence[Any], values: Sequence[Any]) -> str:
        doc = {name: render_json(info, value) for name, info, value in zip(self.fields, infos, values)}
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
