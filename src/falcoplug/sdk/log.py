"""Python ``logging`` routed to the host's log function (``ss_plugin_init_input.log_fn``).

Each plugin object gets ``self.log``, a :class:`logging.Logger` of its own (named
``falcoplug.plugins.<plugin name>``) whose records go to the host that initialized it, which
prefixes them with the plugin name and applies its own severity filter. Records of the plugin's
module logger (``logging.getLogger(__name__)`` in the plugin's file) go to the host of the most
recently initialized object of that plugin. Routed records do not also reach Python's root
handlers, so nothing is printed twice; without a host log function, records propagate as usual.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

from .constants import Severity

LogSink = Callable[[str | None, str, int], None]
"""``(component, message, severity)``: the host's log function."""

_LEVELS: Final = (
    (logging.CRITICAL, Severity.CRITICAL),
    (logging.ERROR, Severity.ERROR),
    (logging.WARNING, Severity.WARNING),
    (logging.INFO, Severity.INFO),
    (logging.DEBUG, Severity.DEBUG),
)


def severity(levelno: int) -> Severity:
    """The plugin API severity of a :mod:`logging` level (anything below DEBUG is TRACE)."""
    for level, sev in _LEVELS:
        if levelno >= level:
            return sev
    return Severity.TRACE


def logger_name(plugin: str) -> str:
    return f"falcoplug.plugins.{plugin}"


class HostLogHandler(logging.Handler):
    """Sends each record to the host's log function; a failing sink never reaches plugin code."""

    def __init__(self, sink: LogSink, component: str | None = None) -> None:
        super().__init__(logging.NOTSET)
        self.sink = sink
        self.component = component

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.sink(self.component, self.format(record), int(severity(record.levelno)))
        except Exception:  # noqa: BLE001 - logging must never raise into the plugin
            self.handleError(record)


def object_logger(plugin: str, sink: LogSink | None) -> logging.Logger:
    """A logger for one plugin object: not registered with :mod:`logging` (so that each object
    has its own, and none outlives it), child of ``falcoplug.plugins.<plugin>``."""
    logger = logging.Logger(logger_name(plugin))
    logger.parent = logging.getLogger(logger_name(plugin))
    if sink is not None:
        logger.addHandler(HostLogHandler(sink))
        logger.propagate = False  # the host prints it; Python's handlers would print it again
        logger.setLevel(logging.DEBUG)  # the host filters by severity, not Python
    return logger


class ModuleRoute:
    """Routes a plugin module's logger to one host; a later route replaces an earlier one."""

    def __init__(self, module: str, sink: LogSink) -> None:
        self.logger = logging.getLogger(module)
        self.handler = HostLogHandler(sink)
        self._saved: tuple[bool, int] | None = None

    def attach(self) -> None:
        logger = self.logger
        previous = [h for h in logger.handlers if isinstance(h, HostLogHandler)]
        for handler in previous:
            logger.removeHandler(handler)
        if not previous:
            self._saved = (logger.propagate, logger.level)
        logger.addHandler(self.handler)
        logger.propagate = False
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.DEBUG)

    def detach(self) -> None:
        logger = self.logger
        if self.handler not in logger.handlers:
            return  # replaced by a later route
        logger.removeHandler(self.handler)
        if self._saved is not None and not any(isinstance(h, HostLogHandler) for h in logger.handlers):
            logger.propagate, level = self._saved
            logger.setLevel(level)
