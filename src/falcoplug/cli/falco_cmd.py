"""``falcoplug falco ARGS...``: Falco 0.44's own command line (see :mod:`falcoplug.falco`)."""

from __future__ import annotations

import sys

import click


@click.command(
    "falco",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def falco_command(args: tuple[str, ...]) -> None:
    """Falco's command line for plugin sources: -c falco.yaml -r rules -o key=value... (falco -h)."""
    from ..falco.cli import main as falco_main

    sys.exit(falco_main(list(args), prog="falcoplug falco"))
