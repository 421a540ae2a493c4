"""Events in, output out: conditions, output formats and Falco rules over the inspector's batches.

This is the glue the command line uses, and the Python API for running Falco rules over plugin
events::

    host = Inspector()
    host.load("libk8saudit.so"); host.load("libjson.so")
    host.open("k8saudit", "audit.log")
    detector = Pipeline(host, rules=Rules.load(host, ["k8s_audit_rules.yaml"]))
    for batch in host.batches():
        for alert in detector.alerts(batch):
            print(alert.text)
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import compress
from typing import TYPE_CHECKING, Any

from .errors import FalcoplugError
from .filter import CompiledFilter, FilterError, OutputFormat, compile_filter, compile_format
from .filter.format import json_object
from .framework import extraction_errors
from .framework.extraction_errors import ExtractionErrors
from .framework.inspector import FieldPlan, Inspector, SourcedBatch
from .framework.plugin import SYSCALL_SOURCE
from .framework.registry import LenientFields, MissingField, PluginField
from .framework.values import BatchValues, FieldGroups

if TYPE_CHECKING:  # the rules are imported when a run loads some (18 ms of every start otherwise)
    from .rules import AlertFormatter, RuleEngine
    from .rules.alerts import Alert
    from .rules.compiler import AppendOutput

# "*": every event prints, <NA> where a value is missing (without it libsinsp leaves such an event out)
DEFAULT_FORMAT = "*%evt.num %evt.time [%evt.pluginname] %evt.plugininfo"


class RulesError(FalcoplugError):
    """A rules file failed to load (the message is Falco's report)."""


@dataclass
class RuleSettings:
    """The rule-related settings of ``falco.yaml`` (and their command-line equivalents)."""

    min_priority: str = "debug"
    rule_matching: str = "first"
    json_output: bool = False
    time_format_iso_8601: bool = False
    json_include_output_property: bool = True
    json_include_tags_property: bool = True
    json_include_message_property: bool = False
    json_include_output_fields_property: bool = True
    append_output: tuple[AppendOutput, ...] = ()


class Rules:
    """Rules files loaded and compiled for the sources of an inspector."""

    def __init__(self, host: Inspector, settings: RuleSettings | None = None) -> None:
        self.host = host
        self.settings = settings or RuleSettings()
        self.resolvers = {source: host.resolver(source) for source in host.manager.sources}
        versions = {p.name: p.version for p in host.plugins}
        from .rules import RulesLoader
        from .rules.compiler import CompileOptions

        self.loader = RulesLoader(self.resolvers, versions, options=CompileOptions(append_output=self.settings.append_output))
        self.engine: RuleEngine | None = None

    @classmethod
    def load(cls, host: Inspector, paths: Iterable[str | os.PathLike[str]], settings: RuleSettings | None = None) -> Rules:
        rules = cls(host, settings)
        rules.load_paths(paths)
        return rules

    def load_paths(self, paths: Iterable[str | os.PathLike[str]]) -> list[str]:
        """Load files (directories: their files by name), raising :class:`RulesError` on an error;
        returns the warnings as Falco words them."""
        from .rules import RuleEngine
        from .rules.loader import expand_paths

        for path in expand_paths(paths):
            if not os.path.exists(path):
                raise RulesError(f"Could not read rules file {path}: file does not exist")
        results = self.loader.load_paths(paths)
        for result in results:
            if not result.successful:
                raise RulesError(result.as_verbose_string(self.loader.contents).rstrip())
        problem = self.loader.check_plugin_requirements()
        if problem is not None:
            raise RulesError(problem)
        s = self.settings
        self.engine = RuleEngine(self.loader.rules, min_priority=s.min_priority, rule_matching=s.rule_matching)
        return [r.as_verbose_string(self.loader.contents).rstrip() for r in results if r.warnings]

    @property
    def count(self) -> int:
        return sum(1 for r in self.loader.rules if r.enabled)

    def formatter(self) -> AlertFormatter:
        from .rules import AlertFormatter, AlertOptions

        s = self.settings
        return AlertFormatter(self.resolvers, AlertOptions(
            time_format_iso_8601=s.time_format_iso_8601,
            json_include_output_property=s.json_include_output_property,
            json_include_tags_property=s.json_include_tags_property,
            json_include_message_property=s.json_include_message_property,
            json_include_output_fields_property=s.json_include_output_fields_property,
            hostname=self.host.hostname,
        ))  # fmt: skip


@dataclass
class Stats:
    """What a run saw: events, events kept by the filter, alerts per rule and per priority."""

    events: int = 0
    kept: int = 0
    alerts: int = 0
    by_rule: Counter[str] = field(default_factory=Counter)
    by_priority: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.perf_counter)
    filtered: bool = False  # a condition (-f) decides which events are kept
    rule_order: list[str] = field(default_factory=list)  # rule names as defined: Falco's summary order
    extraction: ExtractionErrors = field(default_factory=extraction_errors.current)  # the run's failures

    def summary(self) -> str:
        seconds = time.perf_counter() - self.started
        rate = self.events / seconds if seconds > 0 else 0.0
        lines = [f"Events processed: {self.events} in {seconds:.3f}s ({rate:,.0f} events/s)"]
        if self.filtered and self.kept != self.events:
            lines.append(f"Events matching the filter: {self.kept}")
        from .rules.summary import falco_summary

        lines += falco_summary(self.alerts, self.by_priority, self.by_rule, self.rule_order)
        lines += self.extraction.summary_lines()
        return "\n".join(lines)

    def mark(self) -> tuple[int, int, int, Counter[str], Counter[str]]:
        """The counts now, for :meth:`restore`."""
        return self.events, self.kept, self.alerts, self.by_rule.copy(), self.by_priority.copy()

    def restore(self, mark: tuple[int, int, int, Counter[str], Counter[str]]) -> None:
        """Back to the counts of :meth:`mark`: a batch interrupted before its output was written
        (Ctrl-C) is counted neither as processed nor as alerts, as it was never printed."""
        self.events, self.kept, self.alerts, self.by_rule, self.by_priority = mark


