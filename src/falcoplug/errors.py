"""falcoplug's exception hierarchy: every error a user, a plugin or a plugin author can cause.

::

    FalcoplugError
    ├── PluginError                 a plugin failed to load, validate or run (names the plugin)
    │   ├── PluginLoadError         libsinsp would refuse to register or initialize it
    │   │   └── sdk.PluginDefinitionError   a plugin class is not a valid plugin
    │   ├── ExtractionError         a field's extraction failed under ``--strict``
    │   ├── AsyncEventError         (SDK) the host refused an async event the plugin pushed
    │   ├── FieldValueError         (SDK) a field method returned what its type cannot hold
    │   └── BatchFullError          (SDK) an event was added to a full batch
    ├── ConfigError                 an invalid init config, open params or falco.yaml
    ├── EventError                  a malformed event
    │   └── AsyncEventRejected      the host refuses an async event (libsinsp's text)
    ├── CaptureError                a capture that cannot be read or written (capture/errors.py)
    ├── FieldError                  a field reference that does not resolve
    ├── filter.FilterError          a condition or output format that does not compile
    └── rules: YamlParseError, RuleLoadError (caught by the loader, reported as Falco reports them)

Some also derive from the builtin a Python programmer would catch (``FieldValueError`` is a
``TypeError``, ``BatchFullError`` an ``OverflowError``). Ctrl-C is never a plugin failure: the
one place that turns exceptions into return codes (``PluginDriver.fail`` in ``sdk/driver.py``)
re-raises :data:`INTERRUPTS`.
"""

from __future__ import annotations

import signal
from typing import Final, NoReturn


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


class ExtractionError(PluginError):
    """A field's extraction failed and the run is strict (``falcoplug run --strict``); without
    ``--strict`` the failure is logged and counted (``framework/extraction_errors.py``)."""


class AsyncEventRejected(EventError):
    """The host refuses an async event; ``str()`` is libsinsp's message, which a C plugin
    receives in its ``err`` buffer along with SS_PLUGIN_FAILURE. Raised by the host's handlers
    (the framework's checks and the C boundary's, ``abi/async_events.py``)."""


class AsyncEventError(PluginError):
    """What an SDK plugin sees when the host refused its async event (``str()`` is the host's
    message), or when it pushed one after the handler was reset."""


class FieldValueError(PluginError, TypeError):
    """A field method returned a value its declared type cannot hold (a ``TypeError`` too)."""


class BatchFullError(PluginError, OverflowError):
    """An event was added to a batch that already holds its capacity (``except OverflowError``
    keeps working)."""


# Ctrl-C is the user's, not the plugin's: it is never turned into a plugin failure (a host across
# a C boundary catches it at its own edge). A plugin's own sys.exit() is a plugin failure.
INTERRUPTS: Final = (KeyboardInterrupt,)

_signals_received = 0


def stop_signal(signum: int, frame: object) -> NoReturn:
    """A signal handler for SIGINT and SIGTERM that stops a run with ``KeyboardInterrupt`` and
    remembers that a signal came: with it installed, a ``KeyboardInterrupt`` no signal explains
    was raised by plugin code, and :func:`is_user_interrupt` says so."""
    global _signals_received  # noqa: PLW0603 - signals are process-wide
    _signals_received += 1
    raise KeyboardInterrupt


def is_user_interrupt(exc: BaseException) -> bool:
    """Whether ``exc`` is the user's interrupt, to let pass through plugin code, rather than a
    plugin failure. Without :func:`stop_signal` installed for SIGINT, every KeyboardInterrupt is
    taken for the user's: there is no telling one raised by plugin code from a Ctrl-C."""
    if not isinstance(exc, INTERRUPTS):
        return False
    return _signals_received > 0 or signal.getsignal(signal.SIGINT) is not stop_signal
