"""Field values for compiled conditions and outputs: the framework's ``ValueSource``.

Values are extracted lazily and cached. For a plugin whose extraction is cheap to run in a loop
(a C plugin: the loop runs in the compiled fast path), the first value asked of it in a batch
extracts, for the whole batch, every field the conditions and outputs need from it: one
``extract_fields`` call per event carrying all of them. Over the first events (``LEARN_EVENTS``)
the groups count how often each of those fields is actually asked for; then fields asked for on
fewer than one event in ``COLD_RATIO`` (the output fields of rules that rarely fire, fields behind
rare conditions) leave the batch request and are extracted for the events that need them only, so
that an expensive field nobody reads costs nothing. For an in-process Python plugin there is
no boundary to amortize, so each value is extracted when a condition first reaches it, for that
event only, through a runner prepared once per field (``InProcessBackend.field_runner``): fields a
rule never reaches for an event, and output fields of rules that do not fire, cost nothing. Generic
``evt.*`` fields are computed per event on demand.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final

from .plugin import ALL_EVENT_TYPES
from .registry import BoundField, BoundGeneric, MissingField, PluginField

if TYPE_CHECKING:
    from ..events import Event
    from .inspector import FieldPlan, Inspector, SourcedBatch
    from .plugin import Plugin

_MISSING = object()
_LEN: Final = struct.Struct("<I")
_PLUGIN_EVENT: Final = 322
_PAYLOAD: Final = 38  # where a plugin event's payload starts
# (runner(event bytes, payload, evtnum, source), accepted event types or None for all)
LazyField = tuple[Callable[[bytes, bytes, int, "str | None"], Any], "bytes | None"]


def _no_value(data: bytes, payload: bytes, num: int, source: str | None) -> None:
    return None


class FieldGroups:
    """The fields one source needs, grouped the way they will be extracted."""

    LEARN_EVENTS: Final = 256  # events observed before the batch requests are narrowed
    COLD_RATIO: Final = 16  # a field asked for on fewer than 1 event in 16 is extracted per event

    def __init__(self, host: Inspector, source: str | None, fields: Iterable[BoundField]) -> None:
        self.host = host
        self.source = source
        self.plans: dict[BoundField, FieldPlan] = {}  # batch-extracted fields -> their plugin's plan
        self.lazy: dict[BoundField, LazyField | None] = {}  # fields extracted one event at a time
        batch_fields: list[PluginField] = []
        for bound in dict.fromkeys(fields):
            if not isinstance(bound, PluginField):
                continue
            if bound.plugin.backend.prefers_batch_extraction:
                batch_fields.append(bound)
            else:
                self.lazy_field(bound)
        self._plan(batch_fields)
        # Learning which batch fields are really asked for (see the module's docstring).
        self.learning = bool(self.plans)
        self.asked: dict[BoundField, int] = {}
        self.observed = 0

    def _plan(self, fields: Iterable[PluginField]) -> None:
        self.plans = {}
        by_plugin: dict[int, tuple[Plugin, list[PluginField]]] = {}
        for bound in fields:
            by_plugin.setdefault(id(bound.plugin), (bound.plugin, []))[1].append(bound)
        for _plugin, group in by_plugin.values():
            plan = self.host.plan(self.source, group)
            for bound in group:
                self.plans[bound] = plan

    def _narrow(self) -> None:
        """After ``LEARN_EVENTS`` events: keep in the batch requests the fields asked for often."""
        self.learning = False
        hot = [f for f in self.plans if self.asked.get(f, 0) * self.COLD_RATIO >= self.observed]
        if len(hot) < len(self.plans):
            self._plan(hot)  # type: ignore[arg-type]
        self.asked = {}

    def lazy_field(self, bound: PluginField) -> LazyField | None:
        """The per-event runner of a field of a plugin that extracts lazily (``None``: the plugin
        offers none, the host's per-event path is used)."""
        if bound in self.lazy:
            return self.lazy[bound]
        plugin = bound.plugin
        make = getattr(plugin.backend, "field_runner", None)
        lazy: LazyField | None = None
        if make is not None and not plugin.backend.prefers_batch_extraction:
            if self.source is None or not plugin.is_extract_compatible(self.source):
                lazy = (_no_value, None)
            else:
                types = plugin.extract_event_types
                lazy = (make(bound.request), None if types is ALL_EVENT_TYPES else types)
        self.lazy[bound] = lazy
        return lazy

    def values(self, batch: SourcedBatch) -> BatchValues:
        if self.learning:
            if self.observed >= self.LEARN_EVENTS:
                self._narrow()
            else:
                self.observed += len(batch)
                return LearningValues(self, batch)
        if not self.plans:
            return LazyValues(self, batch)
        return BatchValues(self, batch)


class BatchValues:
    """The :class:`~falcoplug.filter.fields.ValueSource` of one batch; :meth:`at` picks the event."""

    __slots__ = ("groups", "batch", "index", "_cols", "_event", "_cache", "_raw")

    def __init__(self, groups: FieldGroups, batch: SourcedBatch) -> None:
        self.groups = groups
        self.batch = batch
        self.index = 0
        self._cols: dict[BoundField, list[Any]] = {}
        self._event: Event | None = None
        self._cache: dict[BoundField, Any] = {}
        self._raw: tuple[bytes, bytes, int] | None = None

    def at(self, index: int) -> BatchValues:
        self.index = index
        self._event = None
        self._raw = None
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
        value = self._cache.get(field, _MISSING)
        if value is _MISSING:
            lazy = self.groups.lazy.get(field)
            if lazy is None or self.batch.source is None:
                return self._slow(field)
            # The lazy path inline: one plugin call for this field of this event.
            run, types = lazy
            raw = self._raw or self._raw_event()
            if types is not None and not types[raw[2]]:
                value = None
            else:
                value = run(raw[0], raw[1], self.batch.first_num + self.index, self.batch.source)
            self._cache[field] = value
        return value

    def _slow(self, field: BoundField) -> Any:
        plan = self.groups.plans.get(field)
        if plan is not None:
            for bound, column in zip(plan.fields, plan.columns(self.batch)):
                self._cols[bound] = column
            return self._cols[field][self.index]
        value = self._cache[field] = self._compute(field)
        return value

    def _raw_event(self) -> tuple[bytes, bytes, int]:
        """The current event's bytes, its payload (``b""`` unless a plugin event) and its type."""
        events = self.batch.events
        data, off = events.data, events.offsets[self.index]
        raw = data[off : off + _LEN.unpack_from(data, off + 16)[0]]
        if type(raw) is not bytes:
            raw = bytes(raw)  # plugin code gets bytes, not views
        etype = raw[20] | raw[21] << 8
        self._raw = found = (raw, raw[_PAYLOAD:] if etype == _PLUGIN_EVENT else b"", etype)
        return found

    def _compute(self, field: BoundField) -> Any:
        groups = self.groups
        lazy = groups.lazy.get(field, _MISSING)
        if lazy is _MISSING and isinstance(field, PluginField):
            lazy = groups.lazy_field(field)
        if lazy is not None and lazy is not _MISSING:
            run, types = lazy  # type: ignore[misc]
            batch = self.batch
            if batch.source is None:
                return None
            raw = self._raw or self._raw_event()
            if types is not None and not types[raw[2]]:
                return None
            return run(raw[0], raw[1], batch.first_num + self.index, batch.source)
        host = groups.host
        if isinstance(field, BoundGeneric):
            return field.generic.get(host, self.event)
        if isinstance(field, MissingField):
            return None
        return host.bound_value(self.event, field)


class LazyValues(BatchValues):
    """:class:`BatchValues` when no field is batch-extracted (in-process plugins only): the per-event
    cache first, then the field's runner, with no column lookup."""

    __slots__ = ("_lazy",)

    def __init__(self, groups: FieldGroups, batch: SourcedBatch) -> None:
        super().__init__(groups, batch)
        self._lazy = groups.lazy

    def value(self, field: Any) -> Any:
        value = self._cache.get(field, _MISSING)
        if value is not _MISSING:
            return value
        lazy = self._lazy.get(field)
        batch = self.batch
        if lazy is None or batch.source is None:
            return self._slow(field)
        run, types = lazy
        raw = self._raw or self._raw_event()
        value = None if types is not None and not types[raw[2]] else run(raw[0], raw[1], batch.first_num + self.index, batch.source)
        self._cache[field] = value
        return value


class LearningValues(BatchValues):
    """:class:`BatchValues` that also counts, per batch-extracted field, the events asking for it."""

    __slots__ = ("_asked",)

    def __init__(self, groups: FieldGroups, batch: SourcedBatch) -> None:
        super().__init__(groups, batch)
        self._asked: set[BoundField] = set()

    def at(self, index: int) -> BatchValues:
        self._asked = set()
        return super().at(index)

    def value(self, field: Any) -> Any:
        if field in self.groups.plans and field not in self._asked:
            self._asked.add(field)
            asked = self.groups.asked
            asked[field] = asked.get(field, 0) + 1
        return super().value(field)
