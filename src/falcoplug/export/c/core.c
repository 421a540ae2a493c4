/*
 * falcoplug export: the core of a Python plugin built into a shared library.
 *
 * This file is compiled into every library `falcoplug build` makes, after the constants the
 * builder generates (FP_* macros) and before the code of each capability (common.c, source.c,
 * extract.c, tables.c, parse.c, async.c, listen.c, then natives.c). It starts Python on first use,
 * keeps the state handed to the host, and holds the helpers the entry points share.
 *
 * Two ways into Python are used, on purpose:
 * - cffi `extern "Python"` functions (fpy_*) for the calls a host makes rarely (init, open,
 *   close, progress, ...): typed access to the API structs from Python, and cffi's embedding
 *   starts the plugin's module;
 * - the CPython C API for the calls made per event or per batch (extract_fields, parse_event
 *   and next_batch): a cffi callback costs about 300-500 ns before any Python runs, a direct
 *   vectorcall a few tens, and values are converted here without building cdata objects.
 *   The other way, Python reaches the host's vtables (state tables, the async event handler,
 *   the routine vtable) through native functions (natives.c) taking Python ints and strings.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FP_EXPORT __attribute__((visibility("default")))
#define FP_UINT64_MAX ((uint64_t)-1)
#define FP_PLUGIN_EVENT 322
#define FP_EVENT_HEADER 38

/* A growable NUL-terminated string owned by the library (memory returned to the host). */
typedef struct fp_buf {
	char* p;
	size_t cap;
} fp_buf;

/* One prepared extraction request (see extract.c). */
typedef struct fp_plan fp_plan;

/* A table this plugin owns, as the host reaches it (see tables.c). */
typedef struct fp_owned fp_owned;

/* The state behind an ss_plugin_t*. */
typedef struct fp_state {
	uint64_t id;          /* key of the Python-side driver (0 before init succeeded) */
	PyObject* driver;     /* the PluginDriver, for the C-API paths */
	fp_buf last_error;
	/* extraction */
	fp_plan* plans;
	uint32_t nplans, lastplan;
	size_t plancap;
	PyObject* result;     /* the values of the last extract_fields call: strings point into it */
	uint64_t* u64;
	size_t u64cap;
	uint32_t* u32;
	size_t u32cap;
	const char** strs;
	size_t strcap;
	ss_plugin_byte_buffer* bufs;
	size_t bufcap;
	uint32_t* zeros;      /* value offsets: unknown (0/0) for every field */
	size_t zerocap;
	char* srcname;        /* the last event source seen, and its Python string */
	PyObject* srcobj;
	/* state tables: the host's vtables, from the last call that brought them */
	ss_plugin_owner_t* owner;
	const char* (*owner_error)(ss_plugin_owner_t*);
	const ss_plugin_init_tables_input* tables_in; /* during init only */
	ss_plugin_table_fields_vtable_ext* t_fields;
	ss_plugin_table_reader_vtable_ext* t_reader;
	ss_plugin_table_writer_vtable_ext* t_writer;
	fp_owned** owned;     /* the tables this plugin added */
	size_t nowned, ownedcap;
	/* parsing: the driver's parse function */
	PyObject* parse;
	/* async events: the handler while set, and dump_state's during the call */
	ss_plugin_owner_t* async_owner;
	ss_plugin_async_event_handler_t async_handler;
	ss_plugin_owner_t* dump_owner;
	ss_plugin_async_event_handler_t dump_handler;
	/* capture listening: the routine vtable of the last capture_open, and the routine runner */
	ss_plugin_owner_t* listen_owner;
	ss_plugin_routine_t* (*subscribe)(ss_plugin_owner_t*, ss_plugin_routine_fn_t, ss_plugin_routine_state_t*);
	ss_plugin_rc (*unsubscribe)(ss_plugin_owner_t*, ss_plugin_routine_t*);
	const char* (*listen_error)(ss_plugin_owner_t*);
	PyObject* routine;
} fp_state;

