"""falcoplug's exception hierarchy: every error a user can cause is one of these."""

from __future__ import annotations


class FalcoplugError(Exception):
    """Base of every error falcoplug raises on bad input."""


class PluginError(FalcoplugError):
    """A plugin failed to load, validate or run; the message names the plugin."""

    def __init__(self, message: str, plugin: str | None = None) -> None:
        super().__init__(message)
        self.plugin = plugin


class PluginLoadError(PluginError):
    """libsinsp would refuse to register or initialize this plugin."""


class ConfigError(FalcoplugError):
    """An invalid configuration (init config, open params, falco.yaml)."""


class EventError(FalcoplugError):
    """A malformed event."""


class CaptureError(FalcoplugError):
    """A capture file cannot be read or written."""


class FieldError(FalcoplugError):
    """A field reference that does not resolve: unknown name or a bad argument."""
