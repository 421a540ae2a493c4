"""``falcoplug falco`` / ``falcoplug-falco``: Falco 0.44's command line, for plugin event sources.

The options, their meaning, output and exit codes are Falco's: errors print ``Error: <why>`` on
stderr and exit 1. Options that need the kernel (drivers, ``-i``, ``--page-size``,
``--list-events``, ``-pc``/``-pk``) say that falcoplug runs plugin sources only, and exit 1.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import FalcoplugError
from .app import Options, run
from .errors import FalcoError

HELP = """\
Falco - Cloud Native Runtime Security (falcoplug: plugin event sources only)
Usage:
  falcoplug falco [OPTION...]

  -h, --help                    Print this help list and exit.
  -c <path>                     Configuration file. If not specified uses /etc/falco/falco.yaml.
      --config-schema           Print the config json schema and exit.
      --rule-schema             Print the rule json schema and exit.
      --disable-source <event_source>
                                Turn off an event source (repeatable); not with --enable-source.
      --dry-run                 Load the configuration, plugins and rules, then exit without
                                processing events.
      --enable-source <event_source>
                                Enable only the given event sources (repeatable).
  -L                            Show the name and description of all rules and exit (JSON with
                                json_output).
  -l <rule>                     Show the name and description of one rule and exit.
      --list [=<source>(=)]     List the fields of the plugin sources (or of <source>) and exit.
      --list-plugins            Print info on all loaded plugins and exit.
  -M <num_seconds>              Stop after <num_seconds>. (default: 0)
      --markdown                DEPRECATED: use --format markdown instead.
      --format <format>         With --list: 'text', 'markdown' or 'json'.
  -N                            With --list: only print field names.
  -o, --option <opt>=<val>      Set a configuration value (dot notation, [N] list entries, []
                                appends, backslash escapes): e.g. json_output=true,
                                plugins[0].open_params=FILE, load_plugins[]=json.
      --plugin-info <plugin_name>
                                Print a plugin's info, init config schema and suggested open params.
  -p, --print <output_format>   DEPRECATED: use -o append_output... instead. Append <output_format>
                                to every rule's output.
  -P, --pidfile <pid_file>      Write PID to <pid_file>.
  -r <rules_file>               Rules file or directory to be loaded (repeatable).
      --support                 Print support information (JSON) and exit.
  -U, --unbuffered              Flush every output line.
  -V, --validate <rules_file>   Validate the rules file(s) and exit (repeatable).
  -v                            Enable verbose output.
      --version                 Print version information and exit.

