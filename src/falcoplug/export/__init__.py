"""Building a Python plugin into a shared library (cffi embedding) that real Falco loads.

One glue module per capability, paired with its C file, as the Rust SDK pairs each capability
trait with its wrappers: :mod:`.common` (``c/common.c``), :mod:`.source` (``c/source.c``),
:mod:`.extract` (``c/extract.c``); :mod:`.builder` assembles and compiles them, :mod:`.runtime`
runs inside the library.
"""

from .builder import BuildError, build_library, plan_build

__all__ = ["BuildError", "build_library", "plan_build"]
