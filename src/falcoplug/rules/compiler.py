"""Compile the collected items: lists, then macros, then every rule of a known source.

Follows Falco's ``rule_loader::compiler``: list items naming an earlier list are expanded one level;
every macro is parsed and macro-resolved (so a broken unused macro still fails the load); a macro
sees the macros defined before it, a rule sees all of them; disabled rules are compiled too; a
rule's output is validated before its condition; unused lists and macros are warnings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..filter import (
    RULES_MAX_DEPTH,
    BoundField,
    CompiledFilter,
    FieldResolver,
    FilterError,
    OutputFormat,
    ast,
    compile_filter,
    compile_format,
    parse,
)
from ..syscall import SYSCALL_SOURCE
from ..syscall.evttypes import matches_too_many
from .collector import Collector, RuleLoadError, fail
from .expansion import MacroResolution, exception_condition, resolve_list, resolve_macros, unsafe_na_check
from .items import RuleInfo
from .messages import (
    DEPRECATED_FIELDS,
    UNUSED_LIST,
    UNUSED_MACRO,
    WARNING_EVT_DIR,
    WARNING_NO_ENTER_EVENTS,
    WARNING_NO_EVTTYPE,
    WARNING_UNSAFE_NA_CHECK,
    deprecated_field_title,
    deprecated_in_output,
)
from .priority import Priority
from .results import Context, ErrorCode, LoadResult, WarningCode

_UNKNOWN_MARKERS = ("nonexistent field", "invalid formatting token", "unknown event type", "unknown filter:")


@dataclass(frozen=True)
class AppendOutput:
    """One ``append_output`` entry of falco.yaml (all match conditions must hold)."""

    source: str | None = None
    tags: frozenset[str] = frozenset()
    rule: str | None = None
    extra_output: str = ""
    extra_fields: tuple[tuple[str, str, bool], ...] = ()  # (key, format, raw)

    @classmethod
    def from_entry(cls, entry: object) -> AppendOutput:
        """An entry as falco.yaml writes it (``match``, ``extra_output``, ``extra_fields``);
        :class:`TypeError` when it is not a mapping (each caller words that error its own way)."""
        if not isinstance(entry, dict):
            raise TypeError("append_output entries must be mappings")
        match = entry.get("match") or {}
        fields: list[tuple[str, str, bool]] = []
        for item in entry.get("extra_fields") or []:
            if isinstance(item, str):
                fields.append((item, "%" + item, True))
            elif isinstance(item, dict):
                fields += [(str(k), str(v), False) for k, v in item.items()]
        tags = match.get("tags") or ()
        return cls(
            source=match.get("source"),
            tags=frozenset([tags] if isinstance(tags, str) else tags),
            rule=match.get("rule"),
            extra_output=str(entry.get("extra_output") or ""),
            extra_fields=tuple(fields),
        )

    def matches(self, rule: RuleInfo) -> bool:
        return (
            (not self.source or self.source == rule.source)
            and self.tags <= rule.tags
            and (not self.rule or self.rule == rule.name)
        )


@dataclass(frozen=True)
class CompileOptions:
    append_output: tuple[AppendOutput, ...] = ()
    suggested_output: bool = True  # append "foo_bar=%foo.bar" for plugin fields flagged addOutput


@dataclass(eq=False)
class ExtraField:
    key: str
    format: OutputFormat
    raw: bool


@dataclass(eq=False)
class CompiledRule:
    """A rule ready to match: its filter, its output format and its metadata."""

    name: str
    source: str
    description: str
    priority: Priority
    tags: frozenset[str]
    enabled: bool
    filter: CompiledFilter
    output: str
    output_format: OutputFormat
    extra_fields: tuple[ExtraField, ...] = ()
    exception_fields: frozenset[str] = frozenset()
    capture: bool = False
    capture_duration: int = 0
    order: int = 0  # evaluation order: the position of the rule's first definition

    @property
    def condition(self) -> str:
        """The compiled condition as libsinsp prints it (macros, lists and exceptions in)."""
        return self.filter.text

    @property
    def fields(self) -> tuple[BoundField, ...]:
        return self.filter.fields


@dataclass
class CompiledCollection:
    rules: list[CompiledRule] = field(default_factory=list)
    lists: dict[str, list[str]] = field(default_factory=dict)
    macros: dict[str, ast.Node] = field(default_factory=dict)


@dataclass
class _Compiler:
    collector: Collector
    sources: Mapping[str, FieldResolver]
    options: CompileOptions
    result: LoadResult
    lists: dict[str, list[str]] = field(default_factory=dict)
    list_used: dict[str, bool] = field(default_factory=dict)
    macros: dict[str, ast.Node] = field(default_factory=dict)
    macro_used: dict[str, bool] = field(default_factory=dict)
    bound: dict[str, dict[tuple[str, str | None], BoundField]] = field(default_factory=dict)

    # lists --------------------------------------------------------------------------------------
    def compile_lists(self) -> None:
        for info in self.collector.lists.values():
            items: list[str] = []
            for item in info.items:
                ref = self.collector.lists.get(item)
                if ref is not None and ref.index < info.visibility:
                    self.list_used[ref.name] = True
                    items.extend(ref.items)
                else:
                    items.append(item)
            self.lists[info.name] = items
            self.list_used.setdefault(info.name, False)

    def parse_condition(self, condition: str, ctx: Context) -> ast.Node:
        """Substitute lists (text), then parse; a syntax error is LOAD_ERR_COMPILE_CONDITION."""
        for name, items in self.lists.items():
            condition, used = resolve_list(condition, name, items)
            if used:
                self.list_used[name] = True
        try:
            return parse(condition, RULES_MAX_DEPTH)
        except FilterError as exc:
            pos = exc.pos
            where = ctx.condition(pos.idx, pos.line, pos.col, condition) if pos is not None else ctx
            raise RuleLoadError(ErrorCode.LOAD_ERR_COMPILE_CONDITION, exc.message, where) from None

    # macros -------------------------------------------------------------------------------------
    def compile_macros(self) -> None:
        infos = list(self.collector.macros.values())
        for info in infos:
            assert info.cond_ctx is not None
            self.macros[info.name] = self.parse_condition(info.cond, info.cond_ctx)
            self.macro_used.setdefault(info.name, False)
        for info in infos:
            visible = {m.name: self.macros[m.name] for m in infos if m.index < info.visibility}
            resolution = resolve_macros(self.macros[info.name], visible)
            self._check_resolution(resolution, info.cond, info.ctx)
            self.macros[info.name] = resolution.node

    def _check_resolution(self, resolution: MacroResolution, condition: str, ctx: Context) -> None:
        problem = resolution.first_problem()
        if problem is not None:
            message, pos = problem
            raise fail(message, ctx.condition(pos.idx, pos.line, pos.col, condition))
        for name in resolution.resolved:
            self.macro_used[name] = True

    # rules --------------------------------------------------------------------------------------
    def compile_rules(self) -> list[CompiledRule]:
        out: list[CompiledRule] = []
        for info in self.collector.rules.values():
            if info.unknown_source:
                continue
            compiled = self.compile_rule(info)
            if compiled is not None:
                out.append(compiled)
        return out

    def compile_rule(self, info: RuleInfo) -> CompiledRule | None:
        resolver = self.sources.get(info.source)
        if resolver is None:
            raise fail(f"Unknown source at compile-time{info.source}", info.ctx)
        bound = self.bound.setdefault(info.source, {})
        condition = info.cond
        exception_fields: set[str] = set()
        if info.exceptions:
            condition, exception_fields = exception_condition(condition, info.exceptions)
        output_text = self._output_text(info, resolver)
        assert info.output_ctx is not None and info.cond_ctx is not None
        output = self._output(output_text, info, resolver, bound)
        if output is None:
            return None
        self._deprecated_in_output(output_text, info.output_ctx)
        extra = self._extra_fields(info, resolver, bound)
        filt = self._condition(condition, info, resolver, bound)
        if filt is None:
            return None
        # computed for every syscall rule, as Falco does: a condition the search cannot handle is fatal
        if info.source == SYSCALL_SOURCE and matches_too_many(filt.ast) and info.warn_evttypes:
            self.result.add_warning(WarningCode.LOAD_NO_EVTTYPE, WARNING_NO_EVTTYPE, info.ctx)
        return CompiledRule(
            name=info.name,
            source=info.source,
            description=info.desc,
            priority=info.priority,
            tags=frozenset(info.tags),
            enabled=info.enabled,
            filter=filt,
            output=output_text,
            output_format=output,
            extra_fields=extra,
            exception_fields=frozenset(exception_fields),
            capture=info.capture,
            capture_duration=info.capture_duration,
            order=info.index,
        )

    def _output_text(self, info: RuleInfo, resolver: FieldResolver) -> str:
        output = info.output
        for extra in self.options.append_output:
            if extra.extra_output and extra.matches(info):
                output += " " + extra.extra_output
        if self.options.suggested_output:
            for f in resolver.fields():
                # a field that needs an argument cannot be suggested bare: it would not compile
                if f.add_output and not f.arg_required:
                    output += f" {f.name.replace('.', '_')}=%{f.name}"
        return output

    def _output(
        self,
        text: str,
        info: RuleInfo,
        resolver: FieldResolver,
        bound: dict[tuple[str, str | None], BoundField],
    ) -> OutputFormat | None:
        assert info.output_ctx is not None
        try:
            return compile_format(text, resolver, bound)
        except FilterError as exc:
            if info.skip_if_unknown_filter and _is_unknown(exc.message):
                self.result.add_warning(WarningCode.LOAD_UNKNOWN_FILTER, exc.message, info.output_ctx)
                return None
            raise RuleLoadError(ErrorCode.LOAD_ERR_COMPILE_OUTPUT, exc.message, info.output_ctx) from None

    def _extra_fields(
        self, info: RuleInfo, resolver: FieldResolver, bound: dict[tuple[str, str | None], BoundField]
    ) -> tuple[ExtraField, ...]:
        assert info.output_ctx is not None
        out: list[ExtraField] = []
        for extra in self.options.append_output:
            if not extra.matches(info):
                continue
            for key, fmt, raw in extra.extra_fields:
                try:
                    out.append(ExtraField(key, compile_format(fmt, resolver, bound), raw))
                except FilterError as exc:
                    raise RuleLoadError(
                        ErrorCode.LOAD_ERR_COMPILE_OUTPUT, exc.message, info.output_ctx
                    ) from None
                self._deprecated_in_output(fmt, info.output_ctx)
        return tuple(out)

    def _condition(
        self,
        condition: str,
        info: RuleInfo,
        resolver: FieldResolver,
        bound: dict[tuple[str, str | None], BoundField],
    ) -> CompiledFilter | None:
        cond_ctx = info.cond_ctx
        assert cond_ctx is not None
        node = self.parse_condition(condition, cond_ctx)
        resolution = resolve_macros(node, self.macros)
        self._check_resolution(resolution, condition, info.ctx)
        node = resolution.node
        if unsafe_na_check(node):
            self.result.add_warning(WarningCode.LOAD_UNSAFE_NA_CHECK, WARNING_UNSAFE_NA_CHECK, cond_ctx)
        self._deprecated_in_condition(node, condition, cond_ctx)
        try:
            filt = compile_filter(node, resolver, bound=bound)
        except FilterError as exc:
            pos = exc.pos
            where = cond_ctx.condition(pos.idx, pos.line, pos.col, condition) if pos is not None else cond_ctx
            if info.skip_if_unknown_filter and _is_unknown(exc.message):
                self.result.add_warning(WarningCode.LOAD_UNKNOWN_FILTER, exc.message, where)
                return None
            raise RuleLoadError(ErrorCode.LOAD_ERR_COMPILE_CONDITION, exc.message, where) from None
        for warning in filt.warnings:
            where = cond_ctx.condition(warning.pos.idx, warning.pos.line, warning.pos.col, condition)
            self.result.add_warning(WarningCode.LOAD_COMPILE_CONDITION, warning.message, where)
        return filt

    # Falco's warnings on deprecated fields and on rules that match too many event types ---------
    def _deprecated_in_output(self, text: str, ctx: Context) -> None:
        """Falco looks for each deprecated field's name anywhere in the output text."""
        for name in DEPRECATED_FIELDS:
            if name in text:
                self.result.add_warning(
                    WarningCode.LOAD_DEPRECATED_ITEM, deprecated_in_output(name), ctx, deprecated_field_title(name)
                )

    def _deprecated_in_condition(self, node: ast.Node, condition: str, cond_ctx: Context) -> None:
        """One warning per deprecated field the condition uses (macros in), in Falco's order, at the
        condition's own position (Falco gives these warnings no position inside the condition)."""
        used = {f.name for f in ast.fields_of(node)}
        where = cond_ctx.condition(0, 0, 0, condition)
        for name in DEPRECATED_FIELDS:
            if name in used:
                message = WARNING_EVT_DIR if name == "evt.dir" else WARNING_NO_ENTER_EVENTS
                self.result.add_warning(
                    WarningCode.LOAD_DEPRECATED_ITEM, message, where, deprecated_field_title(name)
                )

    def warn_unused(self) -> None:
        for name, used in self.macro_used.items():
            if not used:
                self.result.add_warning(
                    WarningCode.LOAD_UNUSED_MACRO, UNUSED_MACRO, self.collector.macros[name].ctx
                )
        for name, used in self.list_used.items():
            if not used:
                self.result.add_warning(
                    WarningCode.LOAD_UNUSED_LIST, UNUSED_LIST, self.collector.lists[name].ctx
                )


def _is_unknown(message: str) -> bool:
    return any(marker in message for marker in _UNKNOWN_MARKERS)


def compile_collection(
    collector: Collector, sources: Mapping[str, FieldResolver], options: CompileOptions, result: LoadResult
) -> CompiledCollection | None:
    """Compile everything collected so far; errors go to ``result`` and give None."""
    compiler = _Compiler(collector, sources, options, result)
    try:
        compiler.compile_lists()
        compiler.compile_macros()
        rules = compiler.compile_rules()
    except RuleLoadError as exc:
        result.add_error(exc.code, exc.message, exc.ctx)
        return None
    compiler.warn_unused()
    return CompiledCollection(rules, compiler.lists, compiler.macros)


def describe(rule: CompiledRule) -> dict[str, Any]:
    """A plain description of a compiled rule (for ``rules list``-like outputs)."""
    return {
        "name": rule.name,
        "source": rule.source,
        "priority": rule.priority.text,
        "enabled": rule.enabled,
        "tags": sorted(rule.tags),
        "condition": rule.condition,
        "output": rule.output,
        "description": rule.description,
    }
