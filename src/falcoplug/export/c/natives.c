/*
 * falcoplug export: the native functions Python calls (tables, async events, routines), handed to
 * the runtime once Python started, and the per-state Python objects of each capability. Always
 * the last C file of a library.
 */

static PyMethodDef fp_natives[] = {
#ifdef FP_HAS_TABLES
	FP_TABLE_NATIVES
#endif
#ifdef FP_HAS_ASYNC
	FP_ASYNC_NATIVES
#endif
#ifdef FP_HAS_LISTENING
	FP_LISTEN_NATIVES
#endif
	{NULL, NULL, 0, NULL},
};

/* Called once, with the GIL, after the runtime started: 0 on success. */
static int fp_bind_natives(void) {
#ifdef FP_HAS_TABLES
	fp_TableError = PyObject_GetAttrString(fp_runtime, "table_error");
	fp_str_addr = PyUnicode_InternFromString("addr");
	fp_HeldType = (PyTypeObject*)PyType_FromSpec(&fp_held_spec);
	if (fp_TableError == NULL || fp_str_addr == NULL || fp_HeldType == NULL) return -1;
#endif
#ifdef FP_HAS_ASYNC
	fp_AsyncError = PyObject_GetAttrString(fp_runtime, "async_error");
	if (fp_AsyncError == NULL) return -1;
#endif
	PyObject* natives = PyDict_New();
	if (natives == NULL) return -1;
	for (PyMethodDef* def = fp_natives; def->ml_name != NULL; def++) {
		PyObject* fn = PyCFunction_NewEx(def, NULL, NULL);
		if (fn == NULL || PyDict_SetItemString(natives, def->ml_name, fn) != 0) {
			Py_XDECREF(fn);
			Py_DECREF(natives);
			return -1;
		}
		Py_DECREF(fn);
	}
	PyObject* r = PyObject_CallMethod(fp_runtime, "bind_natives", "O", natives);
	Py_DECREF(natives);
	if (r == NULL) return -1;
	Py_DECREF(r);
	return 0;
}

/* The Python objects of a state's capabilities (GIL held): parse runner, routine runner. */
static int fp_bind_capabilities(fp_state* s) {
#ifdef FP_HAS_PARSING
	s->parse = PyObject_CallMethod(fp_runtime, "parser", "K", (unsigned long long)s->id);
	if (s->parse == NULL) return -1;
#endif
#ifdef FP_HAS_LISTENING
	s->routine = PyObject_CallMethod(fp_runtime, "router", "K", (unsigned long long)s->id);
	if (s->routine == NULL) return -1;
#endif
	(void)s;
	return 0;
}

static void fp_unbind_capabilities(fp_state* s) {
	Py_CLEAR(s->parse);
	Py_CLEAR(s->routine);
#ifdef FP_HAS_TABLES
	fp_free_owned(s);
#endif
}
