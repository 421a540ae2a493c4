"""Shared fixtures: the C test plugins and the plain C host, built with gcc (see cbuild.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

_TESTS_DIR = str(Path(__file__).resolve().parent)
if _TESTS_DIR not in sys.path:  # so that test modules can `import cbuild` in any import mode
    sys.path.insert(0, _TESTS_DIR)

import cbuild  # noqa: E402


def _need_compiler() -> None:
    if shutil.which(cbuild.CC) is None:
        pytest.skip(f"no C compiler ({cbuild.CC}) to build the C test plugins")


@pytest.fixture(scope="session")
def source_plugin() -> Path:
    """tests/plugins/source_plugin.c built: "testsrc", ID 999, source "test"."""
    _need_compiler()
    return cbuild.build_plugin("source_plugin")


@pytest.fixture(scope="session")
def extractor_plugin() -> Path:
    """tests/plugins/extractor_plugin.c built: "testext", extraction only, fields of every type."""
    _need_compiler()
    return cbuild.build_plugin("extractor_plugin")


@pytest.fixture(scope="session")
def broken_plugin() -> Path:
    """tests/plugins/broken_plugin.c built without any macro: a valid minimal plugin "broken", ID 998."""
    _need_compiler()
    return cbuild.build_plugin("broken_plugin")


@pytest.fixture(scope="session")
def c_host() -> Path:
    """tests/c_host/host.c built: ``host dump|bench [-o] [-v] [-x EXTLIB EXTCONFIG]... LIB CONFIG PARAMS [FIELD...]``."""
    _need_compiler()
    return cbuild.build_c_host()


@pytest.fixture
def build_plugin() -> Callable[..., Path]:
    """A factory: ``build_plugin("broken_plugin", API_VERSION='"2.0.0"', OMIT_init=None)`` -> library path.

    ``source_name`` is a file of tests/plugins (".c" optional). Each keyword is a ``-D`` macro: None or
    True gives a bare ``-DNAME``, False leaves it out, anything else is passed as the macro's text, so
    a string macro needs a C string literal (``cbuild.cstr("...")`` makes one). Builds are cached.
    """
    _need_compiler()

    def build(source_name: str, **defines: str | int | bool | None) -> Path:
        return cbuild.build_plugin(source_name, defines)

    return build


@pytest.fixture
def run_c_host(c_host: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Runs the C host: ``run_c_host("dump", lib, config, params, *fields, extractors=[(lib, config)],
    offsets=False, verbose=False, check=False)``; returns the CompletedProcess (text, stdout and stderr
    captured)."""

    def run(
        mode: str,
        lib: Path | str,
        config: str = "",
        params: str = "",
        *fields: str,
        extractors: Iterable[tuple[Path | str, str]] = (),
        offsets: bool = False,
        verbose: bool = False,
        check: bool = False,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        argv = [str(c_host), mode]
        if offsets:
            argv.append("-o")
        if verbose:
            argv.append("-v")
        for ext_lib, ext_config in extractors:
            argv += ["-x", str(ext_lib), ext_config]
        argv += [str(lib), config, params, *fields]
        return subprocess.run(
            argv, capture_output=True, text=True, errors="surrogateescape", check=check, timeout=timeout
        )

    return run
