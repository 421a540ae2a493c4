/*
 * falcoplug export: the entry points every plugin has (identity, init/destroy, last error) and
 * the optional common ones (init schema, set_config, metrics). Paired with export/common.py.
 *
 * Identity strings are constants baked in at build time, so a host can read them without
 * starting Python (and gets them even when the plugin's module cannot be imported).
 */

static int fpy_init(fp_state* s, const ss_plugin_init_input* in);
static void fpy_destroy(fp_state* s);

FP_EXPORT const char* plugin_get_required_api_version(void) { return FP_REQUIRED_API_VERSION; }
FP_EXPORT const char* plugin_get_version(void) { return FP_VERSION; }
FP_EXPORT const char* plugin_get_name(void) { return FP_PLUGIN_NAME; }
FP_EXPORT const char* plugin_get_description(void) { return FP_DESCRIPTION; }
FP_EXPORT const char* plugin_get_contact(void) { return FP_CONTACT; }

#ifdef FP_INIT_SCHEMA
FP_EXPORT const char* plugin_get_init_schema(ss_plugin_schema_type* schema_type) {
	*schema_type = SS_PLUGIN_SCHEMA_JSON;
	return FP_INIT_SCHEMA;
}
#endif

#ifdef FP_REQUIRED_EVENT_SCHEMA_VERSION
FP_EXPORT const char* plugin_get_required_event_schema_version(ss_plugin_t* s) {
	(void)s;
	return FP_REQUIRED_EVENT_SCHEMA_VERSION;
}
#endif

/* Fetch the Python objects the C-API paths use (the GIL is taken here). */
static int fp_bind_state(fp_state* s) {
	PyGILState_STATE gil = PyGILState_Ensure();
	s->driver = PyObject_CallMethod(fp_runtime, "driver", "K", (unsigned long long)s->id);
	if (s->driver == NULL || fp_bind_capabilities(s) != 0) {
		fp_error_from_python(s, "init");
		Py_CLEAR(s->driver);
	}
	PyGILState_Release(gil);
	return s->driver != NULL ? SS_PLUGIN_SUCCESS : SS_PLUGIN_FAILURE;
}

/* A state is returned even when init fails, so that the host can read the reason with
 * plugin_get_last_error (libsinsp does). */
FP_EXPORT ss_plugin_t* plugin_init(const ss_plugin_init_input* in, ss_plugin_rc* rc) {
	fp_state* s = calloc(1, sizeof *s);
	if (s == NULL) {
		*rc = SS_PLUGIN_FAILURE;
		return NULL;
	}
	if (!fp_enter()) {
		fp_buf_set(&s->last_error, fp_boot_error, strlen(fp_boot_error));
		*rc = SS_PLUGIN_FAILURE;
		return s;
	}
	/* The owner and the tables input (when the host gives one: to parsing and extracting
	 * plugins) serve the state tables; the tables input is valid during init only. */
	s->owner = in->owner;
	s->owner_error = in->get_owner_last_error;
	if (in->tables != NULL) {
		s->tables_in = in->tables;
		s->t_fields = in->tables->fields_ext;
		s->t_reader = in->tables->reader_ext;
		s->t_writer = in->tables->writer_ext;
	}
	int r = fpy_init(s, in);
	s->tables_in = NULL;
	if (r == SS_PLUGIN_SUCCESS) r = fp_bind_state(s);
	*rc = (ss_plugin_rc)r;
	return s;
}

static void fp_free_plans(fp_state* s); /* extract.c, or the stub below */

FP_EXPORT void plugin_destroy(ss_plugin_t* st) {
	fp_state* s = st;
	if (s == NULL) return;
	if (s->id != 0 && fp_enter()) {
		fpy_destroy(s);
		PyGILState_STATE gil = PyGILState_Ensure();
		fp_free_plans(s);
		fp_unbind_capabilities(s);
		Py_CLEAR(s->driver);
		Py_CLEAR(s->result);
		Py_CLEAR(s->srcobj);
		PyGILState_Release(gil);
	}
	free(s->last_error.p);
	free(s->u64);
	free(s->u32);
	free(s->strs);
	free(s->bufs);
	free(s->zeros);
	free(s->srcname);
	free(s);
}

FP_EXPORT const char* plugin_get_last_error(ss_plugin_t* st) {
	fp_state* s = st;
	return s != NULL && s->last_error.p != NULL ? s->last_error.p : "";
}

#ifdef FP_HAS_SET_CONFIG
static int fpy_set_config(fp_state* s, const ss_plugin_set_config_input* in);
FP_EXPORT ss_plugin_rc plugin_set_config(ss_plugin_t* st, const ss_plugin_set_config_input* in) {
	fp_state* s = st;
	if (!fp_live(s)) return SS_PLUGIN_FAILURE;
	return (ss_plugin_rc)fpy_set_config(s, in);
}
#endif

#ifdef FP_HAS_GET_METRICS
static ss_plugin_metric* fpy_get_metrics(fp_state* s, uint32_t* num_metrics);
FP_EXPORT ss_plugin_metric* plugin_get_metrics(ss_plugin_t* st, uint32_t* num_metrics) {
	fp_state* s = st;
	*num_metrics = 0;
	if (!fp_live(s)) return NULL;
	return fpy_get_metrics(s, num_metrics);
}
#endif
