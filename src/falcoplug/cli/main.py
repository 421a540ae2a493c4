"""The ``falcoplug`` command line, in Falco's and sysdig's habits.

Errors, all on one line of stderr in one style (``falcoplug: error: <what>``), and exit codes:

- 0: done;
- 1: the input is wrong or failed (a plugin, a config, a rules file, a capture...);
- 2: the command line is wrong (an unknown option, a bad value: click's usage errors);
- 130: interrupted (Ctrl-C) before a run started; a run stopped by Ctrl-C or SIGTERM ends as
  Falco's does (summary printed, exit 0);
- ``falcoplug falco`` keeps Falco's own style and codes (``Error: <what>``, 1), being a drop-in.
"""

from __future__ import annotations

import importlib
import logging
import re
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from .. import __version__
from ..errors import FalcoplugError, PluginError

# Subcommands are imported when used: `falcoplug run` does not pay for the checker, the SDK
# builder or the Falco drop-in at start-up (module, attribute).
_COMMANDS: dict[str, tuple[str, str]] = {
    "inspect": ("inspect_cmd", "inspect_command"),
    "run": ("run_cmd", "run_command"),
    "fields": ("fields_cmd", "fields_command"),
    "rules": ("rules_cmd", "rules_group"),
    "falco": ("falco_cmd", "falco_command"),
    "check": ("check_cmd", "check_command"),
    "build": ("build", "build_command"),
}

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


USAGE_EXIT = 2
VERBOSE_FLAGS = re.compile(r"^(-v+|--verbose)$")


def _takes_verbose(command: click.Command) -> bool:
    """Whether a subcommand (or one of its own subcommands) has a ``-v`` of its own."""
    if command.context_settings.get("ignore_unknown_options"):  # takes its arguments as they are (falco)
        return True
    if isinstance(command, click.Group):
        return any(_takes_verbose(sub) for sub in command.commands.values())
    return any("-v" in getattr(p, "opts", ()) or "--verbose" in getattr(p, "opts", ()) for p in command.params)


UNKNOWN_FIELD = re.compile(r"(?:nonexistent field|unknown filter:?)\s+%?([A-Za-z_][\w.\-]*)")


def did_you_mean(text: str, args: list[str]) -> str | None:
    """For an unknown field (libsinsp's "nonexistent field X"): the known fields closest to it, among
    those of the plugins the command line names (registered again, not initialized)."""
    match = UNKNOWN_FIELD.search(text)
    if match is None:
        return None
    import difflib

    from ..framework.inspector import Inspector
    from .common import gather_specs

    name = match.group(1)
    specs_text = [v for flag, v in zip(args, args[1:]) if flag in ("-p", "--plugin")]
    config = next((v for flag, v in zip(args, args[1:]) if flag in ("-c", "--config")), None)
    try:
        specs, _ = gather_specs(specs_text, config, allow_empty=True)
        host = Inspector()
        for spec in specs:
            host.register(spec.location)
        known = {f.name for source in host.manager.sources for f in host.resolver(source).fields()}
    except Exception:  # a suggestion is a bonus: never a second error
        return None
    close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.7)
    return f"did you mean {' or '.join(close)}?" if close else None


class _Group(click.Group):
    """Turns falcoplug's errors into one line on stderr and exit code 1, never a traceback; usage
    errors into one line in the same style, exit code 2."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:  # fmt: skip
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help() if exc.ctx is not None else str(exc))
            sys.exit(0)
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            click.echo(f"falcoplug: error: {exc.format_message()}{hint}", err=True)
            sys.exit(USAGE_EXIT)
        except click.ClickException as exc:
            click.echo(f"falcoplug: error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("falcoplug: interrupted", err=True)
            sys.exit(130)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return self._command(name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *_COMMANDS})

    def _command(self, name: str) -> click.Command | None:
        command = self.commands.get(name)
        if command is None and name in _COMMANDS:
            module, attr = _COMMANDS[name]
            command = getattr(importlib.import_module(f"{__package__}.{module}"), attr)
            self.add_command(command, name)
        return command

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        self._args = list(args)  # kept for the suggestions of an error
        return super().parse_args(ctx, self._hoist_verbose(args))

    def _hoist_verbose(self, args: list[str]) -> list[str]:
        """``falcoplug run -v ...`` as ``falcoplug -v run ...``: a ``-v`` after a subcommand that has
        none of its own is the group's."""
        for i, arg in enumerate(args):
            if arg == "--":
                return args
            command = self._command(arg)
            if command is None:
                continue
            if _takes_verbose(command):
                return args
            rest = args[i + 1 :]
            cut = rest.index("--") if "--" in rest else len(rest)
            moved = [a for a in rest[:cut] if VERBOSE_FLAGS.match(a)]
            kept = [a for a in rest[:cut] if not VERBOSE_FLAGS.match(a)] + rest[cut:]
            return [*args[:i], *moved, arg, *kept]
        return args

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FalcoplugError as exc:
            line = error_line(exc)
            hint = did_you_mean(line, getattr(self, "_args", []))
            if hint is not None:
                line += ("\n" if "\n" in line else " ") + f"({hint})"
            click.echo(f"falcoplug: error: {line}", err=True)
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
    # Text no encoder can write (a lone surrogate from a plugin or a rules file) prints as its
    # escape, never as a traceback halfway through a run.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
