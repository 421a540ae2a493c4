/*
 * falcoplug export: the event sourcing entry points. Paired with export/source.py.
 *
 * next_batch is the hot path: one call into Python per batch (the instance's next_batch, which
 * fills its writer's list with payloads), then the events are laid out here, in C, into one
 * buffer per instance that is reused by every call, with the array of pointers the host reads.
 * Events are written complete (type 322, the plugin's ID, tid -1), so no host fix-up is needed.
 */

static int fpy_open(fp_state* s, fp_instance* inst, const char* params);
static void fpy_close(fp_state* s, fp_instance* inst);
static const char* fpy_get_progress(fp_state* s, fp_instance* inst, uint32_t* progress_pct);

FP_EXPORT uint32_t plugin_get_id(void) { return FP_ID; }
FP_EXPORT const char* plugin_get_event_source(void) { return FP_EVENT_SOURCE; }

static void fp_free_instance(fp_instance* inst) {
	if (inst->next != NULL || inst->items != NULL) {
		PyGILState_STATE gil = PyGILState_Ensure();
		Py_CLEAR(inst->next);
		Py_CLEAR(inst->items);
		PyGILState_Release(gil);
	}
	free(inst->data);
	free(inst->evts);
	free(inst->scratch);
	free(inst);
}

static int fp_bind_instance(fp_state* s, fp_instance* inst) {
	PyGILState_STATE gil = PyGILState_Ensure();
	PyObject* pair = PyObject_CallMethod(fp_runtime, "instance", "K", (unsigned long long)inst->id);
	int ok = pair != NULL && PyTuple_Check(pair) && PyTuple_GET_SIZE(pair) == 2;
	if (ok) {
		inst->next = Py_NewRef(PyTuple_GET_ITEM(pair, 0));
		inst->items = Py_NewRef(PyTuple_GET_ITEM(pair, 1));
		ok = PyList_Check(inst->items);
	}
	if (!ok) fp_error_from_python(s, "open");
	Py_XDECREF(pair);
	PyGILState_Release(gil);
	return ok ? SS_PLUGIN_SUCCESS : SS_PLUGIN_FAILURE;
}

FP_EXPORT ss_instance_t* plugin_open(ss_plugin_t* st, const char* params, ss_plugin_rc* rc) {
	fp_state* s = st;
	*rc = SS_PLUGIN_FAILURE;
	if (!fp_live(s)) return NULL;
	fp_instance* inst = calloc(1, sizeof *inst);
	if (inst == NULL) {
		fp_errorf(s, "open: out of memory");
		return NULL;
	}
	int r = fpy_open(s, inst, params != NULL ? params : "");
	if (r == SS_PLUGIN_SUCCESS) r = fp_bind_instance(s, inst);
	if (r != SS_PLUGIN_SUCCESS) {
		if (inst->id != 0) fpy_close(s, inst);
		fp_free_instance(inst);
		return NULL;
	}
	*rc = SS_PLUGIN_SUCCESS;
	return inst;
}

FP_EXPORT void plugin_close(ss_plugin_t* st, ss_instance_t* h) {
	fp_state* s = st;
	fp_instance* inst = h;
	if (inst == NULL) return;
	if (fp_live(s)) fpy_close(s, inst);
	fp_free_instance(inst);
}

/* One batch item: a payload (bytes, bytearray or str) or a (payload, ts) pair. */
static int fp_read_item(fp_state* s, PyObject* item, fp_item* out) {
	PyObject* payload = item;
	out->ts = FP_UINT64_MAX;
	if (PyTuple_CheckExact(item)) {
		if (PyTuple_GET_SIZE(item) != 2) {
			fp_errorf(s, "next_batch: a batch item must be a payload or (payload, ts), got a tuple of %zd",
			          PyTuple_GET_SIZE(item));
			return -1;
		}
		payload = PyTuple_GET_ITEM(item, 0);
		PyObject* ts = PyTuple_GET_ITEM(item, 1);
		out->ts = PyLong_Check(ts) ? PyLong_AsUnsignedLongLong(ts) : (uint64_t)-1;
		if (!PyLong_Check(ts) || (out->ts == (uint64_t)-1 && PyErr_Occurred())) {
			PyErr_Clear();
			fp_errorf(s, "next_batch: an event timestamp must be int nanoseconds, got %s", Py_TYPE(ts)->tp_name);
			return -1;
		}
	}
	Py_ssize_t len;
	if (PyBytes_Check(payload)) {
		out->p = PyBytes_AS_STRING(payload);
		len = PyBytes_GET_SIZE(payload);
	} else if (PyUnicode_Check(payload)) {
		out->p = PyUnicode_AsUTF8AndSize(payload, &len);
		if (out->p == NULL) {
			fp_error_from_python(s, "next_batch: an event payload");
			return -1;
		}
	} else if (PyByteArray_Check(payload)) {
		out->p = PyByteArray_AS_STRING(payload);
		len = PyByteArray_GET_SIZE(payload);
	} else {
		fp_errorf(s, "next_batch: an event payload must be bytes or str, got %s", Py_TYPE(payload)->tp_name);
		return -1;
	}
	if (len > FP_MAX_EVENT_SIZE) {
		fp_errorf(s, "next_batch: an event of %zd bytes exceeds max_event_size (%d)", len, FP_MAX_EVENT_SIZE);
		return -1;
	}
	out->len = (uint32_t)len;
	return 0;
}