/* The state behind an ss_instance_t*. */
typedef struct fp_item {
	const char* p;
	uint32_t len;
	uint64_t ts;
} fp_item;

typedef struct fp_instance {
	uint64_t id;          /* key of the Python-side instance driver */
	PyObject* next;       /* its bound next_batch() */
	PyObject* items;      /* its writer's item list */
	uint8_t* data;        /* the batch: events laid end to end, reused by every call */
	size_t datacap;
	ss_plugin_event** evts;
	size_t evtcap;
	fp_item* scratch;     /* where each item's payload is, while the batch is laid out */
	size_t scratchcap;
} fp_instance;

/* Defined by the init code cffi runs when Python first enters this library. */
static int fpy_boot(char* err, size_t errlen);
/* natives.c: hands the native functions to the runtime, and binds a state's capabilities. */
static int fp_bind_natives(void);
static int fp_bind_capabilities(fp_state* s);
static void fp_unbind_capabilities(fp_state* s);

static pthread_once_t fp_once = PTHREAD_ONCE_INIT;
static int fp_boot_ok;
static char fp_boot_error[4096];
static PyObject* fp_runtime; /* falcoplug.export.runtime.Runtime, for the C-API paths */
static __thread int fp_thread_ready;

/* Make libpython's symbols global before Python starts: a host that dlopens this library with
 * RTLD_LOCAL (libsinsp does) would otherwise load libpython in local scope, and the extension
 * modules Python imports later could not resolve its symbols. */
__attribute__((constructor)) static void fp_promote_libpython(void) {
	/* The program's global scope (not this library's, which holds its own libpython) tells
	 * whether the process already has a Python: then there is nothing to promote. */
	void* program = dlopen(NULL, RTLD_NOW);
	int has_python = program != NULL && dlsym(program, "Py_IsInitialized") != NULL;
	if (program != NULL) dlclose(program);
	if (has_python) return;
	if (dlopen(FP_LIBPYTHON_SONAME, RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL) == NULL)
		dlopen(FP_LIBPYTHON_PATH, RTLD_NOW | RTLD_GLOBAL);
}

/* A process that already runs another Python version cannot run this library's code. */
static int fp_same_python(void) {
	char expected[16];
	snprintf(expected, sizeof expected, "%d.%d.", PY_MAJOR_VERSION, PY_MINOR_VERSION);
	const char* running = Py_GetVersion();
	if (strncmp(running, expected, strlen(expected)) == 0) return 1;
	snprintf(fp_boot_error, sizeof fp_boot_error,
	         "cannot start Python plugin %s: it was built for Python %d.%d, but this process runs Python %.10s",
	         FP_PLUGIN_NAME, PY_MAJOR_VERSION, PY_MINOR_VERSION, running);
	return 0;
}

static int fp_reserve(void** p, size_t* cap, size_t need, size_t elem) {
	if (need <= *cap) return 0;
	size_t ncap = *cap ? *cap : 16;
	while (ncap < need) ncap *= 2;
	void* np = realloc(*p, ncap * elem);
	if (np == NULL) return -1;
	*p = np;
	*cap = ncap;
	return 0;
}

static const char* fp_buf_set(fp_buf* b, const char* text, size_t len) {
	if (fp_reserve((void**)&b->p, &b->cap, len + 1, 1) != 0) return "";
	memcpy(b->p, text, len);
	b->p[len] = '\0';
	return b->p;
}