class _Never:
    """The condition of a source where the ``-f`` condition does not compile: nothing matches."""

    fields: tuple[Any, ...] = ()

    def test(self, getter: Any) -> bool:
        return False

    def test_columns(self, columns: Any, n: int) -> list[bool]:
        return [False] * n


_NEVER: Any = _Never()


@dataclass
class _SourceState:
    groups: FieldGroups
    condition: CompiledFilter | None
    output: OutputFormat | None
    # Columns of a whole batch (see Pipeline._columnar): the plan of the condition's and the
    # output's fields, and the output's batch renderer (None: the output renders per event)
    plan: FieldPlan | None = None
    render: Callable[[Sequence[Sequence[Any]]], list[str | None]] | None = None
    condition_plan: FieldPlan | None = None  # the condition's fields alone (-q: nothing rendered)
    text: Callable[[SourcedBatch], str | None] | None = None  # the compiled core's text output


class Pipeline:
    """Per event: an optional condition (``-f``), then the rules (alerts) or an output format."""

    def __init__(
        self,
        host: Inspector,
        *,
        output_format: str | None = None,
        condition: str | None = None,
        rules: Rules | None = None,
        as_json: bool = False,
        lenient: bool = False,
    ) -> None:
        self.host = host
        # lenient: the condition and output are shared by several live sources, so the main source
        # too may lack some of their fields (the caller checks that every field exists somewhere)
        self.lenient = lenient
        self.output_format = output_format or DEFAULT_FORMAT
        self.condition = condition
        self.rules = rules
        self.as_json = as_json if rules is None else rules.settings.json_output or as_json
        self.formatter = rules.formatter() if rules is not None else None
        self.stats = Stats(filtered=bool(condition))
        if rules is not None:
            self.stats.rule_order = list(rules.loader.collector.rules)  # every rule, in definition order
        self._states: dict[str | None, _SourceState] = {}

    def prepare(self) -> None:
        """Compile the condition, output and rule fields of the main source now, so that a mistake in
        them is reported before the first event (which a live input may be slow to produce)."""
        self._state(self._source_key(None))

    def check(self) -> tuple[FilterError | None, set[str]]:
        """For the main source: the error of compiling the condition, if any, and the names in the
        output format that are not fields of this source."""
        resolver = self.host.output_resolver(self._source_key(None))
        error = None
        if self.condition:
            try:
                compile_filter(self.condition, resolver)
            except FilterError as exc:
                error = exc
        missing: set[str] = set()
        if self.rules is None:
            output = compile_format(self.output_format, LenientFields(resolver))
            missing = {f.text for f in output.fields if isinstance(f, MissingField)}
        return error, missing

    def _source_key(self, source: str | None) -> str:
        """The source whose fields apply: the event's, else (unknown source) the main source: the
        live input's, or for a capture the first plugin source."""
        if source is not None:
            return source
        if self.host.input is not None:
            return self.host.input.source_name
        sources = self.host.manager.sources
        return sources[1] if len(sources) > 1 else SYSCALL_SOURCE

    def _state(self, source: str | None) -> _SourceState:
        state = self._states.get(source)
        if state is None:
            state = self._states[source] = self._compile(self._source_key(source))
        return state

    def _compile(self, source: str) -> _SourceState:
        """The condition and output of one source. The main source (the input's) must have every
        field they name; another source met on the way (a mixed capture) may lack some: its events
        then have no value for those fields (``<NA>`` with a leading ``*``, else not printed), and a
        condition it cannot compile matches none of them."""
        resolver = self.host.output_resolver(source)
        strict = source == self._source_key(None) and not self.lenient
        condition = None
        if self.condition:
            try:
                condition = compile_filter(self.condition, resolver)
            except FilterError:
                if strict:
                    raise
                condition = _NEVER
        output = None
        if self.rules is None:
            output = compile_format(self.output_format, resolver if strict else LenientFields(resolver))
        fields: list[Any] = list(condition.fields) if condition else []
        if output is not None:
            fields += output.fields
        engine = self.rules.engine if self.rules is not None else None
        if engine is not None:
            fields += engine.fields(source)
            source_rules = engine.sources.get(source)
            for rule in source_rules.rules if source_rules is not None else ():
                fields += rule.output_format.fields
        state = _SourceState(FieldGroups(self.host, source, fields), condition, output)
        if engine is None:
            self._columnar(state, source)
        return state

    def _columnar(self, state: _SourceState, source: str) -> None:
        """Without rules, a batch can be worked on as columns: every field the condition and the
        output read, extracted for the whole batch in one pass of the compiled core. Only when each
        plugin field is cheap to extract in a loop (C plugins): an in-process plugin's fields stay
        lazy, so that a condition's short-circuit still saves their cost."""
        condition, output = state.condition, state.output
        fields = list(condition.fields) if condition is not None else []
        if any(isinstance(f, PluginField) and not f.plugin.backend.prefers_batch_extraction for f in fields):
            return
        render = None
        if output is not None:
            render = output.json_column_renderer() if self.as_json else output.column_renderer()
        if render is not None and any(isinstance(f, MissingField) for f in output.fields):  # type: ignore[union-attr]
            render = None  # a field another source lacks: the per-event path renders it (no value)
        if render is not None:
            fields += output.fields  # type: ignore[union-attr]
        elif condition is None:
            return
        if condition is not None:
            state.condition_plan = self.host.plan(source, list(dict.fromkeys(condition.fields)))
        state.plan = self.host.plan(source, list(dict.fromkeys(fields)))
        state.render = render
        tokens = output.plain_tokens() if render is not None and condition is None else None  # type: ignore[union-attr]
        if tokens is not None:
            state.text = state.plan.text_renderer(tokens, require_all=output.require_all)  # type: ignore[union-attr]

    def _matching(self, batch: SourcedBatch) -> Iterator[BatchValues]:
        state = self._state(batch.source)
        values = state.groups.values(batch)
        condition = state.condition
        stats = self.stats
        stats.events += len(batch)
        for i in range(len(batch)):
            values.at(i)
            if condition is not None and not condition.test(values.value):
                continue
            stats.kept += 1
            yield values

    def _kept(self, state: _SourceState, batch: SourcedBatch, columns: dict[Any, list[Any]]) -> list[bool] | None:
        """Which events of a batch the condition keeps, tested on the batch's columns (``None``: no
        condition, every event); counted in the stats."""
        n = len(batch)
        self.stats.events += n
        condition = state.condition
        if condition is None:
            self.stats.kept += n
            return None
        kept = condition.test_columns([columns[f] for f in condition.fields], n)
        if kept is None:
            test, at = condition.test, [0]

            def value(field: Any) -> Any:
                return columns[field][at[0]]

            kept = []
            for i in range(n):
                at[0] = i
                kept.append(test(value))
        self.stats.kept += sum(kept)
        return kept

    def count(self, batch: SourcedBatch, *, extract: bool = False) -> int:
        """How many events of a batch the condition keeps, with nothing rendered (``-q``).
        ``extract``: the output format's fields are extracted for each of them all the same
        (``-q -o``: what the fields alone cost, and with ``--strict`` a check that each extracts)."""
        state = self._state(batch.source)
        if extract and state.output is not None:
            return self._extract(state, batch)
        if state.condition is None:
            self.stats.events += len(batch)
            self.stats.kept += len(batch)
            return len(batch)
        plan = state.condition_plan
        if plan is None:
            return sum(1 for _ in self._matching(batch))
        return self._count_columns(state, plan, batch)

    def _count_columns(self, state: _SourceState, plan: FieldPlan, batch: SourcedBatch) -> int:
        """The events the condition keeps, the plan's columns extracted for the whole batch."""
        kept = self._kept(state, batch, dict(zip(plan.fields, plan.columns(batch))))
        return len(batch) if kept is None else sum(kept)

    def _extract(self, state: _SourceState, batch: SourcedBatch) -> int:
        output = state.output
        assert output is not None
        if state.plan is not None and state.render is not None:  # the plan holds the output's fields
            return self._count_columns(state, state.plan, batch)
        fields = [f for f in output.fields if not isinstance(f, MissingField)]
        count = 0
        for values in self._matching(batch):
            for f in fields:
                values.value(f)
            count += 1
        return count

    def text(self, batch: SourcedBatch) -> str | None:
        """A batch's output as one text (lines ending with newlines), when the compiled core can
        write it (a format of plain fields of one C plugin, no condition, no rules); else ``None``
        and :meth:`lines` gives it."""
        if self.rules is not None or self.as_json:
            return None
        state = self._state(batch.source)
        text = state.text(batch) if state.text is not None else None
        if text is not None:
            self.stats.events += len(batch)
            self.stats.kept += len(batch)
        return text

    def alerts(self, batch: SourcedBatch, *, with_fields: bool = True) -> Iterator[Alert]:
        """The alerts of a batch's events, in order (rules must be loaded); ``with_fields=False``
        leaves ``output_fields`` empty (text alerts do not show them)."""
        assert self.rules is not None and self.rules.engine is not None and self.formatter is not None
        engine, formatter, stats = self.rules.engine, self.formatter, self.stats
        source = batch.source
        if source is None:
            stats.events += len(batch)
            return
        for values in self._matching(batch):
            for rule in engine.match(source, values):
                alert = formatter.alert(rule, values, values.event.ts, with_fields=with_fields)
                stats.alerts += 1
                stats.by_rule[rule.name] += 1
                stats.by_priority[rule.priority.text] += 1
                yield alert

    def lines(self, batch: SourcedBatch) -> list[str]:
        """What to print for a batch: alerts with rules, else each kept event in the output format
        (an event it leaves out, see :meth:`outputs`, prints nothing)."""
        return [line for line in self.outputs(batch) if line is not None]

    def outputs(self, batch: SourcedBatch) -> list[str | None]:
        """As :meth:`lines`, but without rules one entry per event the condition keeps: ``None``
        where the output format (no leading ``*``) has a missing value, so libsinsp prints nothing;
        ``-n`` with ``-f`` still counts that event, as libsinsp does."""
        if self.rules is not None:
            if self.as_json:
                return [a.json_line() for a in self.alerts(batch)]
            return [a.text for a in self.alerts(batch, with_fields=False)]
        state = self._state(batch.source)
        output = state.output
        assert output is not None
        if state.plan is not None and state.render is not None:
            columns = dict(zip(state.plan.fields, state.plan.columns(batch)))
            kept = self._kept(state, batch, columns)
            wanted = [columns[f] for f in output.fields]
            if kept is not None:
                wanted = [list(compress(col, kept)) for col in wanted]
            return state.render(wanted)
        if self.as_json:
            return [None if (fields := output.json_line(v)) is None else json_object(fields) for v in self._matching(batch)]
        return [output.line(v) for v in self._matching(batch)]