Kernel-only options (-i, --list-events, --page-size, -pc, -pk; engine.kind kmod/ebpf/modern_ebpf
for the syscall source) are refused: falcoplug runs plugin sources only. Replay a capture with
-o engine.kind=replay -o engine.replay.capture_file=FILE.
"""

KERNEL_ONLY = {
    "-i": "-i (the syscalls ignored by the kernel driver)",
    "--list-events": "--list-events (the kernel's syscall events)",
    "--page-size": "--page-size (the syscall ring buffer's page size)",
}


@dataclass(frozen=True)
class Spec:
    dest: str
    takes_value: bool
    repeat: bool = False


SHORT: dict[str, Spec] = {
    "c": Spec("config", True), "r": Spec("rules", True, True), "o": Spec("overrides", True, True),
    "V": Spec("validate", True, True), "l": Spec("describe_rule", True), "M": Spec("duration", True),
    "p": Spec("print_format", True), "P": Spec("pidfile", True), "L": Spec("describe_all", False),
    "N": Spec("names_only", False), "U": Spec("unbuffered", False), "v": Spec("verbose", False),
    "h": Spec("help", False), "i": Spec("-i", False),
}  # fmt: skip
LONG: dict[str, Spec] = {
    "help": Spec("help", False), "config-schema": Spec("config_schema", False),
    "rule-schema": Spec("rule_schema", False), "disable-source": Spec("disable_sources", True, True),
    "enable-source": Spec("enable_sources", True, True), "dry-run": Spec("dry_run", False),
    "list": Spec("list_fields", False), "list-plugins": Spec("list_plugins", False),
    "markdown": Spec("markdown", False), "format": Spec("format", True), "option": Spec("overrides", True, True),
    "plugin-info": Spec("plugin_info", True), "print": Spec("print_format", True),
    "pidfile": Spec("pidfile", True), "support": Spec("support", False), "unbuffered": Spec("unbuffered", False),
    "validate": Spec("validate", True, True), "version": Spec("version", False),
    "list-events": Spec("--list-events", False), "page-size": Spec("--page-size", False),
}  # fmt: skip


def parse(argv: Sequence[str]) -> tuple[Options, bool]:
    """Falco's options from ``argv`` (without the program name); returns them and whether help was asked."""
    values: dict[str, object] = {}
    markdown = False
    format_given = False
    i = 0
    args = list(argv)
    while i < len(args):
        arg = args[i]
        i += 1
        if arg.startswith("--"):
            name, eq, inline = arg[2:].partition("=")
            spec = LONG.get(name)
            if spec is None:
                raise FalcoError(f"Option ‘{name}’ does not exist")
            if name == "list":  # an optional value, only as --list=SOURCE
                values["list_fields"] = True
                values["list_source"] = inline if eq else None
                continue
            value = inline if eq else None
            if spec.takes_value and value is None:
                if i >= len(args):
                    raise FalcoError(f"Option ‘{name}’ is missing an argument")
                value = args[i]
                i += 1
            _store(values, spec, value)
            markdown = markdown or name == "markdown"
            format_given = format_given or name == "format"
            continue
        if not arg.startswith("-") or arg == "-":
            raise FalcoError(f"Unexpected positional argument: {arg}")
        j = 1
        while j < len(arg):
            letter = arg[j]
            spec = SHORT.get(letter)
            if spec is None:
                raise FalcoError(f"Option ‘{letter}’ does not exist")
            if not spec.takes_value:
                _store(values, spec, None)
                j += 1
                continue
            value = arg[j + 1 :]
            if not value:
                if i >= len(args):
                    raise FalcoError(f"Option ‘{letter}’ is missing an argument")
                value = args[i]
                i += 1
            _store(values, spec, value)
            break
    for flag, what in KERNEL_ONLY.items():
        if values.get(flag):
            raise FalcoError(f"{what} needs the kernel: falcoplug runs plugin sources only")
    if markdown and format_given:
        raise FalcoError("--markdown and --format cannot be used together")
    opts = Options()
    for key, value in values.items():
        if key.startswith("-") or key in ("help", "markdown"):
            continue
        setattr(opts, key, value)
    if markdown:
        opts.format = "markdown"
    if opts.format not in ("text", "markdown", "json"):
        raise FalcoError(f"Unsupported format {opts.format!r}: valid values are 'text', 'markdown', 'json'")
    if opts.print_format in ("c", "container", "k", "kubernetes"):
        raise FalcoError(f"-p{opts.print_format} adds container and Kubernetes details to syscall events, which "
                         "need the kernel: falcoplug runs plugin sources only")  # fmt: skip
    if isinstance(values.get("duration"), str):
        try:
            opts.duration = float(int(str(values["duration"])))
        except ValueError:
            raise FalcoError(f"Argument ‘{values['duration']}’ failed to parse") from None
    return opts, bool(values.get("help"))


def _store(values: dict[str, object], spec: Spec, value: str | None) -> None:
    if spec.repeat:
        values.setdefault(spec.dest, [])
        assert isinstance(values[spec.dest], list)
        values[spec.dest].append(value)  # type: ignore[union-attr]
    elif spec.takes_value:
        values[spec.dest] = value
    else:
        values[spec.dest] = True


def main(argv: Sequence[str] | None = None, prog: str = "falco") -> int:
    """Run Falco's command line; returns the exit code (0, or 1 on an error)."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        opts, wants_help = parse(args)
        if wants_help:
            sys.stdout.write(HELP)
            return 0
        opts.cmdline = f"{prog} {shlex.join(args)}".strip()
        return run(opts)
    except FalcoError as exc:
        sys.stdout.flush()
        sys.stderr.write(exc.line() + "\n")
        return 1
    except FalcoplugError as exc:
        sys.stdout.flush()
        sys.stderr.write(f"Error: {exc}\n")
        return 1
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        sys.stderr.close()
        return 0


def console_main() -> None:
    """The ``falcoplug-falco`` console script."""
    sys.exit(main(prog="falcoplug-falco"))
