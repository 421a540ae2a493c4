"""Turn falcoplug's C header into the declarations cffi reads.

The header is the single declaration of the plugin API: C plugins include it, and the host
feeds the regions between its ``@cdef`` markers to cffi. Preprocessor lines are dropped
because cffi's parser does not take them.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

HEADER = Path(__file__).parent / "include" / "falcoplug" / "plugin_api.h"
INCLUDE_DIR = HEADER.parent.parent

_PROTOTYPE = re.compile(r"^(?P<ret>.+?)\bplugin_(?P<name>\w+)\((?P<args>.*)\);$")


def _region(text: str, tag: str) -> str:
    start = text.index(f"/* @{tag}-begin */") + len(f"/* @{tag}-begin */")
    end = text.index(f"/* @{tag}-end */")
    lines = [ln for ln in text[start:end].splitlines() if not ln.lstrip().startswith("#")]
    return "\n".join(lines)


@cache
def header_text() -> str:
    return HEADER.read_text()


def packed_declarations() -> str:
    """The event header, which libscap packs to 26 bytes."""
    return _region(header_text(), "cdef-packed")


def declarations() -> str:
    """Every type, enum and callback of the API (not packed)."""
    return _region(header_text(), "cdef")


@cache
def entry_points() -> dict[str, tuple[str, str]]:
    """``{name: (return type, argument list)}`` of the exported ``plugin_*`` functions, in slot order."""
    points: dict[str, tuple[str, str]] = {}
    for line in _region(header_text(), "cdef-exports").splitlines():
        match = _PROTOTYPE.match(line.strip())
        if match:
            points[match["name"]] = (match["ret"].strip(), match["args"])
    return points


def entry_point_typedefs() -> str:
    """One function-pointer type per entry point, ``fp_<name>_t``, to call a symbol found by dlsym."""
    return "\n".join(
        f"typedef {ret} (*fp_{name}_t)({args});" for name, (ret, args) in entry_points().items()
    )