/* Lay the writer's items out as plugin events; returns the number of events or -1. */
static int64_t fp_layout(fp_state* s, fp_instance* inst) {
	PyObject* items = inst->items;
	Py_ssize_t n = PyList_GET_SIZE(items);
	if (fp_reserve((void**)&inst->scratch, &inst->scratchcap, (size_t)n, sizeof(fp_item)) != 0 ||
	    fp_reserve((void**)&inst->evts, &inst->evtcap, (size_t)n, sizeof(ss_plugin_event*)) != 0) {
		fp_errorf(s, "next_batch: out of memory");
		return -1;
	}
	size_t total = 0;
	for (Py_ssize_t i = 0; i < n; i++) {
		if (fp_read_item(s, PyList_GET_ITEM(items, i), &inst->scratch[i]) != 0) return -1;
		total += FP_EVENT_HEADER + inst->scratch[i].len;
	}
	if (fp_reserve((void**)&inst->data, &inst->datacap, total, 1) != 0) {
		fp_errorf(s, "next_batch: out of memory for %zu bytes of events", total);
		return -1;
	}
	uint8_t* pos = inst->data;
	for (Py_ssize_t i = 0; i < n; i++) {
		const fp_item* it = &inst->scratch[i];
		ss_plugin_event* e = (ss_plugin_event*)pos;
		e->ts = it->ts;
		e->tid = FP_UINT64_MAX;
		e->len = FP_EVENT_HEADER + it->len;
		e->type = FP_PLUGIN_EVENT;
		e->nparams = 2;
		uint32_t lens[3] = {4, it->len, FP_ID};
		memcpy(pos + 26, lens, sizeof lens);
		memcpy(pos + FP_EVENT_HEADER, it->p, it->len);
		inst->evts[i] = e;
		pos += FP_EVENT_HEADER + it->len;
	}
	return (int64_t)n;
}

FP_EXPORT ss_plugin_rc plugin_next_batch(ss_plugin_t* st, ss_instance_t* h, uint32_t* nevts, ss_plugin_event*** evts) {
	fp_state* s = st;
	fp_instance* inst = h;
	*nevts = 0;
	*evts = NULL;
	if (!fp_live(s) || inst == NULL) return SS_PLUGIN_FAILURE;
	PyGILState_STATE gil = PyGILState_Ensure();
	ss_plugin_rc rc = SS_PLUGIN_FAILURE;
	PyObject* result = PyObject_CallNoArgs(inst->next);
	if (result == NULL) {
		fp_error_from_python(s, "next_batch");
	} else {
		long r = PyLong_AsLong(result);
		Py_DECREF(result);
		if (r == -1 && PyErr_Occurred()) {
			fp_error_from_python(s, "next_batch");
			r = SS_PLUGIN_FAILURE;
		}
		rc = (ss_plugin_rc)r;
		if (rc == SS_PLUGIN_FAILURE) fp_error_from_driver(s, "next_batch failed");
		/* Events written before a failure or EOF are delivered too, as libscap expects. */
		int64_t n = fp_layout(s, inst);
		if (n < 0) {
			rc = SS_PLUGIN_FAILURE;
		} else {
			*nevts = (uint32_t)n;
			*evts = inst->evts;
		}
	}
	PyGILState_Release(gil);
	return rc;
}

FP_EXPORT const char* plugin_get_progress(ss_plugin_t* st, ss_instance_t* h, uint32_t* progress_pct) {
	fp_state* s = st;
	*progress_pct = 0;
	if (!fp_live(s) || h == NULL) return NULL;
	return fpy_get_progress(s, h, progress_pct);
}

#ifdef FP_HAS_LIST_OPEN_PARAMS
static const char* fpy_list_open_params(fp_state* s, ss_plugin_rc* rc);
FP_EXPORT const char* plugin_list_open_params(ss_plugin_t* st, ss_plugin_rc* rc) {
	fp_state* s = st;
	*rc = SS_PLUGIN_FAILURE;
	if (!fp_live(s)) return NULL;
	return fpy_list_open_params(s, rc);
}
#endif

#ifdef FP_HAS_EVENT_TO_STRING
static const char* fpy_event_to_string(fp_state* s, const ss_plugin_event_input* evt);
FP_EXPORT const char* plugin_event_to_string(ss_plugin_t* st, const ss_plugin_event_input* evt) {
	fp_state* s = st;
	if (!fp_live(s) || evt == NULL || evt->evt == NULL) return NULL;
	return fpy_event_to_string(s, evt);
}
#endif
