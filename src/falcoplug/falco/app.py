"""What ``falcoplug falco`` does once its command line is read: Falco's actions, in Falco's order
(configuration, plugins, sources, rules, outputs, then the event loop), for plugin sources."""

from __future__ import annotations

import json
import os
import platform
import re
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import __version__
from ..errors import FalcoplugError
from ..framework.config import PluginSpec
from ..framework.inspector import Inspector
from ..framework.metrics import collect, format_metrics
from ..framework.multisource import MultiSource
from ..framework.plugin import SYSCALL_SOURCE, Plugin
from ..pipeline import Pipeline, Rules, RuleSettings, RulesError
from ..rules import AppendOutput, Priority, validate_files
from ..rules.alerts import Alert
from ..rules.loader import expand_paths
from .config import FALCO_VERSION, FalcoConfig
from .errors import FalcoError, FalcoRuntimeError
from .listing import describe_rules, list_fields, plugin_info_text, plugins_text
from .outputs import (FileOutput, HttpOutput, HttpSettings, Message, Output, OutputError, Outputs, ProgramOutput,
                      StdoutOutput, SyslogOutput)  # fmt: skip
from .schema import config_schema, rule_schema

LIBS_VERSION = "0.25.4"
PLUGIN_API_VERSION = "3.12.0"
ENGINE_VERSION = "0.62.0"
KERNEL_ENGINES = ("kmod", "ebpf", "modern_ebpf", "gvisor")
SHORT_PRIORITY = {p: ("INFO" if p is Priority.INFORMATIONAL else p.name) for p in Priority}


@dataclass
class Options:
    """Falco's command line, parsed."""

    config: str | None = None
    rules: list[str] = field(default_factory=list)
    overrides: list[str] = field(default_factory=list)
    validate: list[str] = field(default_factory=list)
    describe_all: bool = False
    describe_rule: str | None = None
    list_fields: bool = False
    list_source: str | None = None
    names_only: bool = False
    format: str = "text"
    list_plugins: bool = False
    plugin_info: str | None = None
    enable_sources: list[str] = field(default_factory=list)
    disable_sources: list[str] = field(default_factory=list)
    dry_run: bool = False
    duration: float = 0.0
    unbuffered: bool = False
    verbose: bool = False
    version: bool = False
    support: bool = False
    config_schema: bool = False
    rule_schema: bool = False
    print_format: str | None = None
    pidfile: str | None = None
    cmdline: str = ""


class Log:
    """Falco's log lines (``<ctime>: message``) on stderr, when ``log_stderr`` is on; errors always."""

    def __init__(self, enabled: bool = False) -> None:
        self.enabled = enabled

    def info(self, text: str) -> None:
        if self.enabled:
            self._write(text)

    def error(self, text: str) -> None:
        self._write(text)

    @staticmethod
    def _write(text: str) -> None:
        stamp = time.strftime("%a %b %d %H:%M:%S %Y")
        sys.stderr.write(f"{stamp}: {text}\n")
        sys.stderr.flush()


def run(opts: Options) -> int:
    """Do what the options ask; return the exit code (errors raise :class:`FalcoError`)."""
    if opts.version:
        print_version()
        return 0
    if opts.config_schema:
        sys.stdout.write(json.dumps(config_schema(), indent=4) + "\n")
        return 0
    if opts.rule_schema:
        sys.stdout.write(json.dumps(rule_schema(), indent=4) + "\n")
        return 0
    app = App(opts)
    try:
        return app.run()
    finally:
        app.cleanup()


def print_version() -> None:
    lines = [
        f"Falco version: {FALCO_VERSION} (falcoplug {__version__}, plugin sources only)",
        f"Libs version:  {LIBS_VERSION}",
        f"Plugin API:    {PLUGIN_API_VERSION}",
        f"Engine:        {ENGINE_VERSION}",
        "Driver:        none (falcoplug runs plugin sources only)",
    ]
    sys.stdout.write("\n".join(lines) + "\n")