static void fp_errorf(fp_state* s, const char* fmt, ...) {
	char text[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	fp_buf_set(&s->last_error, text, strlen(text));
}

/* Called from Python (cffi) to report a failure of a rarely-called entry point. */
static void fp_set_error(fp_state* s, const char* msg, size_t len) {
	if (s != NULL) fp_buf_set(&s->last_error, msg, len);
}

/* The pending Python exception as the last error, prefixed by `context`; clears it. */
static void fp_error_from_python(fp_state* s, const char* context) {
	PyObject *type, *value, *tb;
	PyErr_Fetch(&type, &value, &tb);
	PyErr_NormalizeException(&type, &value, &tb);
	PyObject* text = value ? PyObject_Str(value) : NULL;
	const char* msg = text ? PyUnicode_AsUTF8(text) : NULL;
	if (msg == NULL) PyErr_Clear();
	fp_errorf(s, "%s: %s: %s", context, type ? ((PyTypeObject*)type)->tp_name : "error", msg ? msg : "");
	Py_XDECREF(text);
	Py_XDECREF(type);
	Py_XDECREF(value);
	Py_XDECREF(tb);
}

/* The driver's last_error (set by the SDK when plugin code failed) as the last error. */
static void fp_error_from_driver(fp_state* s, const char* fallback) {
	PyObject* err = PyObject_GetAttrString(s->driver, "last_error");
	Py_ssize_t len = 0;
	const char* msg = err ? PyUnicode_AsUTF8AndSize(err, &len) : NULL;
	if (msg == NULL || len == 0) {
		PyErr_Clear();
		fp_errorf(s, "%s", fallback);
	} else {
		fp_buf_set(&s->last_error, msg, (size_t)len);
	}
	Py_XDECREF(err);
}

/* Start the interpreter as the Python environment this library was built with: the program
 * name is that environment's python, so the standard library and site-packages (a virtualenv's
 * too, through its pyvenv.cfg) are found from any working directory. FALCOPLUG_PYTHON names
 * another interpreter. Signal handlers stay the host's. */
static int fp_start_python(void) {
	const char* exe = getenv("FALCOPLUG_PYTHON");
	if (exe != NULL && *exe != '\0') {
		/* Python takes the program name only as a hint and falls back to its built-in prefix when
		 * the file is not there: a wrong path would be silently ignored, so refuse it here. */
		struct stat st;
		int err = stat(exe, &st) != 0 ? errno : !S_ISREG(st.st_mode) ? EISDIR : access(exe, X_OK) != 0 ? errno : 0;
		if (err != 0) {
			snprintf(fp_boot_error, sizeof fp_boot_error,
			         "cannot start Python plugin %s: FALCOPLUG_PYTHON=%s does not name an executable file (%s)",
			         FP_PLUGIN_NAME, exe, err == EISDIR ? "not a regular file" : strerror(err));
			return 0;
		}
	} else {
		exe = FP_PYTHON_EXECUTABLE;
	}
	PyConfig config;
	PyConfig_InitPythonConfig(&config);
	config.install_signal_handlers = 0;
	config.parse_argv = 0;
	PyStatus status = PyConfig_SetBytesString(&config, &config.program_name, exe);
	if (!PyStatus_Exception(status)) status = Py_InitializeFromConfig(&config);
	PyConfig_Clear(&config);
	if (PyStatus_Exception(status)) {
		snprintf(fp_boot_error, sizeof fp_boot_error, "cannot start Python plugin %s: Python (%s) failed to start: %s",
		         FP_PLUGIN_NAME, exe, status.err_msg ? status.err_msg : "unknown error");
		return 0;
	}
	PyEval_SaveThread(); /* release the GIL: every entry point takes it when it needs it */
	return 1;
}

static void fp_boot(void) {
	if (Py_IsInitialized() ? !fp_same_python() : !fp_start_python()) return;
	fp_boot_error[0] = '\0';
	/* The first extern "Python" call makes cffi run this library's init code, which defines
	 * fpy_boot; it returns 0 (and cffi prints why) if even that failed. */
	if (fpy_boot(fp_boot_error, sizeof fp_boot_error) != 1) {
		if (fp_boot_error[0] == '\0')
			snprintf(fp_boot_error, sizeof fp_boot_error,
			         "cannot start Python plugin %s: the library's Python init code failed (see stderr)", FP_PLUGIN_NAME);
		return;
	}
	PyGILState_STATE gil = PyGILState_Ensure();
	PyObject* module = PyImport_ImportModule(FP_MODULE_NAME);
	fp_runtime = module ? PyObject_GetAttrString(module, "_falcoplug_runtime") : NULL;
	if (fp_runtime == NULL) {
		PyErr_Clear();
		snprintf(fp_boot_error, sizeof fp_boot_error, "cannot start Python plugin %s: its runtime was not registered",
		         FP_PLUGIN_NAME);
	}
	Py_XDECREF(module);
	if (fp_runtime != NULL && fp_bind_natives() != 0) {
		PyErr_Clear();
		snprintf(fp_boot_error, sizeof fp_boot_error, "cannot start Python plugin %s: its native functions were not bound",
		         FP_PLUGIN_NAME);
		Py_CLEAR(fp_runtime);
	}
	PyGILState_Release(gil);
	fp_boot_ok = fp_runtime != NULL;
}

/* Give the calling thread a Python thread state that outlives each call. Without it, every
 * call from a host thread would create and destroy one inside PyGILState_Ensure/Release,
 * which costs more than the rest of a small call. The state is deleted when the thread ends. */
static pthread_key_t fp_tstate_key;
static pthread_once_t fp_key_once = PTHREAD_ONCE_INIT;

static int fp_finalizing(void) {
#if PY_VERSION_HEX >= 0x030D0000
	return Py_IsFinalizing();
#else
	return _Py_IsFinalizing();
#endif
}

static void fp_drop_thread_state(void* tstate) {
	if (tstate == NULL || !Py_IsInitialized() || fp_finalizing()) return;
	PyEval_RestoreThread(tstate);
	PyThreadState_Clear(tstate);
	PyThreadState_DeleteCurrent(); /* also releases the GIL */
}

static void fp_make_key(void) { pthread_key_create(&fp_tstate_key, fp_drop_thread_state); }

static void fp_keep_thread_state(void) {
	fp_thread_ready = 1;
	if (PyGILState_GetThisThreadState() != NULL) return; /* a Python thread, or already kept */
	pthread_once(&fp_key_once, fp_make_key);
	(void)PyGILState_Ensure();
	pthread_setspecific(fp_tstate_key, PyEval_SaveThread());
}

/* Before any call into Python: 1 when Python and the plugin's module are ready. */
static int fp_enter(void) {
	pthread_once(&fp_once, fp_boot);
	if (!fp_boot_ok) return 0;
	if (!fp_thread_ready) fp_keep_thread_state();
	return 1;
}

/* A state that went through a successful init. */
static int fp_live(fp_state* s) {
	return s != NULL && s->driver != NULL && fp_enter();
}

#ifndef FP_HAS_EXTRACTION
static void fp_free_plans(fp_state* s) { (void)s; }
#endif

static char* fp_strdup(const char* text) {
	if (text == NULL) return NULL;
	size_t n = strlen(text) + 1;
	char* copy = malloc(n);
	if (copy != NULL) memcpy(copy, text, n);
	return copy;
}

/* The event source as a Python string, cached (it rarely changes from one event to the next).
 * Borrowed; NULL with an exception set on failure. */
static PyObject* fp_source(fp_state* s, const char* src) {
	if (src == NULL) return Py_None;
	if (s->srcobj != NULL && strcmp(s->srcname, src) == 0) return s->srcobj;
	PyObject* obj = PyUnicode_DecodeUTF8(src, strlen(src), "replace");
	char* copy = fp_strdup(src);
	if (obj == NULL || copy == NULL) {
		Py_XDECREF(obj);
		free(copy);
		if (!PyErr_Occurred()) PyErr_NoMemory();
		return NULL;
	}
	Py_XSETREF(s->srcobj, obj);
	free(s->srcname);
	s->srcname = copy;
	return obj;
}

/* The state's address, as the Python side passes it to the native functions. */
static PyObject* fp_state_addr(fp_state* s) { return PyLong_FromVoidPtr(s); }
