"""Driving a plugin class on behalf of a host: the one interface both hosts of SDK plugins use.

The in-process adapter (``falcoplug.framework.inprocess``) and the exported library
(``falcoplug.export``) both go through :class:`PluginDriver`, so a plugin behaves the same
whichever runs it. Every call into plugin code is guarded: an exception becomes a failure code
and its message the last error (``plugin_get_last_error``); nothing raised by plugin code reaches
the host.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..backend import FieldRequest, Metric
from ..errors import ConfigError, is_user_interrupt
from .async_events import Emitter
from .constants import Rc
from .describe import Description, describe
from .event import Event
from .extract import ExtractPlan, ExtractPlugin
from .fieldtypes import utf8_text
from .listen import Capture, RoutineHost, Routines
from .log import LogSink, ModuleRoute, logger_name, object_logger
from .parse import parse_runner
from .plugin import Plugin
from .source import EOF, TIMEOUT, EventWriter, SourceInstance, SourcePlugin, open_params_json, progress_value
from .tables import TableHost, Tables, resolve_declarations


@dataclass
class HostContext:
    """What the host offers a plugin at init besides its config and log: the state tables
    (``None`` when it offers none: libsinsp gives them only to parsing and extracting plugins)."""

    tables: TableHost | None = None


def _describe_error(exc: BaseException) -> str:
    if isinstance(exc, ConfigError):
        return str(exc)
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class PluginDriver:
    """One plugin object and its state, as one ``ss_plugin_t`` of a host."""

    def __init__(self, cls: type[Plugin] | Description) -> None:
        self.description = cls if isinstance(cls, Description) else describe(cls)
        self.name = self.description.info.name
        self.plugin: Any = None
        self.last_error = ""
        self._route: ModuleRoute | None = None
        self._emitter: Emitter | None = None
        self._capture: Capture | None = None

    # -- errors --------------------------------------------------------------------------------------
    def fail(self, context: str, exc: BaseException | str) -> None:
        """Record a failure as the last error (and log its traceback at debug level). The user's
        Ctrl-C is re-raised instead (see :func:`~falcoplug.errors.is_user_interrupt`): every entry
        point catches what plugin code raises and passes it here."""
        if is_user_interrupt(exc):
            raise exc
        text = exc if isinstance(exc, str) else _describe_error(exc)
        self.last_error = f"{context}: {text}" if context else text
        if isinstance(exc, BaseException) and not isinstance(exc, ConfigError):
            log = getattr(self.plugin, "log", None) or logging.getLogger(logger_name(self.name))
            log.debug("%s failed", context or "plugin call", exc_info=exc)

    # -- lifecycle -----------------------------------------------------------------------------------
    def init(self, config: str, log_sink: LogSink | None = None, host: HostContext | None = None) -> bool:
        """Create the plugin object and initialize it. ``host`` offers the state tables: the
        tables the class declares are resolved (accessed) or created and added (owned) before
        ``init`` runs, and ``self.tables`` serves the plugin during ``init``."""
        cls = self.description.cls
        if log_sink is not None:
            self._route = ModuleRoute(cls.__module__, log_sink)
            self._route.attach()
        tables = Tables(host.tables if host is not None else None, self.name)
        try:
            plugin = cls()
            plugin.log = object_logger(self.name, log_sink)
            plugin.tables = tables
            if self.description.tables:
                resolve_declarations(plugin, tables)
            model = cls.config_model()
            if model is None:
                plugin.init()
            else:
                plugin.init(model.parse(config, self.name, warn=lambda m: plugin.log.warning("config: %s", m)))
        except BaseException as exc:  # noqa: BLE001 - plugin code: becomes the init failure
            self.fail("init", exc)
            return False
        finally:
            tables.close()  # the host's registry is reachable during init only
        self.plugin = plugin
        return True

    def destroy(self) -> None:
        if self._emitter is not None:
            self.set_async_handler(None)
        if self._capture is not None:
            self._capture.routines.close()
            self._capture = None
        plugin, self.plugin = self.plugin, None
        try:
            if plugin is not None:
                plugin.destroy()
        except BaseException as exc:  # noqa: BLE001 - nothing can be reported after destroy
            self.fail("destroy", exc)
        finally:
            if self._route is not None:
                self._route.detach()
                self._route = None

    def set_config(self, config: str) -> bool:
        cls = self.description.cls
        try:
            model = cls.config_model()
            value = config if model is None else model.parse(config, self.name, warn=self.plugin.log.warning)
            self.plugin.set_config(value)
        except BaseException as exc:  # noqa: BLE001
            self.fail("set_config", exc)
            return False
        return True

    def metrics(self) -> list[Metric] | None:
        try:
            out = []
            for m in self.plugin.metrics():
                if not isinstance(m, Metric) or not isinstance(m.value, (int, float)) or isinstance(m.value, bool):
                    raise TypeError(f"metrics() must yield Metric(name, int or float value), got {m!r:.80}")
                out.append(m)
            return out
        except BaseException as exc:  # noqa: BLE001
            self.fail("get_metrics", exc)
            return None

    # -- sourcing ------------------------------------------------------------------------------------
    def open(self, params: str) -> InstanceDriver | None:
        cls: type[SourcePlugin] = self.description.cls  # type: ignore[assignment]
        try:
            model = cls.open_params_model()
            instance = self.plugin.open(params if model is None else model.parse(params, self.name))
            if not isinstance(instance, SourceInstance):
                raise TypeError(f"open() must return a SourceInstance, not {type(instance).__name__}")
        except BaseException as exc:  # noqa: BLE001
            self.fail("open", exc)
            return None
        assert self.description.sourcing is not None
        return InstanceDriver(self, instance, self.description.sourcing.batch_capacity)

    def list_open_params(self) -> str | None:
        try:
            return json.dumps(open_params_json(self.plugin.list_open_params()))
        except BaseException as exc:  # noqa: BLE001
            self.fail("list_open_params", exc)
            return None

    def event_to_string(self, data: bytes, num: int, source: str | None) -> str | None:
        try:
            text = self.plugin.event_to_string(Event(data, num, source))
            if not isinstance(text, str):
                raise TypeError(f"event_to_string() must return a str, not {type(text).__name__}")
            return text if text.isascii() else utf8_text(text)
        except BaseException as exc:  # noqa: BLE001
            self.fail("event_to_string", exc)
            return None

    # -- extraction ----------------------------------------------------------------------------------
    def plan(
        self,
        requests: Sequence[FieldRequest],
        *,
        check: bool = True,
        pack_ips: bool = False,
        on_failure: Callable[[str, str, str], None] | None = None,
    ) -> ExtractPlan:
        """A prepared extraction request; raises ValueError for fields the plugin does not have.
        Without ``on_failure`` a failing field fails the whole call (a C host's ``extract_fields``);
        with it, that field only has no value and ``on_failure(field, kind, message)`` is told."""
        assert isinstance(self.plugin, ExtractPlugin)

        def failed(field: str, exc: BaseException) -> None:
            self.fail(f"extract_fields: {field}", exc)
            if on_failure is not None:
                on_failure(field, type(exc).__name__, _describe_error(exc))

        return ExtractPlan(
            self.plugin, requests, failed, check=check, pack_ips=pack_ips, partial=on_failure is not None
        )

    # -- parsing -------------------------------------------------------------------------------------
    def parser(self) -> Callable[[bytes, int, Any], int]:
        """``run(data, evtnum, source) -> rc``: ``parse`` for one event, guarded."""
        return parse_runner(self.plugin, lambda exc: self.fail("parse_event", exc))

    # -- async events --------------------------------------------------------------------------------
    @property
    def async_running(self) -> bool:
        return self._emitter is not None

    def set_async_handler(self, send: Callable[[bytes], None] | None) -> bool:
        """The host sets (``send``: delivers one encoded event, raising on refusal) or resets
        (``None``) the async event handler. On reset the plugin's ``stop_async`` runs, then the
        emitter is closed: nothing reaches the host afterwards, even from a thread that did not
        stop."""
        if send is None:
            return self._stop_async()
        if self._emitter is not None:
            self._stop_async()
        emitter = Emitter(send, self.name)
        self._emitter = emitter
        try:
            self.plugin.start_async(emitter)
        except BaseException as exc:  # noqa: BLE001 - the handler is refused
            self._emitter = None
            try:
                self.plugin.stop_async()  # threads started before the failure
            except BaseException:  # noqa: BLE001, S110 - the first error is the one reported
                pass
            emitter.close()
            self.fail("set_async_event_handler", exc)
            return False
        return True

    def _stop_async(self) -> bool:
        # Always a success for the host: once the emitter is closed, nothing of the plugin reaches
        # the handler again, which is all the host needs to open a capture again. An error of
        # stop_async is logged and kept as the last error.
        emitter, self._emitter = self._emitter, None
        if emitter is None:
            return True
        try:
            self.plugin.stop_async()
        except BaseException as exc:  # noqa: BLE001
            self.fail("set_async_event_handler", exc)
            self.plugin.log.error("stop_async failed: %s: %s", type(exc).__name__, exc)
        finally:
            emitter.close()
        return True

    def dump_state(self, send: Callable[[bytes], None]) -> bool:
        """The plugin's ``dump_state``, its events sent through ``send`` during the call only."""
        emitter = Emitter(send, self.name)
        try:
            self.plugin.dump_state(emitter)
        except BaseException as exc:  # noqa: BLE001
            self.fail("dump_state", exc)
            return False
        finally:
            emitter.close()
        return True

    # -- capture listening ---------------------------------------------------------------------------
    def capture_open(self, routines: RoutineHost | None) -> bool:
        if self._capture is not None:
            self._capture.routines.close()
        capture = self._capture = Capture(Routines(routines, self.plugin.log, self.name))
        try:
            self.plugin.capture_open(capture)
        except BaseException as exc:  # noqa: BLE001
            self.fail("capture_open", exc)
            return False
        return True

    def capture_close(self) -> bool:
        capture = self._capture or Capture(Routines(None, self.plugin.log, self.name))
        try:
            self.plugin.capture_close(capture)
        except BaseException as exc:  # noqa: BLE001
            self.fail("capture_close", exc)
            return False
        finally:
            capture.routines.close()
            self._capture = None
        return True


class InstanceDriver:
    """One open stream (``ss_instance_t``): its instance object and the writer it fills.

    After :meth:`next_batch`, ``writer.items`` holds the batch's events (payloads or
    ``(payload, ts)`` pairs); the host turns them into plugin events.
    """

    def __init__(self, driver: PluginDriver, instance: SourceInstance, capacity: int) -> None:
        self.driver = driver
        self.instance = instance
        self.writer = EventWriter(capacity)
        self._ended = False

    def next_batch(self) -> int:
        self.writer.items.clear()
        if self._ended:
            return Rc.EOF
        try:
            status = self.instance.next_batch(self.writer)
        except BaseException as exc:  # noqa: BLE001 - the events written so far are still delivered
            self.driver.fail("next_batch", exc)
            self._overfilled()  # a batch also overfilled: that is the error reported
            return Rc.FAILURE
        if self._overfilled():
            return Rc.FAILURE
        if status is None:
            return Rc.SUCCESS if self.writer.items else Rc.TIMEOUT
        if status is TIMEOUT:
            return Rc.TIMEOUT
        if status is EOF:
            self._ended = True  # keep answering EOF, as libscap may ask again
            return Rc.EOF
        self.driver.fail("next_batch", f"returned {status!r}; expected None, TIMEOUT or EOF")
        return Rc.FAILURE

    def _overfilled(self) -> bool:
        """A batch grown past its capacity behind the writer's back (``items.append``): refused
        whole, as a C plugin's ``nevts`` above the capacity would be."""
        n, capacity = len(self.writer.items), self.writer.capacity
        if n <= capacity:
            return False
        self.writer.items.clear()
        self.driver.fail("next_batch", f"wrote {n} events into a batch of capacity {capacity}")
        return True

    def progress(self) -> tuple[int, str | None]:
        try:
            return progress_value(self.instance.progress())
        except BaseException as exc:  # noqa: BLE001
            self.driver.fail("get_progress", exc)
            return 0, None

    def close(self) -> None:
        try:
            self.instance.close()
        except BaseException as exc:  # noqa: BLE001
            self.driver.fail("close", exc)
