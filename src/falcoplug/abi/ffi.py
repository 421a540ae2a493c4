"""The one cffi ``FFI`` of falcoplug's host side, compiled when possible.

``fastpath`` is the compiled helper module's ``lib`` (per-batch loops in C) or ``None`` when it
was not built (no compiler at install time) or is disabled with ``FALCOPLUG_NO_FASTPATH=1``;
everything then runs in cffi's ABI mode, only slower.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Sequence
from typing import Any

from cffi import FFI

ffi: FFI
fastpath: Any
dl: Any

RTLD_NOW = 0x2
RTLD_LOCAL = 0x0


def _abi_mode() -> tuple[FFI, Any]:
    from . import _fastpath_build

    abi_ffi = FFI()
    _fastpath_build.declare(abi_ffi)
    return abi_ffi, abi_ffi.dlopen(None)


if os.environ.get("FALCOPLUG_NO_FASTPATH") == "1":
    ffi, dl = _abi_mode()
    fastpath = None
else:
    try:
        from ._fastpath import ffi, lib as fastpath  # type: ignore[no-redef]

        dl = fastpath
    except ImportError:
        ffi, dl = _abi_mode()
        fastpath = None


def u64_buffer(values: Sequence[int]) -> Any:
    """u64 values as a buffer C can read: arrays and 'Q' memoryviews as they are, anything else copied."""
    if isinstance(values, array) and values.typecode == "Q":
        return values
    if isinstance(values, memoryview) and values.format == "Q":
        return values
    return array("Q", values)
