"""The base class of every plugin: identity, configuration, lifecycle, logging and metrics.

A plugin is a subclass of :class:`Plugin` and of one mixin per capability it has
(:class:`~falcoplug.sdk.SourcePlugin`, :class:`~falcoplug.sdk.ExtractPlugin`; parsing, async events
and capture listening add their own mixins the same way). Identity is declared once, as class
attributes, and checked when the class is defined::

    # fragment: the identity only (an ExtractPlugin also declares its fields)
    class Hello(ExtractPlugin):
        name = "hello"
        version = "0.1.0"
        description = "..."

The host creates the plugin object with no argument, then calls :meth:`Plugin.init` with the
config parsed into the type its parameter is annotated with (see :mod:`falcoplug.sdk.config`).
"""

from __future__ import annotations

import inspect
import logging
import typing
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from ..backend import Metric
from .config import ConfigModel
from .constants import API_VERSION
from .info import (
    PluginDefinitionError,
    PluginInfo,
    check_api_version,
    check_name,
    check_semver,
    check_text,
)
from .log import logger_name

if TYPE_CHECKING:
    from .tables import Tables


class Plugin:
    """Base of all plugins. Override :meth:`init` (and optionally :meth:`destroy`,
    :meth:`set_config`, :meth:`metrics`); declare ``name`` and ``version``.

    ``description`` defaults to the class docstring. ``required_api_version`` defaults to the
    plugin API version of this SDK.
    """

    name: ClassVar[str]
    version: ClassVar[str]
    description: ClassVar[str | None] = None
    contact: ClassVar[str] = ""
    required_api_version: ClassVar[str] = API_VERSION

    # The plugin's logger: each object gets its own before init, routed to its host's log function.
    log: logging.Logger
    # The host's state tables, during init (see falcoplug.sdk.tables).
    tables: Tables

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # An intermediate base class declares no name yet; a concrete plugin is checked now, so
        # that a wrong version or source fails at import with the class named.
        if getattr(cls, "name", None) is not None:
            cls.plugin_info()
            cls.log = logging.getLogger(logger_name(cls.name))  # until an object gets its own

    # -- identity -------------------------------------------------------------------------------
    @classmethod
    def plugin_info(cls) -> PluginInfo:
        """The checked identity of this plugin class (raises :class:`PluginDefinitionError`)."""
        owner = cls.__qualname__
        name = check_name(owner, getattr(cls, "name", None))
        owner = f"{owner} ({name})"
        if getattr(cls, "version", None) is None:
            raise PluginDefinitionError(f"plugin class {owner}: declares no version (e.g. version = \"0.1.0\")", name)
        version = check_semver(owner, "version", cls.version)
        description = cls.description if cls.description is not None else _docstring(cls)
        plugin_id, source = cls._source_identity(owner)
        return PluginInfo(
            name=name,
            version=version,
            description=check_text(owner, "description", description),
            contact=check_text(owner, "contact", cls.contact),
            required_api_version=check_api_version(owner, cls.required_api_version),
            id=plugin_id,
            event_source=source,
        )

    @classmethod
    def _source_identity(cls, owner: str) -> tuple[int, str]:
        """``(id, event_source)``; only sourcing plugins have them."""
        return 0, ""

    # -- configuration ----------------------------------------------------------------------------
    @classmethod
    def config_model(cls) -> ConfigModel | None:
        """How the init config is parsed: from the annotation of :meth:`init`'s parameter."""
        hint = _parameter_hint(cls, "init")
        if hint is _NO_PARAMETER:
            return None
        try:
            return ConfigModel(hint, "config")
        except TypeError as exc:
            raise PluginDefinitionError(f"plugin class {cls.__qualname__}: init: {exc}", getattr(cls, "name", None)) from None

    # -- lifecycle (override what you need) ---------------------------------------------------------
    def init(self, config: Any = None) -> None:
        """Called once, with the config parsed into the type the parameter is annotated with."""

    def destroy(self) -> None:
        """Called once, when the host is done with the plugin."""

    def set_config(self, config: Any) -> None:
        """Apply a new config at run time (only when overridden; same type as :meth:`init`'s)."""
        raise NotImplementedError

    def metrics(self) -> Iterable[Metric]:
        """The plugin's metrics (only when overridden); the host prefixes their names with the plugin's."""
        return ()

    @classmethod
    def overrides(cls, method: str, base: type | None = None) -> bool:
        """Whether the class defines ``method`` itself rather than inheriting the SDK's default."""
        base = base or Plugin
        return getattr(cls, method, None) is not getattr(base, method, None)


_NO_PARAMETER = object()


def _docstring(cls: type) -> str:
    doc = cls.__doc__ or ""
    return " ".join(doc.strip().split("\n\n")[0].split())


def _parameter_hint(cls: type, method: str) -> Any:
    """The annotation of the first parameter after ``self`` of ``cls.method``: ``str`` when
    unannotated, ``_NO_PARAMETER`` when there is none or the method is the SDK's own."""
    func = getattr(cls, method)
    if func is getattr(Plugin, method, None):
        return _NO_PARAMETER
    params = list(inspect.signature(func).parameters.values())[1:]
    if not params:
        return _NO_PARAMETER
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception as exc:  # noqa: BLE001 - a bad annotation is the author's error, reported with its name
        raise PluginDefinitionError(f"plugin class {cls.__qualname__}: cannot resolve the annotations of {method}: {exc}") from None
    return hints.get(params[0].name, str)
