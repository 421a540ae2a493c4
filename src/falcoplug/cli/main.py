"""The ``falcoplug`` command line, in Falco's and sysdig's habits."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from .. import __version__
from ..errors import FalcoplugError, PluginError
from .check_cmd import check_command
from .fields_cmd import fields_command
from .inspect_cmd import inspect_command
from .rules_cmd import rules_group
from .run_cmd import run_command

F = TypeVar("F", bound=Callable[..., Any])


def error_line(exc: FalcoplugError) -> str:
    """The text of an error, with the plugin it concerns named in front when the text does not
    name it already (libsinsp's "could not initialize plugin: ..." does not)."""
    text = str(exc)
    name = getattr(exc, "plugin", None) if isinstance(exc, PluginError) else None
    # The name as a word of its own: "dummy" is named in "plugin dummy:" but not in "dummy.py".
    if not name or re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w-]|\.\w)", text):
        return text
    return f"plugin {name}: {text}"


class _Group(click.Group):
    """Turns falcoplug's errors into one line on stderr and exit code 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FalcoplugError as exc:
            click.echo(f"falcoplug: error: {error_line(exc)}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("falcoplug: interrupted", err=True)
            sys.exit(130)
        except BrokenPipeError:
            sys.stderr.close()
            sys.exit(0)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="falcoplug")
@click.option("-v", "--verbose", count=True, help="More logging on stderr (-v info, -vv debug).")
def main(verbose: int) -> None:
    """The Falco plugin framework and plugin SDK, in Python."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


main.add_command(inspect_command)
main.add_command(run_command)
main.add_command(fields_command)
main.add_command(rules_group)
main.add_command(check_command)

try:  # the SDK's build command, when the SDK is installed alongside
    from .build import build_command
except ImportError:  # pragma: no cover - only while the SDK is being developed
    build_command = None
if build_command is not None:
    main.add_command(build_command)
