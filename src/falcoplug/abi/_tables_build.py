"""cffi builder of the compiled table vtables and parse loop (``falcoplug.abi._tables``).

A module of its own beside ``_fastpath``: its C works on the host's Python table objects through
the CPython API (see ``c/tables.c``), so it is built against this Python's full API. Optional, as
the fast path is: without it the Python callbacks of ``tables/callbacks.py`` serve every call.
"""

from __future__ import annotations

import sys
from pathlib import Path

from cffi import FFI

sys.path.insert(0, str(Path(__file__).parent))
import _cdef  # noqa: E402  (loaded by path: the package is not importable while it builds)

HERE = Path(__file__).parent
C_FILES = ("tables.c", "parse.c")

# Plugin API types are opaque (void*) here: Python hands over addresses from the main FFI.
DECLARATIONS = """
typedef struct fpt_owner fpt_owner;
typedef struct fpt_field { int64_t index; int32_t type; int32_t read_only; void* schema; } fpt_field;
typedef struct fpt_access {
    int32_t kind; int32_t key_type; void* slow; const char* name; fpt_owner* owner;
    void* entries; void* table; void* reader; void* writer;
} fpt_access;
typedef struct fpt_parser {
    void* parse_event; void* state; void* input; const uint8_t* type_ok; uint32_t ntypes;
} fpt_parser;

size_t fpt_owner_size(void);
void fpt_owner_init(fpt_owner* owner, void* held);
void fpt_owner_hold(fpt_owner* owner, void* entry);
void fpt_owner_release(fpt_owner* owner, void* entry);
void fpt_owner_clear(fpt_owner* owner);
void fpt_set_slow(void* reader, void* writer, void* fields, void* propagate);
void fpt_fill_reader(void* reader);
void fpt_fill_writer(void* writer);
void fpt_fill_fields(void* fields);
int32_t fpt_parse_one(const fpt_parser* parser, const void* in);
int64_t fpt_parse_batch(const fpt_parser* parsers, uint32_t nparsers, const uint8_t* data, const uint64_t* offs,
                        uint32_t n, uint64_t first_num, const char* evtsrc, void* threads, void* ensure);
"""

# Small wrappers: the cdef above uses void* where the C takes the plugin API's types.
GLUE = """
size_t fpt_owner_size(void) { return sizeof(fpt_owner); }
void fpt_owner_init(fpt_owner* owner, void* held) { memset(owner, 0, sizeof(*owner)); owner->held = (PyObject*)held; }
"""

ffibuilder = FFI()
ffibuilder.cdef(DECLARATIONS)
ffibuilder.set_source(
    "falcoplug.abi._tables",
    "#include <string.h>\n#include <stdint.h>\n#include \"falcoplug/plugin_api.h\"\n"
    + "\n".join((HERE / "c" / name).read_text() for name in C_FILES)
    + GLUE,
    include_dirs=[str(_cdef.INCLUDE_DIR)],
    extra_compile_args=["-O2", "-Wno-incompatible-pointer-types", "-Wno-int-conversion"],
    define_macros=[("_CFFI_NO_LIMITED_API", None)],
    py_limited_api=False,
)

if __name__ == "__main__":
    ffibuilder.compile(tmpdir=str(HERE.parent.parent), verbose=True)
