/*
 * falcoplug export: the event parsing entry points. Paired with export/parse.py.
 *
 * parse_event is called for every event: like extract_fields it makes one Python call through
 * the CPython API, run(data, evtnum, source), the SDK's parse runner, which returns the rc. The
 * parse input's reader and writer become the vtables the plugin's tables use.
 */

#ifdef FP_PARSE_EVENT_SOURCES
FP_EXPORT const char* plugin_get_parse_event_sources(void) { return FP_PARSE_EVENT_SOURCES; }
#endif

#ifdef FP_PARSE_EVENT_TYPES
static uint16_t fp_parse_event_types[] = {FP_PARSE_EVENT_TYPES};
FP_EXPORT uint16_t* plugin_get_parse_event_types(uint32_t* numtypes, ss_plugin_t* s) {
	(void)s;
	*numtypes = sizeof fp_parse_event_types / sizeof fp_parse_event_types[0];
	return fp_parse_event_types;
}
#endif

FP_EXPORT ss_plugin_rc plugin_parse_event(ss_plugin_t* st, const ss_plugin_event_input* evt,
                                          const ss_plugin_event_parse_input* in) {
	fp_state* s = st;
	if (!fp_live(s) || evt == NULL || evt->evt == NULL || s->parse == NULL) return SS_PLUGIN_FAILURE;
	if (in != NULL) {
		if (in->table_reader_ext != NULL) s->t_reader = in->table_reader_ext;
		if (in->table_writer_ext != NULL) s->t_writer = in->table_writer_ext;
	}
	PyGILState_STATE gil = PyGILState_Ensure();
	ss_plugin_rc rc = SS_PLUGIN_FAILURE;
	PyObject* source = fp_source(s, evt->evtsrc);
	PyObject* data = PyBytes_FromStringAndSize((const char*)evt->evt, evt->evt->len);
	PyObject* num = PyLong_FromUnsignedLongLong(evt->evtnum);
	PyObject* result = NULL;
	if (source != NULL && data != NULL && num != NULL) {
		PyObject* args[3] = {data, num, source};
		result = PyObject_Vectorcall(s->parse, args, 3, NULL);
	}
	Py_XDECREF(data);
	Py_XDECREF(num);
	if (result == NULL) {
		fp_error_from_python(s, "parse_event");
	} else {
		long r = PyLong_AsLong(result);
		Py_DECREF(result);
		if (r == -1 && PyErr_Occurred()) {
			fp_error_from_python(s, "parse_event");
		} else {
			rc = (ss_plugin_rc)r;
			if (rc != SS_PLUGIN_SUCCESS) fp_error_from_driver(s, "parse_event failed");
		}
	}
	PyGILState_Release(gil);
	return rc;
}
