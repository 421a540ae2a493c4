"""The fields of an event source: the generic ``evt.*`` fields, then each compatible extractor
plugin's fields, resolved as libsinsp resolves them (longest prefix within a class, first class wins)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import syscall as syscall_source
from ..backend import FieldRequest
from ..errors import FieldError
from ..filter.errors import FilterError
from ..filter.fields import FT_STRING, FieldInfo
from .fields import FieldArg, FieldArgError, bind_arg
from .generic import GENERIC_FIELDS, GenericField

if TYPE_CHECKING:
    from .plugin import Plugin

SYSCALL_SOURCE = "syscall"


class UnknownFieldError(FieldError, LookupError):
    """No field of the source has this name."""


@dataclass(frozen=True, slots=True, eq=False)
class PluginField:
    """A plugin field bound to its argument: what one ``ss_plugin_extract_field`` asks for."""

    info: FieldInfo
    arg: str | None
    plugin: Plugin
    field_id: int
    parsed_arg: FieldArg = field(default_factory=FieldArg)

    @property
    def text(self) -> str:
        return self.info.name if self.arg is None else f"{self.info.name}[{self.arg}]"

    @property
    def request(self) -> FieldRequest:
        return FieldRequest(
            field_id=self.field_id,
            name=self.info.name,
            ftype=self.info.ftype,
            is_list=self.info.is_list,
            arg_key=self.parsed_arg.key,
            arg_index=self.parsed_arg.index,
        )

    @property
    def key(self) -> tuple[object, ...]:
        return (id(self.plugin), self.field_id, self.parsed_arg.key, self.parsed_arg.index)


@dataclass(frozen=True, slots=True, eq=False)
class BoundGeneric:
    """A field libsinsp itself gives: a generic ``evt.*`` field (no argument), or a field of the
    ``syscall`` source's catalogue (``written`` is then the reference as written, argument in)."""

    info: FieldInfo
    arg: str | None
    generic: GenericField
    written: str = ""
    async_names: frozenset[str] = frozenset()  # evt.type also accepts the loaded plugins' async events

    @property
    def text(self) -> str:
        return self.written or self.info.name

    @property
    def key(self) -> tuple[object, ...]:
        return ("evt", self.text)

    def validate_value(self, value: str) -> None:
        """libsinsp checks ``evt.type`` values against the event table's and syscalls' names."""
        if self.info.name != "evt.type" or value in self.async_names:
            return
        if not syscall_source.is_event_type_name(value):
            raise FilterError(f"unknown event type {value}")


@dataclass(frozen=True, slots=True, eq=False)
class MissingField:
    """A field this source does not have, in an output format shared by several sources: it
    renders as no value (``<NA>``) instead of failing the whole format."""

    info: FieldInfo
    arg: str | None

    @property
    def text(self) -> str:
        return self.info.name if self.arg is None else f"{self.info.name}[{self.arg}]"


BoundField = PluginField | BoundGeneric | MissingField


class LenientFields:
    """A source's fields where an unknown name resolves to a :class:`MissingField`."""

    def __init__(self, fields: SourceFields) -> None:
        self.inner = fields
        self.source = fields.source
        self._missing: dict[tuple[str, str | None], MissingField] = {}

    def fields(self) -> list[FieldInfo]:
        return self.inner.fields()

    def has_field(self, name: str) -> bool:
        return True

    def resolve(self, name: str, arg: str | None = None) -> BoundField:
        try:
            return self.inner.resolve(name, arg)
        except FieldError:
            key = (name, arg)
            if key not in self._missing:
                info = FieldInfo(name=name, ftype=FT_STRING, desc="not a field of this event source")
                self._missing[key] = MissingField(info, arg)
            return self._missing[key]


class SourceFields:
    """The :class:`~falcoplug.filter.fields.FieldResolver` of one event source."""

    def __init__(self, source: str, plugins: Sequence[Plugin], *, every_plugin: bool = False) -> None:
        """``every_plugin``: also the fields of plugins that do not extract from ``source`` (after
        the compatible ones), which then have no value on its events: what an output format or a
        ``-f`` condition sees, as in libsinsp's sinsp-example. Rules see only compatible plugins."""
        self.source = source
        extractors = [p for p in plugins if p.has_extraction]
        self.plugins = [p for p in extractors if p.is_extract_compatible(source)]
        if every_plugin:
            self.plugins += [p for p in extractors if not p.is_extract_compatible(source)]
        self._cache: dict[tuple[str, str | None], BoundField] = {}
        self.generic = dict(GENERIC_FIELDS)
        # The syscall source also has libsinsp's whole syscall catalogue (process, fd, ...), ahead
        # of plugin fields as libsinsp's own classes come first.
        self.syscall = source == SYSCALL_SOURCE
        self.async_names = frozenset().union(*(getattr(p, "async_events", frozenset()) for p in plugins))

    def fields(self) -> list[FieldInfo]:
        infos = [g.info for g in self.generic.values()]
        if self.syscall:
            infos.extend(syscall_source.syscall_fields().values())
        for plugin in self.plugins:
            infos.extend(plugin.fields)
        return infos

    def has_field(self, name: str) -> bool:
        if name in self.generic or any(f.name == name for p in self.plugins for f in p.fields):
            return True
        return self.syscall and name in syscall_source.syscall_fields()

    def resolve(self, name: str, arg: str | None = None) -> BoundField:
        """Bind ``name`` (and its argument) or raise :class:`UnknownFieldError` / :class:`FieldArgError`."""
        cached = self._cache.get((name, arg))
        if cached is not None:
            return cached
        bound = self._resolve(name, arg)
        self._cache[(name, arg)] = bound
        return bound

    def _resolve(self, name: str, arg: str | None) -> BoundField:
        text = name if arg is None else f"{name}[{arg}]"
        generic = self.generic.get(name)
        if generic is not None:
            if arg is not None:
                raise FieldArgError(
                    f"filter '{text}': {name} does not allow nor require an argument but one is provided: {arg}"
                )
            return BoundGeneric(generic.info, None, generic)
        if self.syscall:
            try:
                ref = syscall_source.resolve(name, arg)
            except syscall_source.SyscallFieldError as exc:
                if "nonexistent field" not in str(exc) or not self._is_plugin_field(name):
                    raise
            else:
                getter = GenericField(ref.info, ref.get)
                return BoundGeneric(ref.info, ref.arg, getter, ref.text, self.async_names)
        for plugin in self.plugins:
            for field_id, info in enumerate(plugin.fields):
                if info.name == name:
                    return PluginField(info, arg, plugin, field_id, bind_arg(info, arg, text))
        raise UnknownFieldError(f"filter_check called with nonexistent field {text}")

    def _is_plugin_field(self, name: str) -> bool:
        return any(info.name == name for plugin in self.plugins for info in plugin.fields)
