"""Loading what the command line names: ``-p`` specs and ``-c falco.yaml``."""

from __future__ import annotations

from collections.abc import Sequence

import click

from ..errors import ConfigError
from ..framework.config import FalcoConfig, PluginSpec, load_falco_config
from ..framework.inspector import Inspector
from ..framework.plugin import Plugin

plugin_option = click.option(
    "-p",
    "--plugin",
    "plugin_specs",
    multiple=True,
    metavar="SPEC",
    help="A plugin: PATH.so or module:Class or file.py, optionally |INIT_CONFIG and |OPEN_PARAMS.",
)
config_option = click.option(
    "-c", "--config", "config_file", type=click.Path(dir_okay=False), help="A Falco configuration file (falco.yaml)."
)


def gather_specs(
    plugin_specs: Sequence[str], config_file: str | None, allow_empty: bool = False
) -> tuple[list[PluginSpec], FalcoConfig | None]:
    config = load_falco_config(config_file) if config_file else None
    specs = list(config.plugins) if config else []
    specs += [PluginSpec.parse(text) for text in plugin_specs]
    if not specs and not allow_empty:
        raise ConfigError("no plugin given: use -p SPEC or -c falco.yaml")
    return specs, config


def load_plugins(host: Inspector, specs: Sequence[PluginSpec]) -> list[tuple[PluginSpec, Plugin]]:
    """Register every plugin, then initialize each (libsinsp's order: all registered first)."""
    loaded = [(spec, host.register(spec.location)) for spec in specs]
    for spec, plugin in loaded:
        plugin.init(spec.init_config)
    return loaded


def choose_input(loaded: Sequence[tuple[PluginSpec, Plugin]]) -> tuple[Plugin, str]:
    """The input: the sourcing plugin given open params, or the only sourcing plugin."""
    with_params = [(s, p) for s, p in loaded if s.open_params is not None and p.has_sourcing]
    for spec, plugin in loaded:
        if spec.open_params is not None and not plugin.has_sourcing:
            raise ConfigError(
                f"plugin {plugin.name} has not event sourcing capabilities and cannot be used as input"
            )
    if len(with_params) == 1:
        spec, plugin = with_params[0]
        return plugin, spec.open_params or ""
    if len(with_params) > 1:
        names = ", ".join(p.name for _, p in with_params)
        raise ConfigError(f"several input plugins were given open params ({names}); falcoplug opens one at a time")
    sourcing = [p for _, p in loaded if p.has_sourcing]
    if len(sourcing) == 1:
        return sourcing[0], ""
    if not sourcing:
        raise ConfigError("no plugin with event sourcing capability was given as input")
    raise ConfigError("several sourcing plugins: give open params (SPEC|CONFIG|PARAMS) to the input plugin")
