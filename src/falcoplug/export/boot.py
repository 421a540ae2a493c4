"""The init code cffi runs inside a plugin library the first time Python enters it.

It is kept tiny and free of imports that could fail: it defines ``fpy_boot`` first, so that the
library can always report why the plugin could not start (an import error, a moved file, a
missing falcoplug) as the plugin's init error instead of crashing or going silent. ``fpy_boot``
completes ``sys.path`` (``FALCOPLUG_PYTHONPATH`` first, then the paths recorded at build time),
then starts :mod:`falcoplug.export.runtime`.
"""

from __future__ import annotations

from typing import Any

_TEMPLATE = '''\
import os as _os
import sys as _sys

from {module} import ffi, lib
import {module} as _module

_SPEC = {spec!r}


def _complete_path():
    front = [p for p in _os.environ.get("FALCOPLUG_PYTHONPATH", "").split(_os.pathsep) if p]
    _sys.path[:0] = [p for p in front if p not in _sys.path]
    _sys.path.extend(p for p in _SPEC["sys_path"] if p not in _sys.path)


def _explain(exc):
    text = "cannot start Python plugin %s (%s): %s: %s" % (_SPEC["name"], _SPEC["reference"], type(exc).__name__, exc)
    if isinstance(exc, ImportError) or isinstance(exc.__cause__, ImportError):
        text += " (sys.path: %s; FALCOPLUG_PYTHONPATH adds directories)" % (_sys.path,)
    return text


@ffi.def_extern(error=0)
def fpy_boot(err, errlen):
    try:
        _complete_path()
        from falcoplug.export.runtime import start

        _module._falcoplug_runtime = start(ffi, lib, _SPEC)
        return 1
    except BaseException as exc:
        data = _explain(exc).encode("utf-8", "replace")[: errlen - 1]
        ffi.memmove(err, data + b"\\0", len(data) + 1)
        return 0
'''


def init_code(module: str, spec: dict[str, Any]) -> str:
    """The Python source cffi embeds in the library (``ffi.embedding_init_code``)."""
    return _TEMPLATE.format(module=module, spec=spec)
