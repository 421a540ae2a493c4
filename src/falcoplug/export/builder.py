"""``falcoplug build``: a Python plugin class into a shared library that Falco loads unchanged.

The library is a cffi embedding module: its C part (``c/*.c``, one file per capability, after a
block of constants describing the plugin) exports exactly the ``plugin_*`` symbols of the
plugin's capabilities; on first use it starts the Python environment it was built with, and its
init code imports the plugin and :mod:`falcoplug.export.runtime`. The library records that
environment (the interpreter, libpython, ``sys.path``) and the plugin's module; at run time
``FALCOPLUG_PYTHONPATH`` adds directories in front (where a moved plugin file is looked for by
name, see :func:`falcoplug.export.runtime.locate_plugin`) and ``FALCOPLUG_PYTHON`` names another
interpreter (an executable file, or the plugin's init fails).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import shlex
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from cffi import FFI

from ..abi import _cdef
from ..errors import FalcoplugError
from ..sdk.describe import Description, describe
from ..sdk.reference import PluginRef, import_ref_module, load_plugin_class, parse_ref
from . import boot, csource
from .runtime import glue_modules

# Declarations the Python glue needs of the C core (the rest of fp_state stays private to C).
CORE_CDEF = """
typedef struct fp_state { uint64_t id; ...; } fp_state;
typedef struct fp_instance { uint64_t id; ...; } fp_instance;
void fp_set_error(fp_state* s, const char* msg, size_t len);
extern "Python" int fpy_boot(char* err, size_t errlen);
"""


class BuildError(FalcoplugError):
    """The library could not be built; the message says why (compiler output included)."""


@dataclass(frozen=True)
class PythonEnv:
    """The Python environment a library runs its plugin in."""

    executable: str
    include_dir: str
    lib_dir: str
    lib_name: str  # for -l
    soname: str  # what the library re-opens with RTLD_GLOBAL
    sys_path: tuple[str, ...] = field(default=())

    @classmethod
    def current(cls) -> PythonEnv:
        cfg = sysconfig.get_config_var
        if not cfg("Py_ENABLE_SHARED"):
            raise BuildError(
                "falcoplug build needs a Python built with a shared libpython (--enable-shared); "
                f"{sys.executable} has none"
            )
        version = f"{sys.version_info.major}.{sys.version_info.minor}{getattr(sys, 'abiflags', '')}"
        return cls(
            executable=sys.executable,
            include_dir=sysconfig.get_paths()["include"],
            lib_dir=cfg("LIBDIR"),
            lib_name=f"python{version}",
            soname=cfg("INSTSONAME") or cfg("LDLIBRARY"),
            sys_path=tuple(_recorded_sys_path()),
        )

    @property
    def libpython(self) -> str:
        return os.path.join(self.lib_dir, self.soname)


def _recorded_sys_path() -> list[str]:
    """``sys.path`` as it is now, made absolute ('' is the working directory)."""
    out = []
    for entry in sys.path:
        path = os.path.abspath(entry or os.getcwd())
        if path not in out and os.path.exists(path):
            out.append(path)
    return out


def _module_root(module: ModuleType) -> str | None:
    """The ``sys.path`` entry a module was imported from."""
    file = getattr(module, "__file__", None)
    if not file:
        return None
    root = Path(file).resolve().parent
    for _ in range(module.__name__.count(".") + (1 if Path(file).name == "__init__.py" else 0)):
        root = root.parent
    return str(root)


@dataclass
class BuildPlan:
    """Everything that goes into one library, computed before anything is compiled."""

    ref: PluginRef
    description: Description
    env: PythonEnv
    module: str
    spec: dict[str, Any]

    @property
    def exports(self) -> list[str]:
        return sorted(f"plugin_{name}" for name in self.description.entry_points)

    def defines(self) -> dict[str, str | int | None]:
        info = self.description.info
        out: dict[str, str | int | None] = {
            "FP_MODULE_NAME": self.module,
            "FP_PLUGIN_NAME": info.name,
            "FP_VERSION": info.version,
            "FP_DESCRIPTION": info.description,
            "FP_CONTACT": info.contact,
            "FP_REQUIRED_API_VERSION": info.required_api_version,
            "FP_PYTHON_EXECUTABLE": self.env.executable,
            "FP_LIBPYTHON_SONAME": self.env.soname,
            "FP_LIBPYTHON_PATH": self.env.libpython,
        }
        for glue in self._glue():
            out.update(glue.defines(self.description))
        return out

    def _glue(self) -> list[Any]:
        return glue_modules(self.description)

    def c_source(self) -> str:
        parts = ['#include "falcoplug/plugin_api.h"\n', csource.define_block(self.defines()), csource.c_file("core.c")]
        parts += [csource.c_file(glue.C_SOURCE) for glue in self._glue()]
        parts.append(csource.c_file("natives.c"))  # the native functions of the capabilities above
        return "\n".join(parts)

    def cdef(self) -> str:
        return CORE_CDEF + "\n".join(glue.declarations(self.description) for glue in self._glue())

    def ffi(self) -> FFI:
        ffi = FFI()
        ffi.cdef(_cdef.packed_declarations(), packed=True)
        ffi.cdef(_cdef.declarations())
        ffi.cdef(self.cdef())
        ffi.embedding_api("")
        ffi.set_source(self.module, self.c_source())
        ffi.embedding_init_code(boot.init_code(self.module, self.spec))
        return ffi


def plan_build(plugin: str | os.PathLike[str], env: PythonEnv | None = None) -> BuildPlan:
    """Load and check the plugin, and decide what its library holds."""
    ref = parse_ref(os.fspath(plugin))
    cls = load_plugin_class(ref)
    desc = describe(cls)
    env = env or PythonEnv.current()
    sys_path = list(env.sys_path)
    if ref.module is not None:
        root = _module_root(import_ref_module(ref))
        if root and root not in sys_path:
            sys_path.insert(0, root)
    reference = ref.text if ref.cls else f"{ref.text}:{cls.__name__}"
    key = hashlib.sha256(f"{reference}\0{desc.digest}".encode()).hexdigest()[:12]
    module = f"_falcoplug_{re.sub(r'[^A-Za-z0-9_]', '_', desc.info.name)}_{key}"
    spec = {"name": desc.info.name, "reference": reference, "digest": desc.digest, "sys_path": sys_path}
    return BuildPlan(ref, desc, env, module, spec)


def _compiler() -> list[str]:
    return shlex.split(os.environ.get("CC", "gcc"))


def compile_library(plan: BuildPlan, output: Path, workdir: Path, *, keep_source: Path | None = None) -> None:
    c_path = workdir / f"{plan.module}.c"
    with contextlib.redirect_stdout(io.StringIO()):  # cffi announces "generating ..." on stdout
        plan.ffi().emit_c_code(str(c_path))
    if keep_source is not None:
        keep_source.write_text(c_path.read_text())
    exports = workdir / "exports.map"
    exports.write_text("{\n  global:\n" + "".join(f"    {name};\n" for name in plan.exports) + "  local: *;\n};\n")
    env = plan.env
    tmp_out = workdir / output.name
    command = [
        *_compiler(), "-shared", "-fPIC", "-O2", "-fvisibility=hidden", "-Wno-unused-function",
        f"-I{_cdef.INCLUDE_DIR}", f"-I{env.include_dir}", str(c_path), "-o", str(tmp_out),
        f"-L{env.lib_dir}", f"-l{env.lib_name}", f"-Wl,-rpath,{env.lib_dir}",
        f"-Wl,--version-script={exports}", "-Wl,--no-undefined",
        # Never unmapped (dlclose is a no-op): Python keeps pointers into the library for good.
        "-Wl,-z,nodelete", "-ldl", "-lpthread",
    ]  # fmt: skip
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"compiling plugin {plan.description.info.name} failed:\n$ {shlex.join(command)}\n{proc.stderr}")
    os.replace(tmp_out, output)  # atomic: a host never sees a half-written library


def build_library(
    plugin: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    keep_source: str | os.PathLike[str] | None = None,
) -> Path:
    """Build the plugin a reference names (``file.py[:Class]`` or ``module:Class``) into ``output``."""
    plan = plan_build(plugin)
    out = Path(output).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="falcoplug-build-", dir=out.parent) as tmp:
        compile_library(plan, out, Path(tmp), keep_source=Path(keep_source) if keep_source else None)
    return out
