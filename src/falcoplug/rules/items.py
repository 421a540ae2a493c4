"""What the reader collects from rules files, before compilation (Falco's ``*_info`` types)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .priority import Priority
from .results import Context
from .versions import Version


@dataclass
class Entry:
    """An exception's fields/comps/values entry: a scalar or a (possibly nested) list."""

    item: str = ""
    items: list[Entry] = field(default_factory=list)
    is_list: bool = False

    @property
    def valid(self) -> bool:
        return bool(self.items) if self.is_list else bool(self.item)


@dataclass
class ExceptionInfo:
    name: str
    ctx: Context
    fields: Entry = field(default_factory=Entry)
    comps: Entry = field(default_factory=Entry)
    values: list[Entry] = field(default_factory=list)


@dataclass
class ListInfo:
    name: str
    ctx: Context
    items: list[str] = field(default_factory=list)
    index: int = 0
    visibility: int = 0


@dataclass
class MacroInfo:
    name: str
    ctx: Context
    cond: str = ""
    cond_ctx: Context | None = None
    index: int = 0
    visibility: int = 0


@dataclass
class RuleInfo:
    name: str
    ctx: Context
    cond: str = ""
    cond_ctx: Context | None = None
    output: str = ""
    output_ctx: Context | None = None
    desc: str = ""
    priority: Priority = Priority.DEBUG
    source: str = "syscall"
    tags: set[str] = field(default_factory=set)
    exceptions: list[ExceptionInfo] = field(default_factory=list)
    enabled: bool = True
    warn_evttypes: bool = True
    skip_if_unknown_filter: bool = False
    capture: bool = False
    capture_duration: int = 0
    unknown_source: bool = False
    index: int = 0
    visibility: int = 0


@dataclass
class RuleUpdate:
    """An append or override of an existing rule: only the keys it carries are set."""

    name: str
    ctx: Context
    cond: str | None = None
    cond_ctx: Context | None = None
    output: str | None = None
    desc: str | None = None
    tags: set[str] | None = None
    exceptions: list[ExceptionInfo] | None = None
    priority: Priority | None = None
    enabled: bool | None = None
    warn_evttypes: bool | None = None
    skip_if_unknown_filter: bool | None = None
    capture: bool | None = None
    capture_duration: int | None = None

    def has_any_value(self) -> bool:
        return any(
            v is not None
            for v in (
                self.cond,
                self.output,
                self.desc,
                self.tags,
                self.exceptions,
                self.priority,
                self.enabled,
                self.warn_evttypes,
                self.skip_if_unknown_filter,
                self.capture,
                self.capture_duration,
            )
        )


@dataclass
class PluginRequirement:
    name: str
    version: str


@dataclass
class PluginVersionInfo:
    ctx: Context
    alternatives: list[PluginRequirement] = field(default_factory=list)


@dataclass
class EngineVersionInfo:
    ctx: Context
    version: Version
