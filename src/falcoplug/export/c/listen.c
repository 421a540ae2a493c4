/*
 * falcoplug export: the capture listening entry points. Paired with export/listen.py.
 *
 * capture_open keeps the routine vtable; Python subscribes a routine with the native
 * subscribe(state, routine_id), which hands the host fp_routine and the routine's ID as its
 * state. The host's thread pool then calls fp_routine, which calls the runtime's routine runner
 * (through the CPython API) until it returns false.
 */

static int fpy_capture_open(fp_state* s);
static int fpy_capture_close(fp_state* s);

static void fp_listen_input(fp_state* s, const ss_plugin_capture_listen_input* in) {
	s->listen_owner = in->owner;
	if (in->routine != NULL) {
		s->subscribe = in->routine->subscribe;
		s->unsubscribe = in->routine->unsubscribe;
	}
	if (in->get_owner_last_error != NULL) s->listen_error = in->get_owner_last_error;
	if (in->table_reader_ext != NULL) s->t_reader = in->table_reader_ext;
	if (in->table_writer_ext != NULL) s->t_writer = in->table_writer_ext;
}

FP_EXPORT ss_plugin_rc plugin_capture_open(ss_plugin_t* st, const ss_plugin_capture_listen_input* in) {
	fp_state* s = st;
	if (!fp_live(s) || in == NULL) return SS_PLUGIN_FAILURE;
	fp_listen_input(s, in);
	return (ss_plugin_rc)fpy_capture_open(s);
}

FP_EXPORT ss_plugin_rc plugin_capture_close(ss_plugin_t* st, const ss_plugin_capture_listen_input* in) {
	fp_state* s = st;
	if (!fp_live(s) || in == NULL) return SS_PLUGIN_FAILURE;
	fp_listen_input(s, in);
	return (ss_plugin_rc)fpy_capture_close(s);
}

/* One run of a routine, on a host thread: 1 to run again. */
static ss_plugin_bool fp_routine(ss_plugin_t* st, ss_plugin_routine_state_t* rs) {
	fp_state* s = st;
	if (!fp_live(s) || s->routine == NULL) return 0;
	PyGILState_STATE gil = PyGILState_Ensure();
	PyObject* id = PyLong_FromVoidPtr(rs);
	PyObject* r = id != NULL ? PyObject_CallOneArg(s->routine, id) : NULL;
	int again = r != NULL ? PyObject_IsTrue(r) : 0;
	if (r == NULL || again < 0) {
		PyErr_Clear();
		again = 0;
	}
	Py_XDECREF(id);
	Py_XDECREF(r);
	PyGILState_Release(gil);
	return again == 1;
}

static PyObject* fp_listen_fail(fp_state* s, const char* fallback) {
	const char* err = s->listen_error != NULL ? s->listen_error(s->listen_owner) : NULL;
	PyErr_SetString(PyExc_RuntimeError, err != NULL && *err ? err : fallback);
	return NULL;
}

/* subscribe(state, routine_id) -> routine handle */
static PyObject* fp_n_subscribe(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
	(void)self;
	if (nargs != 2) {
		PyErr_SetString(PyExc_TypeError, "subscribe takes 2 arguments");
		return NULL;
	}
	fp_state* s = PyLong_AsVoidPtr(args[0]);
	void* rid = PyLong_AsVoidPtr(args[1]);
	if (PyErr_Occurred()) return NULL;
	if (s == NULL || rid == NULL) {
		PyErr_SetString(PyExc_RuntimeError, "the plugin's state is gone");
		return NULL;
	}
	if (s->subscribe == NULL) {
		PyErr_SetString(PyExc_RuntimeError, "the host gave no routine vtable");
		return NULL;
	}
	ss_plugin_routine_t* r = s->subscribe(s->listen_owner, fp_routine, rid);
	if (r == NULL) return fp_listen_fail(s, "subscribe failed");
	return PyLong_FromVoidPtr(r);
}

/* unsubscribe(state, handle) */
static PyObject* fp_n_unsubscribe(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
	(void)self;
	if (nargs != 2) {
		PyErr_SetString(PyExc_TypeError, "unsubscribe takes 2 arguments");
		return NULL;
	}
	fp_state* s = PyLong_AsVoidPtr(args[0]);
	void* handle = PyLong_AsVoidPtr(args[1]);
	if (PyErr_Occurred()) return NULL;
	if (s == NULL || s->unsubscribe == NULL) {
		PyErr_SetString(PyExc_RuntimeError, "the host gave no routine vtable");
		return NULL;
	}
	if (s->unsubscribe(s->listen_owner, handle) != SS_PLUGIN_SUCCESS) return fp_listen_fail(s, "unsubscribe failed");
	Py_RETURN_NONE;
}

#define FP_LISTEN_NATIVES                                                          \
	{"subscribe", (PyCFunction)(void (*)(void))fp_n_subscribe, METH_FASTCALL, NULL}, \
	{"unsubscribe", (PyCFunction)(void (*)(void))fp_n_unsubscribe, METH_FASTCALL, NULL},
