"""Compile the C test plugins and the C host with gcc, for the tests and the benchmarks.

Outputs go to ``tests/.build/`` (gitignored). A build is cached under a name that carries a hash of
everything that can change the result: the compiler command line (flags and ``-D`` defines), the
content of every source file, the content of every header in the API include directory, and the
compiler's version. Tests run under pytest-xdist, so two processes may want the same output at once:
a build takes a per-output file lock, compiles to a temporary name and renames it into place, so a
reader never sees a half-written library.

``-D`` values are passed to gcc as they are (no shell is involved, so no shell quoting is needed),
which means a macro that stands for a C string must be given as a C string *literal*, quotes
included: ``{"API_VERSION": '"2.0.0"'}``. :func:`cstr` makes such a literal from any Python string,
escaping quotes, backslashes and non-printable bytes: ``{"FIELDS_JSON": cstr('[{"type":"int"}]')}``.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent
PLUGINS_DIR = TESTS_DIR / "plugins"
C_HOST_DIR = TESTS_DIR / "c_host"
BUILD_DIR = TESTS_DIR / ".build"

try:
    from falcoplug.abi._cdef import INCLUDE_DIR as _INCLUDE_DIR

    INCLUDE_DIR = Path(_INCLUDE_DIR)
except ImportError:  # the package is not importable: use the source tree's copy
    INCLUDE_DIR = TESTS_DIR.parent / "src" / "falcoplug" / "abi" / "include"

CC = os.environ.get("CC", "gcc")
BASE_FLAGS = ("-O2", "-Wall", "-Werror=implicit-function-declaration")

Defines = Mapping[str, "str | int | bool | None"]


class BuildError(RuntimeError):
    """gcc failed; the message holds the command line and the compiler's output."""


def cstr(value: str | bytes) -> str:
    """A C string literal for ``value`` (str is encoded as UTF-8), usable as a ``-D`` macro value.

    Every byte outside printable ASCII is written as a three-digit octal escape, which (unlike ``\\x``)
    cannot swallow the characters that follow it.
    """
    data = value.encode() if isinstance(value, str) else bytes(value)
    out = ['"']
    for byte in data:
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= byte < 0x7F and char != "?":  # "?" escaped to rule out trigraphs
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    out.append('"')
    return "".join(out)


def define_flags(defines: Defines) -> list[str]:
    """``-D`` options for ``defines``: None or True means a bare ``-DNAME``; False leaves NAME out."""
    flags = []
    for name, value in sorted(defines.items()):
        if value is None or value is True:
            flags.append(f"-D{name}")
        elif value is False:
            continue
        else:
            flags.append(f"-D{name}={value}")
    return flags


@functools.cache
def _compiler_version() -> str:
    try:
        out = subprocess.run([CC, "--version"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise BuildError(f"no working C compiler {CC!r}: {exc}") from exc
    return out.splitlines()[0] if out else CC


def _headers_digest() -> bytes:
    digest = hashlib.sha256()
    for header in sorted(INCLUDE_DIR.rglob("*.h")):
        digest.update(str(header.relative_to(INCLUDE_DIR)).encode() + b"\0")
        digest.update(header.read_bytes() + b"\0")
    return digest.digest()


def _build(
    kind: str,
    sources: list[Path],
    name: str,
    flags: list[str],
    libs: list[str],
    suffix: str,
    build_dir: Path,
) -> Path:
    sources = [Path(s).resolve() for s in sources]
    command_tail = [*flags, f"-I{INCLUDE_DIR}"]
    digest = hashlib.sha256()
    digest.update(f"{kind}\0{_compiler_version()}\0".encode())
    digest.update("\0".join(command_tail + libs).encode() + b"\0")
    for source in sources:
        digest.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
    digest.update(_headers_digest())
    key = digest.hexdigest()[:16]

    build_dir.mkdir(parents=True, exist_ok=True)
    output = build_dir / f"{name}-{key}{suffix}"
    if output.exists():
        return output
    with open(build_dir / f".{output.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        if output.exists():  # another worker built it while we waited
            return output
        fd, tmp_name = tempfile.mkstemp(prefix=f".{output.name}.", dir=build_dir)
        os.close(fd)
        tmp = Path(tmp_name)
        command = [CC, *command_tail, "-o", str(tmp), *map(str, sources), *libs]
        try:
            proc = subprocess.run(command, capture_output=True, text=True)
            if proc.returncode != 0:
                raise BuildError(f"build of {name} failed:\n$ {' '.join(command)}\n{proc.stderr}")
            # Keep the compiler's messages (warnings) next to the output, see build_log().
            log_tmp = tmp.with_name(tmp.name + ".log")
            log_tmp.write_text(proc.stderr)
            os.replace(log_tmp, output.with_name(output.name + ".log"))
            os.chmod(tmp, 0o755)
            os.replace(tmp, output)
        finally:
            tmp.unlink(missing_ok=True)
    return output


def build_shared(
    source: Path,
    name: str,
    defines: Defines = {},  # noqa: B006 - never mutated
    extra_sources: Iterable[Path] = (),
    *,
    extra_flags: Iterable[str] = (),
    build_dir: Path = BUILD_DIR,
) -> Path:
    """Compile ``source`` (plus ``extra_sources``) into a shared library and return its path.

    The library is ``<build_dir>/<name>-<hash>.so``; an identical earlier build is reused.
    """
    flags = ["-shared", "-fPIC", *BASE_FLAGS, *extra_flags, *define_flags(defines)]
    return _build("shared", [Path(source), *extra_sources], name, flags, [], ".so", Path(build_dir))


def build_executable(
    source: Path,
    name: str,
    defines: Defines = {},  # noqa: B006 - never mutated
    extra_sources: Iterable[Path] = (),
    *,
    extra_flags: Iterable[str] = (),
    libs: Iterable[str] = ("-ldl",),
    build_dir: Path = BUILD_DIR,
) -> Path:
    """Compile and link ``source`` into an executable (linked with ``-ldl`` by default)."""
    flags = [*BASE_FLAGS, *extra_flags, *define_flags(defines)]
    return _build("exe", [Path(source), *extra_sources], name, flags, list(libs), "", Path(build_dir))


def build_log(output: Path) -> str:
    """What the compiler printed (warnings) when it built ``output``; "" for a clean build."""
    log = Path(output).with_name(Path(output).name + ".log")
    return log.read_text() if log.exists() else ""


def plugin_source(source_name: str) -> Path:
    """``tests/plugins/<source_name>`` (the ``.c`` suffix is optional)."""
    path = PLUGINS_DIR / source_name
    if path.suffix != ".c":
        path = path.with_name(path.name + ".c")
    if not path.exists():
        raise FileNotFoundError(path)
    return path


def build_plugin(source_name: str, defines: Defines = {}, **kwargs) -> Path:  # noqa: B006
    """Build ``tests/plugins/<source_name>.c`` with ``defines``; the output is named after the source."""
    source = plugin_source(source_name)
    return build_shared(source, source.stem, defines, **kwargs)


def build_c_host(**kwargs) -> Path:
    """Build the plain C host ``tests/c_host/host.c``."""
    return build_executable(C_HOST_DIR / "host.c", "c_host", **kwargs)
