"""Field values for compiled conditions and outputs: the framework's ``ValueSource``.

Values are extracted lazily and cached. For a plugin whose extraction is cheap to run in a loop
(a C plugin: the loop runs in the compiled fast path), the first value asked of it in a batch
extracts, for the whole batch, every field the conditions and outputs need from it: one
``extract_fields`` call per event carrying all of them. For an in-process Python plugin there is
no boundary to amortize, so each value is extracted when a condition first reaches it, for that
event only. Generic ``evt.*`` fields are computed per event on demand.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .registry import BoundField, BoundGeneric, PluginField

if TYPE_CHECKING:
    from ..events import Event
    from .inspector import FieldPlan, Inspector, SourcedBatch
    from .plugin import Plugin

_MISSING = object()


class FieldGroups:
    """The fields one source needs, grouped the way they will be extracted."""

    def __init__(self, host: Inspector, source: str | None, fields: Iterable[BoundField]) -> None:
        self.host = host
        self.source = source
        self.plans: dict[BoundField, FieldPlan] = {}  # batch-extracted fields -> their plugin's plan
        by_plugin: dict[int, tuple[Plugin, list[PluginField]]] = {}
        for bound in dict.fromkeys(fields):
            if isinstance(bound, PluginField) and bound.plugin.backend.prefers_batch_extraction:
                by_plugin.setdefault(id(bound.plugin), (bound.plugin, []))[1].append(bound)
        for _plugin, group in by_plugin.values():
            plan = host.plan(source, group)
            for bound in group:
                self.plans[bound] = plan

    def values(self, batch: SourcedBatch) -> BatchValues:
        return BatchValues(self, batch)


class BatchValues:
    """The :class:`~falcoplug.filter.fields.ValueSource` of one batch; :meth:`at` picks the event."""

    __slots__ = ("groups", "batch", "index", "_cols", "_event", "_cache")

    def __init__(self, groups: FieldGroups, batch: SourcedBatch) -> None:
        self.groups = groups
        self.batch = batch
        self.index = 0
        self._cols: dict[BoundField, list[Any]] = {}
        self._event: Event | None = None
        self._cache: dict[BoundField, Any] = {}

    def at(self, index: int) -> BatchValues:
        self.index = index
        self._event = None
        if self._cache:
            self._cache = {}
        return self

    @property
    def event(self) -> Event:
        if self._event is None:
            self._event = self.batch.event(self.index)
        return self._event

    def value(self, field: Any) -> Any:
        col = self._cols.get(field)
        if col is not None:
            return col[self.index]
        return self._slow(field)

    def _slow(self, field: BoundField) -> Any:
        plan = self.groups.plans.get(field)
        if plan is not None:
            for bound, column in zip(plan.fields, plan.columns(self.batch)):
                self._cols[bound] = column
            return self._cols[field][self.index]
        value = self._cache.get(field, _MISSING)
        if value is _MISSING:
            value = self._cache[field] = self._compute(field)
        return value

    def _compute(self, field: BoundField) -> Any:
        host = self.groups.host
        if isinstance(field, BoundGeneric):
            return field.generic.get(host, self.event)
        return host.bound_value(self.event, field)
