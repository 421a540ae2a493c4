"""Loading what the command line names: ``-p`` specs and ``-c falco.yaml``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from ..errors import ConfigError, FalcoplugError
from ..framework.config import FalcoConfig, PluginSpec, load_falco_config
from ..framework.inspector import Inspector
from ..framework.manager import check_used, host_fields
from ..framework.plugin import Plugin
from ..pipeline import RuleSettings

if TYPE_CHECKING:
    from ..rules import AppendOutput

plugin_option = click.option(
    "-p",
    "--plugin",
    "plugin_specs",
    multiple=True,
    metavar="SPEC",
    help="A plugin: PATH.so or module:Class or file.py, optionally |INIT_CONFIG and |OPEN_PARAMS. The spec "
    "splits on its first and its last '|' (so the init config may contain '|', the open params may not).",
)
config_option = click.option(
    "-c", "--config", "config_file", type=click.Path(dir_okay=False), help="A Falco configuration file (falco.yaml)."
)


def gather_specs(
    plugin_specs: Sequence[str], config_file: str | None, allow_empty: bool = False
) -> tuple[list[PluginSpec], FalcoConfig | None]:
    config = load_falco_config(config_file) if config_file else None
    specs = list(config.plugins) if config else []
    for text in plugin_specs:
        spec = PluginSpec.parse(text)
        _SPEC_TEXTS[id(spec)] = (spec, text)
        specs.append(spec)
    if not specs and not allow_empty:
        raise ConfigError("no plugin given: use -p SPEC or -c falco.yaml")
    return specs, config


def load_plugins(host: Inspector, specs: Sequence[PluginSpec]) -> list[tuple[PluginSpec, Plugin]]:
    """Register every plugin, then initialize each (libsinsp's order: all registered first)."""
    loaded = [(spec, host.register(spec.location)) for spec in specs]
    for spec, plugin in loaded:
        try:
            plugin.init(spec.init_config)
        except FalcoplugError as exc:
            hint = _split_hint(spec)
            if hint is None:
                raise
            raise ConfigError(f"{exc} ({hint})") from None
    host.manager.check_overlaps(host_fields)  # as Falco, once every plugin is initialized
    return loaded


_SPEC_TEXTS: dict[int, tuple[PluginSpec, str]] = {}  # the -p text each spec came from


def _split_hint(spec: PluginSpec) -> str | None:
    """How a ``-p`` spec with more than two ``|`` was split, naming the spec: an init config that
    fails is then often a misplaced ``|``."""
    entry = _SPEC_TEXTS.get(id(spec))
    if entry is None or entry[0] is not spec or entry[1].count("|") <= 2:
        return None
    return (f"plugin spec {entry[1]!r} splits on its first and last '|': init config {spec.init_config!r}, "
            f"open params {spec.open_params!r}")  # fmt: skip


def choose_inputs(loaded: Sequence[tuple[PluginSpec, Plugin]]) -> list[tuple[PluginSpec, Plugin, str]]:
    """The inputs: every sourcing plugin given open params (each is a live source, as in Falco),
    or the only sourcing plugin with empty params. As Falco, a plugin that no known source can use
    is refused before anything runs."""
    check_used([plugin for _, plugin in loaded])
    for spec, plugin in loaded:
        if spec.open_params is not None and not plugin.has_sourcing:
            raise ConfigError(
                f"plugin {plugin.name} has not event sourcing capabilities and cannot be used as input"
            )
    inputs = [(s, p, s.open_params or "") for s, p in loaded if s.open_params is not None]
    if inputs:
        return inputs
    sourcing = [(s, p) for s, p in loaded if p.has_sourcing]
    if len(sourcing) == 1:
        return [(sourcing[0][0], sourcing[0][1], "")]
    if not sourcing:
        raise ConfigError("no plugin with event sourcing capability was given as input")
    raise ConfigError("several sourcing plugins: give open params (SPEC|CONFIG|PARAMS) to each input plugin")


def choose_input(loaded: Sequence[tuple[PluginSpec, Plugin]]) -> tuple[Plugin, str]:
    """The one input (see :func:`choose_inputs`)."""
    inputs = choose_inputs(loaded)
    if len(inputs) > 1:
        names = ", ".join(p.name for _, p, _ in inputs)
        raise ConfigError(f"several input plugins were given open params ({names}); only one is possible here")
    _, plugin, params = inputs[0]
    return plugin, params


PRIORITY_CHOICES = "emergency, alert, critical, error, warning, notice, informational (or info), debug"


def rule_settings(config: FalcoConfig | None, *, json_output: bool = False, priority: str | None = None,
                  rule_matching: str | None = None) -> RuleSettings:  # fmt: skip
    """falco.yaml's rule settings, with the command line's on top."""
    raw = config.raw if config is not None else {}
    settings = RuleSettings()
    for key in ("json_output", "time_format_iso_8601", "json_include_output_property", "json_include_tags_property",
                "json_include_message_property", "json_include_output_fields_property"):  # fmt: skip
        if key in raw:
            setattr(settings, key, bool(raw[key]))
    if "priority" in raw:
        settings.min_priority = str(raw["priority"])
    if "rule_matching" in raw:
        settings.rule_matching = str(raw["rule_matching"])
    settings.append_output = tuple(_append_output(entry) for entry in raw.get("append_output") or [])
    settings.json_output = settings.json_output or json_output
    settings.min_priority = priority or settings.min_priority
    settings.rule_matching = rule_matching or settings.rule_matching
    if settings.rule_matching not in ("first", "all"):
        raise ConfigError(f"rule_matching must be 'first' or 'all', not {settings.rule_matching!r}")
    # "debug", the default, is valid: checking it would import the rules engine for every run
    if settings.min_priority != "debug" and _priority(settings.min_priority) is None:
        raise ConfigError(f"invalid priority {settings.min_priority!r}: valid values are {PRIORITY_CHOICES}")
    return settings


def _priority(text: str) -> object:
    from ..rules import Priority  # the rules are imported when needed: 18 ms of every start

    return Priority.parse(text)


def _append_output(entry: object) -> AppendOutput:
    from ..rules import AppendOutput

    try:
        return AppendOutput.from_entry(entry)
    except TypeError as exc:
        raise ConfigError(str(exc)) from None


def rules_paths(cli_paths: Sequence[str], config: FalcoConfig | None) -> list[str]:
    """Rules files from -r, else from falco.yaml's ``rules_files`` (relative to the file's folder)."""
    if cli_paths:
        return list(cli_paths)
    if config is None:
        return []
    base = config.path.parent if config.path is not None else None
    out = []
    for path in config.rules_files:
        if base is not None and not os.path.isabs(path) and not os.path.exists(path) and (base / path).exists():
            path = str(base / path)
        out.append(path)
    return out