class App:
    """One ``falco`` run: each of Falco's steps is a method, called in Falco's order by :meth:`run`."""

    def __init__(self, opts: Options) -> None:
        self.opts = opts
        self.config = FalcoConfig()
        self.log = Log()
        self.host: Inspector | None = None
        self.hosts: list[Inspector] = []
        self.loaded: list[tuple[PluginSpec, Plugin]] = []
        self._paths: list[str] = []

    # -- the steps -----------------------------------------------------------------------------
    def run(self) -> int:
        opts = self.opts
        self.load_config()
        if opts.pidfile:
            self._write_pidfile(opts.pidfile)
        self.load_plugins()
        if opts.list_plugins:
            sys.stdout.write(plugins_text([p for _, p in self.loaded]))
            return 0
        if opts.plugin_info is not None:
            sys.stdout.write(plugin_info_text(self._find_plugin(opts.plugin_info)))
            return 0
        if opts.list_fields:
            assert self.host is not None
            sys.stdout.write(list_fields(self.host, opts.list_source, opts.format, opts.names_only))
            return 0
        if opts.validate:
            return self.validate(rules_files(opts.validate))
        paths = self.rules_paths()
        if opts.support:
            self.support(paths)
            return 0
        sources = self.enabled_sources()
        rules = self.load_rules(paths)
        if opts.describe_all or opts.describe_rule is not None:
            sys.stdout.write(describe_rules(rules, opts.describe_rule, self.settings().json_output))
            return 0
        outputs = self.make_outputs()
        for warning in self.config.warnings:
            self.log.info(warning)
        if opts.dry_run:
            self.log.info("Skipping event processing in dry-run")
            for channel in outputs:
                channel.close()
            return 0
        return self.process(rules, sources, outputs)

    def load_config(self) -> None:
        opts = self.opts
        path = opts.config
        if path is None:
            path = "/etc/falco/falco.yaml"
            if not os.path.exists(path):
                raise FalcoError(f"Could not find configuration file at {path} (give one with -c)")
        elif not os.path.exists(path):
            raise FalcoError(f"Could not find configuration file at {path}")
        self.config = FalcoConfig.load(path, opts.overrides)
        c = self.config
        self.log = Log(c.bool("log_stderr", False) or opts.verbose)
        self.log.info(f"Falco version: {FALCO_VERSION} (falcoplug {__version__})")
        if opts.cmdline:
            self.log.info(f"CLI args: {opts.cmdline}")
        self.log.info("Falco initialized with configuration files:")
        for name, verdict in c.files:
            self.log.info(f"   {name} | schema validation: {verdict}")
        kind = c.str("engine.kind", "kmod")
        if kind == "replay" and not c.str("engine.replay.capture_file", ""):
            raise FalcoError(f"Error reading config file ({c.name}): engine.kind is replay but "
                             "engine.replay.capture_file is empty")  # fmt: skip

    def load_plugins(self) -> None:
        host = self.host = Inspector()
        self.hosts.append(host)
        specs = self.config.plugin_specs()
        seen: dict[str, str] = {}
        for spec in specs:  # as libsinsp: one plugin of a name per inspector
            if spec.name in seen:
                raise FalcoRuntimeError(f"cannot register plugin {spec.location} in inspector: found another plugin "
                                        f"with name {spec.name}. Aborting.")  # fmt: skip
            seen[spec.name or ""] = spec.location
        try:
            self.loaded = [(spec, host.register(spec.location)) for spec in specs]
        except FalcoplugError as exc:
            raise FalcoError(str(exc)) from None
        names = Counter(p.name for _, p in self.loaded)
        for name, count in names.items():
            if count > 1:
                location = next(p.location for _, p in self.loaded if p.name == name)
                raise FalcoRuntimeError(f"cannot register plugin {location} in inspector: found another plugin "
                                        f"with name {name}. Aborting.")  # fmt: skip
        for spec, plugin in self.loaded:
            self.log.info(f"Loaded plugin '{plugin.name}@{plugin.version}' from file {plugin.location}")
            try:
                plugin.init(spec.init_config)
            except FalcoplugError as exc:
                raise _init_error(exc) from None

    def _find_plugin(self, name: str) -> Plugin:
        for spec, plugin in self.loaded:
            if name in (plugin.name, spec.name, spec.location):
                return plugin
        raise FalcoError(f"can't find plugin and print its info: {name}")

    def rules_paths(self) -> list[str]:
        paths = rules_files(list(self.opts.rules) or self.config.rules_files())
        self.log.info("Configured rules filenames:")
        for path in paths:
            self.log.info(f"   {path}")
        return paths

    def sources(self) -> list[str]:
        """Falco's loaded sources: ``syscall`` and each sourcing plugin's (a replay has them all)."""
        out = [SYSCALL_SOURCE]
        for _, plugin in self.loaded:
            if plugin.has_sourcing and plugin.event_source and plugin.event_source not in out:
                out.append(plugin.event_source)
        return out

    def enabled_sources(self) -> list[str]:
        opts = self.opts
        loaded = self.sources()
        if opts.enable_sources and opts.disable_sources:
            raise FalcoError("You can not mix --enable-source and --disable-source")
        for name in opts.enable_sources:
            if name not in loaded:
                raise FalcoError(f"Attempted enabling an unknown event source: {name}")
        for name in opts.disable_sources:
            if name not in loaded:
                raise FalcoError(f"Attempted disabling an unknown event source: {name}")
        if opts.enable_sources:
            enabled = [s for s in loaded if s in opts.enable_sources]
        else:
            enabled = [s for s in loaded if s not in opts.disable_sources]
        if not enabled:
            raise FalcoError("Must enable at least one event source")
        self.log.info(f"Loaded event sources: {', '.join(loaded)}")
        self.log.info(f"Enabled event sources: {', '.join(enabled)}")
        return enabled

    def settings(self) -> RuleSettings:
        c = self.config
        settings = RuleSettings(
            min_priority=c.str("priority", "debug"),
            rule_matching=c.str("rule_matching", "first"),
            json_output=c.bool("json_output", False),
            time_format_iso_8601=c.bool("time_format_iso_8601", False),
            json_include_output_property=c.bool("json_include_output_property", True),
            json_include_tags_property=c.bool("json_include_tags_property", True),
            json_include_message_property=c.bool("json_include_message_property", False),
            json_include_output_fields_property=c.bool("json_include_output_fields_property", True),
            append_output=c.append_output(),
        )
        if self.opts.print_format:
            settings.append_output += (AppendOutput(extra_output=self.opts.print_format),)
        if Priority.parse(settings.min_priority) is None:
            raise FalcoError(f'Unknown priority "{settings.min_priority}"--must be one of emergency, alert, '
                             "critical, error, warning, notice, informational, debug")  # fmt: skip
        if settings.rule_matching not in ("first", "all"):
            raise FalcoError(f'Unknown rule matching strategy "{settings.rule_matching}"--must be one of first, all')
        return settings

    def load_rules(self, paths: Sequence[str]) -> Rules:
        if not paths:
            raise FalcoError("You must specify at least one rules file/directory via -r or a rules_files entry "
                             "in falco.yaml")  # fmt: skip
        assert self.host is not None
        self._paths = list(paths)
        rules = Rules(self.host, self.settings())
        self.log.info("Loading rules from:")
        for path in expand_paths(paths):
            if not os.path.exists(path):
                raise FalcoError(f"Could not open file {path} for reading")
            self.log.info(f"   {path} | schema validation: ok")
        try:
            for warning in rules.load_paths(paths):
                self.log.info(warning)
        except RulesError as exc:
            raise FalcoError(str(exc)) from None
        return rules

    def validate(self, paths: Sequence[str]) -> int:
        assert self.host is not None
        host = self.host
        resolvers = {source: host.resolver(source) for source in host.manager.sources}
        versions = {p.name: p.version for p in host.plugins}
        result = validate_files(paths, resolvers, versions, json_output=self.config.bool("json_output", False))
        sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr)
        return result.exit_code

    def make_outputs(self) -> list[Output]:
        c = self.config
        buffered = c.bool("buffered_outputs", False) and not self.opts.unbuffered
        channels: list[Output] = []
        if c.bool("stdout_output.enabled", False):
            channels.append(StdoutOutput(buffered=buffered))
        if c.bool("file_output.enabled", False):
            filename = c.str("file_output.filename", "")
            if not filename:
                raise FalcoError(f"Error reading config file ({c.name}): file output enabled but no filename in "
                                 "configuration block")  # fmt: skip
            channels.append(FileOutput(filename, keep_alive=c.bool("file_output.keep_alive", False), buffered=buffered))
        if c.bool("program_output.enabled", False):
            program = c.str("program_output.program", "")
            if not program:
                raise FalcoError(f"Error reading config file ({c.name}): program output enabled but no program in "
                                 "configuration block")  # fmt: skip
            keep = c.bool("program_output.keep_alive", False)
            channels.append(ProgramOutput(program, keep_alive=keep, buffered=buffered))
        if c.bool("http_output.enabled", False):
            channels.append(self._http_output())
        if c.bool("syslog_output.enabled", False):
            channels.append(SyslogOutput())
        if not channels:
            raise FalcoError("No output configured, please make sure at least one output is configured and enabled.")
        return channels

    def _http_output(self) -> HttpOutput:
        c = self.config
        url = c.str("http_output.url", "")
        if not url:
            raise FalcoError(f"Error reading config file ({c.name}): http output enabled but no url in "
                             "configuration block")  # fmt: skip
        settings = HttpSettings(
            url=url,
            user_agent=c.str("http_output.user_agent", f"falcosecurity/falco/{FALCO_VERSION}"),
            insecure=c.bool("http_output.insecure", False),
            ca_cert=c.str("http_output.ca_cert", ""),
            ca_bundle=c.str("http_output.ca_bundle", ""),
            ca_path=c.str("http_output.ca_path", "/etc/ssl/certs"),
            mtls=c.bool("http_output.mtls", False),
            client_cert=c.str("http_output.client_cert", "/etc/ssl/certs/client.crt"),
            client_key=c.str("http_output.client_key", "/etc/ssl/certs/client.key"),
            echo=c.bool("http_output.echo", False),
            keep_alive=c.bool("http_output.keep_alive", False),
            max_consecutive_timeouts=c.int("http_output.max_consecutive_timeouts", 5),
            timeout=max(c.int("output_timeout", 2000), 1) / 1000.0,
        )
        try:
            return HttpOutput(settings)
        except OutputError as exc:
            raise FalcoError(str(exc)) from None

    # -- the event loop ------------------------------------------------------------------------
    def process(self, rules: Rules, sources: Sequence[str], channels: Sequence[Output]) -> int:
        c = self.config
        outputs = Outputs(channels, capacity=c.int("outputs_queue.capacity", 0), timeout_ms=c.int("output_timeout", 2000),
                          report=self.log.error)  # fmt: skip
        settings = rules.settings
        replay = c.str("engine.kind", "kmod") == "replay"
        stats = _Stats()
        started = time.monotonic()
        stopper = _Stopper()
        previous = _on_sigterm(stopper)
        timer = threading.Timer(self.opts.duration, stopper.stop) if self.opts.duration > 0 else None
        pipelines: list[Pipeline] = []
        try:
            batches = self._open(rules, sources, replay, stopper, pipelines)
            if timer is not None:
                timer.daemon = True
                timer.start()
            for alert in batches:
                stats.add(alert)
                text = alert.json_line() if settings.json_output else alert.text
                outputs.handle(Message(text, alert.rule.priority, alert.rule.name, settings.json_output))
        except FalcoError:
            outputs.close()  # as Falco: the counts of what ran, then the error
            sys.stdout.write("\n".join(stats.lines(rules)) + "\n")
            sys.stdout.flush()
            raise
        except KeyboardInterrupt:
            self.log.info("SIGINT received, exiting...")
        finally:
            if timer is not None:
                timer.cancel()
            stopper.stop()
            outputs.close()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        elapsed = time.monotonic() - started
        events = sum(p.stats.events for p in pipelines)
        if self.opts.verbose:
            counts: Counter[str | None] = Counter()
            for pipeline in pipelines:
                live = pipeline.host.input
                counts[live.event_source if live is not None else None] += pipeline.stats.events
            for source in sources:
                if source in counts or (replay and source != SYSCALL_SOURCE):
                    n = counts.get(source, events)
                    rate = n / elapsed if elapsed > 0 else 0.0
                    sys.stderr.write(f"({source}) Elapsed time: {elapsed:.3f}, Captured Events: {n}, {rate:.2f} eps\n")
        if c.bool("metrics.enabled", False):
            for line in format_metrics(collect(self.hosts)):
                sys.stderr.write(line + "\n")
            sys.stderr.write(f"falco.outputs_queue_num_drops {outputs.drops}\n")
        lines = stats.lines(rules) + outputs.summary_lines()
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
        return 0

    def _open(self, rules: Rules, sources: Sequence[str], replay: bool, stopper: _Stopper,
              pipelines: list[Pipeline]) -> Iterator[Alert]:  # fmt: skip
        """The alerts of every enabled source: a replayed capture, or one live input per source."""
        assert self.host is not None
        json_fields = rules.settings.json_output
        if replay:
            host = self.host
            pipeline = Pipeline(host, rules=rules)
            pipelines.append(pipeline)
            capture = self.config.str("engine.replay.capture_file", "")
            try:
                with open(capture, "rb"):
                    pass
            except OSError as exc:
                raise FalcoError(f"Could not open trace filename {capture} for reading: {exc.strerror}") from None
            try:
                host.open_capture(capture)
            except FalcoplugError as exc:
                raise FalcoError(f"Could not open capture file {capture}: {_plain(exc)}") from None
            stopper.hosts.append(host)
            return self._single(host, pipeline, json_fields, stopper)
        kind = self.config.str("engine.kind", "kmod")
        plugin_sources = [s for s in sources if s != SYSCALL_SOURCE]
        if SYSCALL_SOURCE in sources:
            if kind not in KERNEL_ENGINES + ("nodriver",) or not plugin_sources:
                raise FalcoError(_kernel_only(f"the syscall source (engine.kind: {kind})"))
            self.log.info(f"falcoplug runs plugin sources only: the syscall source ({kind}) is not opened")
        inputs = [self._input_for(source) for source in plugin_sources]
        if len(inputs) == 1:
            spec, plugin = inputs[0]
            host = self.host
            pipeline = Pipeline(host, rules=rules)
            pipelines.append(pipeline)
            self.log.info(f"Opening '{plugin.event_source}' source with plugin '{plugin.name}'")
            self._open_input(host, plugin, spec)
            stopper.hosts.append(host)
            return self._single(host, pipeline, json_fields, stopper)
        return self._several(rules, inputs, json_fields, stopper, pipelines)

    def _input_for(self, source: str) -> tuple[PluginSpec, Plugin]:
        for spec, plugin in self.loaded:
            if plugin.has_sourcing and plugin.event_source == source:
                return spec, plugin
        raise FalcoError(f"no plugin with event sourcing capability for the source {source}")

    def _open_input(self, host: Inspector, plugin: Plugin, spec: PluginSpec) -> None:
        try:
            host.open(plugin, spec.open_params or "")
        except FalcoplugError as exc:
            raise FalcoError(_plain(exc, plugin.name)) from None

    def _single(self, host: Inspector, pipeline: Pipeline, json_fields: bool, stopper: _Stopper) -> Iterator[Alert]:
        _prepare(pipeline)
        try:
            for batch in host.batches():
                if stopper.stopped:
                    break
                yield from pipeline.alerts(batch, with_fields=json_fields)
        except FalcoplugError as exc:
            raise FalcoError(_plain(exc)) from None

    def _several(self, rules: Rules, inputs: Sequence[tuple[PluginSpec, Plugin]], json_fields: bool,
                 stopper: _Stopper, pipelines: list[Pipeline]) -> Iterator[Alert]:  # fmt: skip
        """One inspector per live source (each with its own instances of the plugins), as Falco."""
        by_host: dict[int, Pipeline] = {}
        hosts = []
        for spec, plugin in inputs:
            if plugin is inputs[0][1]:
                host = self.host
                assert host is not None
            else:
                host = Inspector()
                self.hosts.append(host)
                self._load_into(host, spec)
            source_rules = rules if host is self.host else self._rules_for(host, rules)
            pipeline = Pipeline(host, rules=source_rules)
            pipelines.append(pipeline)
            by_host[id(host)] = pipeline
            self.log.info(f"Opening '{plugin.event_source}' source with plugin '{plugin.name}'")
            own = host.plugin(plugin.name)
            self._open_input(host, own, spec)
            _prepare(pipeline)
            hosts.append(host)
        runner = MultiSource(hosts, process=lambda batch: list(by_host[id(batch.host)].alerts(batch, with_fields=json_fields)))
        stopper.runner = runner
        try:
            for _source, alert in runner:
                yield alert
        except FalcoplugError as exc:
            raise FalcoError(_plain(exc)) from None

    def _rules_for(self, host: Inspector, rules: Rules) -> Rules:
        """The same rules compiled for another inspector (its fields belong to its plugins)."""
        own = Rules(host, rules.settings)
        try:
            own.load_paths(self._paths)
        except RulesError as exc:
            raise FalcoError(str(exc)) from None
        return own

    def _load_into(self, host: Inspector, input_spec: PluginSpec) -> None:
        """Another inspector with every configured plugin (only ``input_spec`` is opened)."""
        for spec, _ in self.loaded:
            plugin = host.register(spec.location)
            try:
                plugin.init(spec.init_config)
            except FalcoplugError as exc:
                raise _init_error(exc) from None

    # -- --support ---------------------------------------------------------------------------
    def support(self, paths: Sequence[str]) -> None:
        uname = platform.uname()
        rules_files = []
        for path in expand_paths(paths):
            try:
                with open(path, encoding="utf-8") as f:
                    content = f.read()
            except OSError:
                raise FalcoError(f"Could not open file {path} for reading") from None
            rules_files.append({"name": path, "variants": [{"content": content}]})
        doc = {
            "version": FALCO_VERSION,
            "system_info": {"sysname": uname.system, "nodename": uname.node, "release": uname.release,
                            "version": uname.version, "machine": uname.machine},  # fmt: skip
            "cmdline": self.opts.cmdline,
            "config": json.dumps(_stringify(self.config.doc)),
            "engine_info": {
                "default_driver_version": "none (plugin sources only)",
                "driver_api_version": "none",
                "driver_schema_version": "none",
                "engine_version": ENGINE_VERSION.split(".")[1],
                "engine_version_semver": ENGINE_VERSION,
                "falco_version": FALCO_VERSION,
                "libs_version": LIBS_VERSION,
                "plugin_api_version": PLUGIN_API_VERSION,
                "plugin_versions": {p.name: p.version for _, p in self.loaded},
            },
            "rules_files": rules_files,
        }
        sys.stdout.write(json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n")

    def _write_pidfile(self, path: str) -> None:
        try:
            with open(path, "w") as f:
                f.write(f"{os.getpid()}\n")
        except OSError as exc:
            self.log.error(f"Could not write PID {os.getpid()} to pid file {path}: {exc.strerror}")

    def cleanup(self) -> None:
        for host in self.hosts:
            try:
                host.destroy()
            except FalcoplugError:
                pass
        self.hosts.clear()


class _Stopper:
    """Ends the event loop from another thread (-M, SIGTERM): interrupts every input."""

    def __init__(self) -> None:
        self.stopped = False
        self.hosts: list[Inspector] = []
        self.runner: MultiSource | None = None

    def stop(self) -> None:
        """Interrupt every input: each source's loop ends at its next step and says it is done, so
        the consumer drains what is queued and ends normally (safe from a signal handler)."""
        self.stopped = True
        for host in self.hosts:
            host.interrupt()
        if self.runner is not None:
            for host in self.runner.inspectors:
                host.interrupt()


@dataclass
class _Stats:
    """Falco's end-of-run counts: alerts, per priority and per rule."""

    alerts: int = 0
    by_priority: Counter[Priority] = field(default_factory=Counter)
    by_rule: Counter[str] = field(default_factory=Counter)

    def add(self, alert: Alert) -> None:
        self.alerts += 1
        self.by_priority[alert.rule.priority] += 1
        self.by_rule[alert.rule.name] += 1

    def lines(self, rules: Rules) -> list[str]:
        lines = [f"Events detected: {self.alerts}", "Rule counts by severity:"]
        lines += [f"   {SHORT_PRIORITY[p]}: {self.by_priority[p]}" for p in Priority if self.by_priority[p]]
        lines.append("Triggered rules by rule name:")
        seen = set()
        for rule in rules.loader.rules:
            if self.by_rule[rule.name] and rule.name not in seen:
                seen.add(rule.name)
                lines.append(f"   {rule.name}: {self.by_rule[rule.name]}")
        return lines


def rules_files(paths: Sequence[str]) -> list[str]:
    """Each path, a folder standing for its ``.yml`` / ``.yaml`` files in name order (as Falco)."""
    out = []
    for path in paths:
        if os.path.isdir(path):
            names = sorted(n for n in os.listdir(path) if n.endswith((".yml", ".yaml")))
            out += [os.path.join(path, n) for n in names if os.path.isfile(os.path.join(path, n))]
        else:
            out.append(path)
    return out


def _prepare(pipeline: Pipeline) -> None:
    try:
        pipeline.prepare()
    except FalcoplugError as exc:
        raise FalcoError(_plain(exc)) from None


def _on_sigterm(stopper: _Stopper) -> Any:
    if threading.current_thread() is not threading.main_thread():
        return None

    def stop(signum: int, frame: object) -> None:
        stopper.stop()

    return signal.signal(signal.SIGTERM, stop)


def _plain(exc: BaseException, plugin: str | None = None) -> str:
    """The plugin's own words, as Falco shows them (without falcoplug's "could not open plugin X: ")."""
    text = str(exc)
    if plugin is not None:
        text = re.sub(rf"^could not open plugin {re.escape(plugin)}: ", "", text)
    return text


def _init_error(exc: BaseException) -> FalcoError:
    """Falco's words for a failed init: an init config the schema refuses is a runtime error
    ("error in plugin X: ..."); the plugin's own failure is "could not initialize plugin: ..."."""
    text = str(exc)
    if text.startswith("error in plugin"):
        return FalcoRuntimeError(text)
    return FalcoError(text if text.startswith("could not initialize plugin") else f"could not initialize plugin: {text}")


def _stringify(node: Any) -> Any:
    """The configuration as Falco's ``--support`` shows it: every scalar as text."""
    if isinstance(node, dict):
        return {str(k): _stringify(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_stringify(v) for v in node]
    if isinstance(node, bool):
        return "true" if node else "false"
    return "" if node is None else str(node)


def _kernel_only(what: str) -> str:
    return (f"{what} needs the kernel: falcoplug runs plugin sources only "
            "(use --disable-source=syscall, or engine.kind: replay for a capture)")  # fmt: skip

