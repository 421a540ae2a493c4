"""``falcoplug build PLUGIN -o OUT.so``: a Python plugin into a shared library Falco loads."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..export import build_library, plan_build
from ..plugins import BUNDLED


@click.command("build")
@click.argument("plugin")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The library to write (default: lib<plugin name>.so in the working directory).")
@click.option("--keep-source", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the generated C source there.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on success.")  # fmt: skip
def build_command(plugin: str, output: Path | None, keep_source: Path | None, quiet: bool) -> None:
    """Build PLUGIN (path/to/file.py[:Class], package.module:Class, or a bundled plugin's name such
    as k8saudit) into a shared library.

    The library exports the plugin API symbols of the plugin's capabilities and runs the plugin
    in the Python environment this command runs in (recorded in the library; set
    FALCOPLUG_PYTHONPATH to add directories to its module search path at run time).
    """
    plugin = BUNDLED.get(plugin, plugin)
    if output is None:
        output = Path(f"lib{plan_build(plugin).description.info.name}.so")
    path = build_library(plugin, output, keep_source=keep_source)
    if not quiet:
        info = plan_build(plugin).description
        caps = ", ".join(info.capabilities)
        click.echo(f"built {path} (plugin {info.info.name} {info.info.version}: {caps}; python {sys.executable})")
