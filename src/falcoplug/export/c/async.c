/*
 * falcoplug export: the async events entry points. Paired with export/async_events.py.
 *
 * The host's handler (and dump_state's, during that call) is kept in the state; Python sends an
 * event with the native emit(state, which, event bytes), which calls the handler with the GIL
 * held (a host's handler only copies the event into its queue) and raises AsyncEventError with
 * the host's message when it refuses the event. On reset, the SDK closes the emitter (waiting for
 * an event being sent) and stops the plugin's threads before the handler is forgotten here, so
 * the host's handler is never called after set_async_event_handler(NULL) returns.
 */

static PyObject* fp_AsyncError; /* falcoplug.sdk.AsyncEventError */
static int fpy_set_async(fp_state* s, int on);
#ifdef FP_HAS_DUMP_STATE
static int fpy_dump_state(fp_state* s);
#endif

FP_EXPORT const char* plugin_get_async_events(void) { return FP_ASYNC_EVENTS; }

#ifdef FP_ASYNC_EVENT_SOURCES
FP_EXPORT const char* plugin_get_async_event_sources(void) { return FP_ASYNC_EVENT_SOURCES; }
#endif

FP_EXPORT ss_plugin_rc plugin_set_async_event_handler(ss_plugin_t* st, ss_plugin_owner_t* owner,
                                                      const ss_plugin_async_event_handler_t handler) {
	fp_state* s = st;
	if (!fp_live(s)) return SS_PLUGIN_FAILURE;
	if (handler != NULL) {
		s->async_owner = owner;
		s->async_handler = handler;
	}
	int rc = fpy_set_async(s, handler != NULL);
	if (handler == NULL || rc != SS_PLUGIN_SUCCESS) { /* the emitter is closed by now */
		s->async_handler = NULL;
		s->async_owner = NULL;
	}
	return (ss_plugin_rc)rc;
}

#ifdef FP_HAS_DUMP_STATE
FP_EXPORT ss_plugin_rc plugin_dump_state(ss_plugin_t* st, ss_plugin_owner_t* owner,
                                         const ss_plugin_async_event_handler_t handler) {
	fp_state* s = st;
	if (!fp_live(s) || handler == NULL) return SS_PLUGIN_FAILURE;
	s->dump_owner = owner;
	s->dump_handler = handler;
	int rc = fpy_dump_state(s);
	s->dump_handler = NULL;
	s->dump_owner = NULL;
	return (ss_plugin_rc)rc;
}
#endif

/* emit(state, which, event): which 0 sends through the async handler, 1 through dump_state's. */
static PyObject* fp_n_emit(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
	(void)self;
	if (nargs != 3) {
		PyErr_SetString(PyExc_TypeError, "emit takes 3 arguments");
		return NULL;
	}
	fp_state* s = PyLong_AsVoidPtr(args[0]);
	long which = PyLong_AsLong(args[1]);
	if (PyErr_Occurred()) return NULL;
	if (s == NULL) {
		PyErr_SetString(fp_AsyncError, "the plugin's state is gone (the host destroyed the plugin)");
		return NULL;
	}
	if (!PyBytes_Check(args[2]) || PyBytes_GET_SIZE(args[2]) < 26) {
		PyErr_SetString(PyExc_TypeError, "emit takes an encoded async event (bytes)");
		return NULL;
	}
	ss_plugin_async_event_handler_t handler = which ? s->dump_handler : s->async_handler;
	ss_plugin_owner_t* owner = which ? s->dump_owner : s->async_owner;
	if (handler == NULL) {
		PyErr_Format(fp_AsyncError, "async event sent with NULL handler: %s", FP_PLUGIN_NAME);
		return NULL;
	}
	char err[PLUGIN_MAX_ERRLEN];
	err[0] = '\0';
	ss_plugin_rc rc = handler(owner, (const ss_plugin_event*)PyBytes_AS_STRING(args[2]), err);
	if (rc != SS_PLUGIN_SUCCESS) {
		err[PLUGIN_MAX_ERRLEN - 1] = '\0';
		PyErr_SetString(fp_AsyncError, err[0] ? err : "the host refused the async event");
		return NULL;
	}
	Py_RETURN_NONE;
}

#define FP_ASYNC_NATIVES {"emit", (PyCFunction)(void (*)(void))fp_n_emit, METH_FASTCALL, NULL},
