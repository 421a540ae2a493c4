"""The collector: the items of every loaded file, merged in order (Falco's ``rule_loader::collector``).

Redefining an item replaces it but keeps its first position (``index``), which is the rule
evaluation order; ``visibility`` is the position of the latest definition, append or override, and
decides which macros and lists an item may reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from ..errors import FalcoplugError
from ..filter import FieldResolver, FilterError, is_operator
from .items import (
    EngineVersionInfo,
    Entry,
    ExceptionInfo,
    ListInfo,
    MacroInfo,
    PluginRequirement,
    RuleInfo,
    RuleUpdate,
)
from .messages import (
    ERROR_NO_PREVIOUS_LIST,
    ERROR_NO_PREVIOUS_MACRO,
    ERROR_NO_PREVIOUS_RULE_APPEND,
    ERROR_NO_PREVIOUS_RULE_REPLACE,
)
from .results import Context, ErrorCode, LoadResult, WarningCode
from .versions import Version


class RuleLoadError(FalcoplugError):
    """An error that stops loading: its code, Falco's message and the item's context (caught
    where the file is loaded and reported as Falco reports it, in the :class:`LoadResult`)."""

    def __init__(self, code: ErrorCode, message: str, ctx: Context) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ctx = ctx


def fail(message: str, ctx: Context, code: ErrorCode = ErrorCode.LOAD_ERR_VALIDATE) -> RuleLoadError:
    return RuleLoadError(code, message, ctx)


T = TypeVar("T", ListInfo, MacroInfo, RuleInfo)


@dataclass
class Collector:
    """Every list, macro and rule collected so far, by name, in definition order."""

    engine_version: Version
    lists: dict[str, ListInfo] = field(default_factory=dict)
    macros: dict[str, MacroInfo] = field(default_factory=dict)
    rules: dict[str, RuleInfo] = field(default_factory=dict)
    required_plugin_versions: list[list[PluginRequirement]] = field(default_factory=list)
    required_engine_version: EngineVersionInfo | None = None
    cur_index: int = 0

    def _next(self) -> int:
        index = self.cur_index
        self.cur_index += 1
        return index

    def _define(self, table: dict[str, T], info: T) -> None:
        prev = table.get(info.name)
        position = self._next()
        if prev is not None:
            info.index = prev.index
            info.visibility = position
        else:
            info.index = info.visibility = position
        table[info.name] = info  # dicts keep the first insertion position: the evaluation order

    # versions -------------------------------------------------------------------------------------
    def define_engine_version(self, info: EngineVersionInfo) -> None:
        engine = self.engine_version
        if not engine.compatible_with(info.version):
            raise fail(
                f"Rules require engine version {info.version}, but engine version is {engine}", info.ctx
            )
        if self.required_engine_version is None or self.required_engine_version.version < info.version:
            self.required_engine_version = info

    def define_plugin_versions(self, alternatives: list[PluginRequirement], ctx: Context) -> None:
        names: set[str] = set()
        for req in alternatives:
            if Version.parse(req.version) is None:
                raise fail(f"Invalid required version '{req.version}' for plugin '{req.name}'", ctx)
            if req.name in names:
                raise fail(f"Defined multiple alternative version requirements for plugin '{req.name}'", ctx)
            names.add(req.name)
        self.required_plugin_versions.append(alternatives)

    # lists and macros ---------------------------------------------------------------------------
    def define_list(self, info: ListInfo) -> None:
        self._define(self.lists, info)

    def append_list(self, info: ListInfo) -> None:
        prev = self.lists.get(info.name)
        if prev is None:
            raise fail(ERROR_NO_PREVIOUS_LIST, info.ctx)
        prev.items.extend(info.items)
        prev.visibility = self._next()

    def define_macro(self, info: MacroInfo) -> None:
        self._define(self.macros, info)

    def append_macro(self, info: MacroInfo) -> None:
        prev = self.macros.get(info.name)
        if prev is None:
            raise fail(ERROR_NO_PREVIOUS_MACRO, info.ctx)
        prev.cond += " " + info.cond
        prev.visibility = self._next()

    # rules --------------------------------------------------------------------------------------
    def define_rule(self, info: RuleInfo, sources: Mapping[str, FieldResolver], result: LoadResult) -> None:
        prev = self.rules.get(info.name)
        if prev is not None and prev.source != info.source:
            raise fail("Rule has been re-defined with a different source", info.ctx)
        source = sources.get(info.source)
        if source is None:
            info.unknown_source = True
            result.add_warning(
                WarningCode.LOAD_UNKNOWN_SOURCE, f"Unknown source {info.source}, skipping", info.ctx
            )
        for ex in info.exceptions:
            if not ex.fields.valid:
                raise fail("Rule exception item must have fields property with a list of fields", ex.ctx)
            validate_exception(source, ex)
        self._define(self.rules, info)

    def _existing_rule(
        self, update: RuleUpdate, missing: str, empty: str, sources: Mapping[str, FieldResolver]
    ) -> tuple[RuleInfo, FieldResolver | None]:
        prev = self.rules.get(update.name)
        if prev is None:
            raise fail(missing, update.ctx)
        if not update.has_any_value():
            raise fail(empty, update.ctx)
        source = None
        if not prev.unknown_source:
            source = sources.get(prev.source)
            if source is None:
                raise fail(f"Unknown source {prev.source}", update.ctx)
        return prev, source

    def append_rule(self, update: RuleUpdate, sources: Mapping[str, FieldResolver]) -> None:
        prev, source = self._existing_rule(
            update,
            ERROR_NO_PREVIOUS_RULE_APPEND,
            "Appended rule must have exceptions or condition property",
            sources,
        )
        if update.cond:
            prev.cond += " " + update.cond
        if update.output:
            prev.output += " " + update.output
        if update.desc:
            prev.desc += " " + update.desc
        if update.tags is not None:
            prev.tags |= update.tags
        for ex in update.exceptions or []:
            existing = next((e for e in prev.exceptions if e.name == ex.name), None)
            if existing is None:
                if not ex.fields.valid:
                    raise fail("Rule exception must have fields property with a list of fields", ex.ctx)
                if not ex.values:
                    raise fail("Rule exception must have values property with a list of values", ex.ctx)
                validate_exception(source, ex)
                prev.exceptions.append(ex)
                continue
            if ex.fields.valid:
                raise fail("Can not append exception fields to existing exception, only values", ex.ctx)
            if ex.comps.valid:
                raise fail("Can not append exception comps to existing exception, only values", ex.ctx)
            existing.values.extend(ex.values)
        prev.visibility = self._next()

    def replace_rule(self, update: RuleUpdate, sources: Mapping[str, FieldResolver]) -> None:
        prev, _ = self._existing_rule(
            update,
            ERROR_NO_PREVIOUS_RULE_REPLACE,
            "The rule must have at least one field that can be replaced",
            sources,
        )
        for name in (
            "cond",
            "output",
            "desc",
            "tags",
            "exceptions",
            "priority",
            "enabled",
            "warn_evttypes",
            "skip_if_unknown_filter",
            "capture",
            "capture_duration",
        ):
            value = getattr(update, name)
            if value is not None:
                setattr(prev, name, value)
        prev.visibility = self._next()

    def enable_rule(self, name: str, enabled: bool, ctx: Context) -> None:
        prev = self.rules.get(name)
        if prev is None:
            raise fail("Rule has 'enabled' key but no rule by that name already exists", ctx)
        prev.enabled = enabled


def _field_defined(source: FieldResolver, text: str) -> bool:
    name, bracket, rest = text.partition("[")
    arg = rest[:-1] if bracket and rest.endswith("]") else None
    if bracket and arg is None:
        return False
    try:
        source.resolve(name, arg)
    except (FilterError, LookupError, ValueError):
        return False
    return True


def validate_exception(source: FieldResolver | None, ex: ExceptionInfo) -> None:
    """Falco's ``validate_exception_info``: default comps, equal lengths, known ops and fields."""
    if ex.fields.is_list:
        if not ex.comps.valid:
            ex.comps.is_list = True
            ex.comps.items = [Entry(item="=") for _ in ex.fields.items]
        if len(ex.fields.items) != len(ex.comps.items):
            raise fail("Fields and comps lists must have equal length", ex.ctx)
        for comp in ex.comps.items:
            if not is_operator(comp.item):
                raise fail(f"'{comp.item}' is not a supported comparison operator", ex.ctx)
        if source is not None:
            for f in ex.fields.items:
                if not _field_defined(source, f.item):
                    raise fail(f"'{f.item}' is not a supported filter field", ex.ctx)
        return
    if not ex.comps.valid:
        ex.comps.is_list = False
        ex.comps.item = "in"
    if ex.comps.is_list:
        raise fail("Fields and comps must both be strings", ex.ctx)
    base = ex.comps.item
    if base not in ("in", "pmatch", "intersects") and not _list_modifier_op(base):
        raise fail("When fields is a single value, comps must be one of (in, pmatch, intersects)", ex.ctx)
    if source is not None and not _field_defined(source, ex.fields.item):
        raise fail(f"'{ex.fields.item}' is not a supported filter field", ex.ctx)


def _list_modifier_op(comp: str) -> bool:
    return " " in comp and is_operator(comp)
