"""The real libsinsp and Falco next to falcoplug: where they are, how to run a scenario on each.

A scenario is written once (plugins, a format, a filter, a count, a capture) and run by both
``falcoplug run`` and ``../shared/peers/bin/sinsp-capture``; the tests compare every line. The peers
are builds of the real thing (see ``../shared/peers/README.md``); without them, every test here
skips with the reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

REPO = Path(__file__).resolve().parents[2]
PEERS = Path(os.environ.get("FALCOPLUG_SHARED_PEERS") or REPO.parent / "shared" / "peers")
SHARED_DATA = Path(os.environ.get("FALCOPLUG_SHARED_DATA") or REPO.parent / "shared" / "data")

SINSP_CAPTURE = PEERS / "bin" / "sinsp-capture"
FALCO = PEERS / "bin" / "falco"
PLUGIN_INFO = PEERS / "bin" / "plugin_info"
PLUGINS = PEERS / "plugins"
CAPTURES = PEERS / "captures"
ALL_K8S_AUDIT = CAPTURES / "all_k8s_audit.jsonl"
GO_K8SAUDIT_SCAP = CAPTURES / "go_k8saudit.scap"
K8S_RULES = SHARED_DATA / "rules" / "k8s_audit_rules.yaml"

GO_K8SAUDIT = PLUGINS / "go" / "libk8saudit.so"
GO_JSON = PLUGINS / "go" / "libjson.so"
GO_DUMMY = PLUGINS / "go" / "libdummy.so"
C_DUMMY = PLUGINS / "official" / "libdummy_c.so"
LIBS_TEST = PLUGINS / "libs-test"

# Deliberate deviations of falcoplug's Python ports from the official Go plugins, by field name
# (README, "Tested against the real thing"): compared nowhere else.
PORT_DEVIATIONS = frozenset({
    "ka.sourceips",
    # the official code reads runAsUser/runAsGroup one level above securityContext (see the README)
    *(f"ka.req.pod.{kind}.eff_run_as_{what}" for kind in ("containers", "initContainers", "ephemeralContainers")
      for what in ("user", "group")),
})  # fmt: skip

TIMEOUT = 60


def missing_reason() -> str | None:
    """Why the peers cannot be used, or None."""
    for tool in (SINSP_CAPTURE, FALCO, PLUGIN_INFO):
        if not os.access(tool, os.X_OK):
            return f"../shared/peers not found ({tool} missing): real libsinsp/Falco side not run"
    return None


def lib(relative: str) -> str:
    return str(PLUGINS / relative)


# -- what a plugin declares, as libsinsp reads it -------------------------------------------------


@dataclass(frozen=True)
class DeclaredField:
    name: str
    ftype: str  # libsinsp's type name: UINT64, CHARBUF, ...
    is_list: bool
    arg_required: bool
    arg_allowed: bool


def declared_fields(library: Path | str, init_config: str = "") -> list[DeclaredField]:
    """The fields of a plugin library, read by the real loader (``plugin_info`` with SHOW_FIELDS=1)."""
    args = [str(PLUGIN_INFO), str(library)] + ([init_config] if init_config else [])
    out = subprocess.run(args, env={**os.environ, "SHOW_FIELDS": "1"}, capture_output=True, text=True,
                         timeout=TIMEOUT, check=True).stdout  # fmt: skip
    fields = []
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) < 4 or not parts[0].isdigit():
            continue
        flags = parts[3].split()
        fields.append(DeclaredField(parts[1], parts[2], "list" in flags, "arg_required" in flags, "arg_allowed" in flags))
    return fields


def field_tokens(fields: Iterable[DeclaredField], arguments: dict[str, Sequence[str]]) -> list[str]:
    """Output tokens covering every field: required arguments from ``arguments`` (every one given),
    optional ones bare and with each given argument (``[0]``, ``[1]`` by default)."""
    tokens = []
    for f in fields:
        if f.arg_required:
            tokens += [f"%{f.name}[{arg}]" for arg in arguments[f.name]]
            continue
        tokens.append(f"%{f.name}")
        if f.arg_allowed:
            tokens += [f"%{f.name}[{arg}]" for arg in arguments.get(f.name, ("0", "1"))]
    return tokens


# A separator no value contains, so that a differing line is reported field by field.
SEP = " \u00a6 "


def joined_format(tokens: Sequence[str], na: bool = True) -> str:
    return ("*" if na else "") + SEP.join(tokens)


# -- one scenario, two hosts ----------------------------------------------------------------------


@dataclass
class Scenario:
    """What to run: ``plugins`` are ``LIB[|INIT_CONFIG[|OPEN_PARAMS]]`` specs, as both hosts take them."""

    plugins: Sequence[str]
    output: str | None = None
    condition: str | None = None
    count: int | None = None
    read: Path | str | None = None
    write: Path | str | None = None
    as_json: bool = False


@dataclass
class Result:
    code: int
    stdout: list[str]
    stderr: list[str] = field(default_factory=list)


class Host(Protocol):
    name: str

    def run(self, scenario: Scenario) -> Result: ...


def _common(s: Scenario) -> list[str]:
    args = [arg for spec in s.plugins for arg in ("-p", spec)]
    if s.output is not None:
        args += ["-o", s.output]
    if s.condition is not None:
        args += ["-f", s.condition]
    if s.count is not None:
        args += ["-n", str(s.count)]
    return args


def _result(proc: subprocess.CompletedProcess[str]) -> Result:
    return Result(proc.returncode, proc.stdout.splitlines(), proc.stderr.splitlines())


class SinspHost:
    """libsinsp, through ``sinsp-capture``."""

    name = "libsinsp"

    def run(self, s: Scenario) -> Result:
        args = [str(SINSP_CAPTURE), *_common(s)]
        if s.read is not None:
            args += ["-r", str(s.read)]
        if s.write is not None:
            args += ["-w", str(s.write)]
        if s.as_json:
            args.append("-j")
        return _result(subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT))


class FalcoplugHost:
    """``falcoplug run``, in a process of its own as a user runs it."""

    name = "falcoplug"

    def run(self, s: Scenario) -> Result:
        args = [sys.executable, "-m", "falcoplug", "run", *_common(s)]
        if s.read is not None:
            args += ["-R", str(s.read)]
        if s.write is not None:
            args += ["-w", str(s.write)]
        if s.as_json:
            args.append("--json")
        return _result(subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT))


HOSTS: dict[str, Host] = {"libsinsp": SinspHost(), "falcoplug": FalcoplugHost()}


# -- comparing ------------------------------------------------------------------------------------

def differences(expected: Sequence[str], actual: Sequence[str], limit: int = 8) -> list[str]:
    """Every differing line, field by field where the lines were joined with SEP (first ``limit``)."""
    out: list[str] = []
    if len(expected) != len(actual):
        out.append(f"{len(expected)} lines from the reference, {len(actual)} from falcoplug")
    for i, (want, got) in enumerate(zip(expected, actual)):
        if want == got:
            continue
        wparts, gparts = want.split(SEP), got.split(SEP)
        if len(wparts) == len(gparts) > 1:
            out += [f"line {i + 1}, item {j + 1}: reference {w!r}, falcoplug {g!r}"
                    for j, (w, g) in enumerate(zip(wparts, gparts)) if w != g]  # fmt: skip
        else:
            out.append(f"line {i + 1}: reference {want!r}\n{' ' * (len(str(i + 1)) + 7)}falcoplug {got!r}")
        if len(out) >= limit:
            break
    return out[:limit]


def assert_same_lines(expected: Sequence[str], actual: Sequence[str]) -> None:
    diffs = differences(expected, actual)
    assert not diffs, "falcoplug differs from the reference:\n" + "\n".join(diffs)


def json_rows(lines: Sequence[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in lines]

