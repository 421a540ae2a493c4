"""cffi builder of falcoplug's compiled fast path (``falcoplug.abi._fastpath``).

Run at install time through setuptools' ``cffi_modules``; optional: without a compiler the
package falls back to ABI mode (see ``abi/ffi.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from cffi import FFI

sys.path.insert(0, str(Path(__file__).parent))
import _cdef  # noqa: E402  (loaded by path: the package is not importable while it builds)

HERE = Path(__file__).parent

# The compiled core's C files, in build order (common.c first: the helpers the others use).
C_FILES = ("common.c", "loop.c", "extract.c", "render.c", "scan.c", "json.c", "async.c")

FASTPATH_DECLARATIONS = """
void fp_clobber_stack(void);
int fp_watch_signals(void);
int fp_stopped(void);
void fp_clear_stop(void);

typedef struct fp_batch {
    uint8_t* data; uint64_t len; uint64_t cap; uint64_t* offs; uint32_t n; uint64_t ocap;
} fp_batch;
typedef struct fp_loop {
    void* next_batch; ss_plugin_t* state; ss_instance_t* inst; uint32_t plugin_id;
    uint32_t max_events; uint64_t max_bytes; uint64_t max_wait_ns; fp_batch* out;
    int32_t rc; int32_t status; uint32_t index; uint64_t detail; uint32_t calls;
} fp_loop;
void fp_batch_free(fp_batch* b);
int fp_fill_batch(fp_loop* L);

typedef struct fp_stream { uint8_t* data; uint64_t len; uint64_t cap; } fp_stream;
typedef struct fp_values {
    uint32_t* counts; uint64_t ncounts; uint64_t countcap; fp_stream* streams; uint32_t nstreams;
    uint32_t* failures; int32_t one_per_call; int32_t field; uint64_t detail;
} fp_values;
int fp_values_init(fp_values* v, uint32_t nfields);
void fp_values_free(fp_values* v);
int fp_extract_batch(void* fn, ss_plugin_t* s, ss_plugin_field_extract_input* in,
                     const uint8_t* data, const uint64_t* offs, uint32_t n, const uint64_t* evtnums,
                     const char* evtsrc, const uint8_t* type_ok, fp_values* out);

typedef struct fp_render_part {
    int32_t kind; uint32_t column; uint32_t ftype; uint32_t width; const char* literal; uint32_t literal_len;
} fp_render_part;
void fp_stream_free(fp_stream* s);
int fp_render_batch(const fp_render_part* parts, uint32_t nparts, const fp_values* values, const uint32_t* ftypes,
                    uint32_t nfields, uint32_t n, uint64_t first_num, int require_all, uint64_t* cursor,
                    fp_stream* out);

int fp_uniform_source(const uint8_t* data, const uint64_t* offs, uint32_t n, uint16_t* type_out, uint32_t* id_out);
uint32_t fp_event_tids(const uint8_t* data, const uint64_t* offs, uint32_t n, int64_t* out);
int fp_json_plain(const char* text, uint64_t n);
uint32_t fp_scan_plugin_blocks(const uint8_t* buf, uint64_t end, uint64_t* pos, uint32_t max_blen, uint64_t* out,
                               uint32_t room);

typedef struct fp_async_queue fp_async_queue;
void fp_async_init(void* fallback);
fp_async_queue* fp_async_new(uint32_t capacity);
void fp_async_free(fp_async_queue* q);
void fp_async_clear(fp_async_queue* q);
int fp_async_register(fp_async_queue* q, void* owner, const char* names, uint32_t size, uint32_t nnames,
                      int32_t compatible, uint32_t open_plugin_id);
void fp_async_unregister(fp_async_queue* q);
ss_plugin_rc fp_async_handler(ss_plugin_owner_t* o, const ss_plugin_event* evt, char* err);
int fp_async_push(fp_async_queue* q, const uint8_t* raw, uint32_t len, uint64_t now_ns);
int64_t fp_async_merge(fp_async_queue* q, const uint8_t* data, const uint64_t* offs, uint32_t n,
                       uint64_t* last_ts, fp_batch* out);
void fp_async_stats(fp_async_queue* q, uint64_t* out);
"""

DL_DECLARATIONS = """
void* dlopen(const char* filename, int flags);
void* dlsym(void* handle, const char* symbol);
int dlclose(void* handle);
char* dlerror(void);
"""


def declare(ffi: FFI) -> None:
    """Every declaration the host uses, shared by the compiled and the ABI-mode FFI."""
    ffi.cdef(_cdef.packed_declarations(), packed=True)
    ffi.cdef(_cdef.declarations())
    ffi.cdef(_cdef.entry_point_typedefs())
    ffi.cdef(DL_DECLARATIONS)


ffibuilder = FFI()
declare(ffibuilder)
ffibuilder.cdef(FASTPATH_DECLARATIONS)
ffibuilder.set_source(
    "falcoplug.abi._fastpath",
    '#include <dlfcn.h>\n#include "falcoplug/plugin_api.h"\n'
    + _cdef.entry_point_typedefs()
    + "\n"
    + "\n".join((HERE / "c" / name).read_text() for name in C_FILES),
    include_dirs=[str(_cdef.INCLUDE_DIR)],
    extra_compile_args=["-O2"],
    libraries=["dl"],
)

if __name__ == "__main__":
    ffibuilder.compile(tmpdir=str(HERE.parent.parent), verbose=True)
