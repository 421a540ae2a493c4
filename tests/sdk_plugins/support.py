"""Helpers of the SDK and export tests: built plugin libraries (each built once per test
process, into a temporary directory), the thread host, and reading a library's symbols."""

from __future__ import annotations

import atexit
import shutil
import subprocess
import tempfile
from pathlib import Path

import cbuild

from falcoplug.export import build_library

TESTS = Path(__file__).resolve().parent.parent
ROOT = TESTS.parent
EXAMPLES = ROOT / "examples"
SDK_PLUGINS = TESTS / "sdk_plugins"

_out_dir: Path | None = None
_built: dict[str, Path] = {}


def out_dir() -> Path:
    """A temporary directory for this test process's libraries (removed at exit)."""
    global _out_dir
    if _out_dir is None:
        _out_dir = Path(tempfile.mkdtemp(prefix="falcoplug-sdk-tests-"))
        atexit.register(shutil.rmtree, _out_dir, True)
    return _out_dir


def built(plugin: str | Path, name: str | None = None) -> Path:
    """The library of a plugin reference, built on first use."""
    key = str(plugin)
    lib = _built.get(key)
    if lib is None:
        stem = name or Path(key.split(":")[0]).stem
        lib = _built[key] = build_library(key, out_dir() / f"lib{stem}.so")
    return lib


def example(name: str) -> Path:
    return built(EXAMPLES / f"{name}.py")


def thread_host() -> Path:
    return cbuild.build_executable(SDK_PLUGINS / "thread_host.c", "thread_host", libs=("-ldl", "-lpthread"))


def exported_symbols(lib: Path) -> set[str]:
    out = subprocess.run(["nm", "-D", "--defined-only", str(lib)], capture_output=True, text=True, check=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


def run_host(
    mode: str,
    lib: Path | str,
    config: str = "",
    params: str = "",
    *fields: str,
    extractors: tuple[tuple[Path | str, str], ...] | list[tuple[Path | str, str]] = (),
    cwd: str | Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """The plain C host (tests/c_host/host.c), with a working directory and environment of choice."""
    argv = [str(cbuild.build_c_host()), mode]
    for ext_lib, ext_config in extractors:
        argv += ["-x", str(ext_lib), ext_config]
    argv += [str(lib), config, params, *fields]
    return subprocess.run(argv, capture_output=True, text=True, cwd=cwd, env=env, timeout=120)
