/*
 * falcoplug export: the field extraction entry points. Paired with export/extract.py.
 *
 * extract_fields is the hot path. The fields a host asks for are matched against the requests
 * seen before (libsinsp builds the request on its stack for every call, so the match is on the
 * contents: field IDs and arguments); a new request becomes a plan, prepared once in Python.
 * Each call then makes one Python call, run(data, payload, evtnum, source), which returns one
 * value per field; the values are checked and written here into arrays the state owns. The
 * tuple of values is kept until the next call, so that strings can point into it without a copy.
 */

struct fp_plan {
	uint32_t nfields;
	uint32_t* ids;
	uint64_t* index;
	uint32_t* present;
	char** keys;     /* copies of the key arguments (NULL: none) */
	char** names;    /* field names, for messages */
	uint32_t* ftypes;
	uint32_t* lists;
	PyObject* run;
};

FP_EXPORT const char* plugin_get_fields(void) { return FP_FIELDS_JSON; }

#ifdef FP_EXTRACT_EVENT_SOURCES
FP_EXPORT const char* plugin_get_extract_event_sources(void) { return FP_EXTRACT_EVENT_SOURCES; }
#endif

#ifdef FP_EXTRACT_EVENT_TYPES
static uint16_t fp_extract_event_types[] = {FP_EXTRACT_EVENT_TYPES};
FP_EXPORT uint16_t* plugin_get_extract_event_types(uint32_t* numtypes, ss_plugin_t* s) {
	(void)s;
	*numtypes = sizeof fp_extract_event_types / sizeof fp_extract_event_types[0];
	return fp_extract_event_types;
}
#endif

static void fp_plan_clear(fp_plan* p) {
	for (uint32_t j = 0; j < p->nfields; j++) {
		if (p->keys) free(p->keys[j]);
		if (p->names) free(p->names[j]);
	}
	free(p->ids);
	free(p->index);
	free(p->present);
	free(p->keys);
	free(p->names);
	free(p->ftypes);
	free(p->lists);
	Py_CLEAR(p->run);
	memset(p, 0, sizeof *p);
}

static void fp_free_plans(fp_state* s) {
	for (uint32_t i = 0; i < s->nplans; i++) fp_plan_clear(&s->plans[i]);
	free(s->plans);
	s->plans = NULL;
	s->nplans = s->plancap = 0;
}

static int fp_plan_matches(const fp_plan* p, const ss_plugin_field_extract_input* in) {
	if (p->nfields != in->num_fields) return 0;
	for (uint32_t j = 0; j < p->nfields; j++) {
		const ss_plugin_extract_field* f = &in->fields[j];
		if (f->field_id != p->ids[j] || (f->arg_present != 0) != (p->present[j] != 0)) return 0;
		if (!f->arg_present) continue;
		if (f->arg_index != p->index[j]) return 0;
		if ((f->arg_key == NULL) != (p->keys[j] == NULL)) return 0;
		if (f->arg_key != NULL && strcmp(f->arg_key, p->keys[j]) != 0) return 0;
	}
	return 1;
}

/* The request as Python sees it: [(field_id, name, ftype, is_list, arg_key, arg_index), ...]. */
static PyObject* fp_requests(const ss_plugin_field_extract_input* in) {
	PyObject* list = PyList_New(in->num_fields);
	if (list == NULL) return NULL;
	for (uint32_t j = 0; j < in->num_fields; j++) {
		const ss_plugin_extract_field* f = &in->fields[j];
		int has_index = f->arg_present && f->arg_index != FP_UINT64_MAX;
		PyObject* key = f->arg_present && f->arg_key != NULL ? PyUnicode_DecodeUTF8(f->arg_key, strlen(f->arg_key), "replace")
		                                                      : Py_NewRef(Py_None);
		PyObject* index = has_index ? PyLong_FromUnsignedLongLong(f->arg_index) : Py_NewRef(Py_None);
		PyObject* item = key && index ? Py_BuildValue("(IsIOOO)", f->field_id, f->field ? f->field : "", f->ftype,
		                                              f->flist ? Py_True : Py_False, key, index)
		                              : NULL;
		Py_XDECREF(key);
		Py_XDECREF(index);
		if (item == NULL) {
			Py_DECREF(list);
			return NULL;
		}
		PyList_SET_ITEM(list, j, item);
	}
	return list;
}

static fp_plan* fp_new_plan(fp_state* s, const ss_plugin_field_extract_input* in) {
	PyObject* requests = fp_requests(in);
	PyObject* run = requests ? PyObject_CallMethod(fp_runtime, "plan", "KO", (unsigned long long)s->id, requests) : NULL;
	Py_XDECREF(requests);
	if (run == NULL) {
		fp_error_from_python(s, "extract_fields");
		return NULL;
	}
	if (fp_reserve((void**)&s->plans, &s->plancap, s->nplans + 1, sizeof(fp_plan)) != 0) {
		Py_DECREF(run);
		fp_errorf(s, "extract_fields: out of memory");
		return NULL;
	}
	fp_plan* p = &s->plans[s->nplans];
	memset(p, 0, sizeof *p);
	uint32_t n = in->num_fields;
	p->ids = calloc(n ? n : 1, sizeof *p->ids);
	p->index = calloc(n ? n : 1, sizeof *p->index);
	p->present = calloc(n ? n : 1, sizeof *p->present);
	p->keys = calloc(n ? n : 1, sizeof *p->keys);
	p->names = calloc(n ? n : 1, sizeof *p->names);
	p->ftypes = calloc(n ? n : 1, sizeof *p->ftypes);
	p->lists = calloc(n ? n : 1, sizeof *p->lists);
	p->nfields = n;
	p->run = run;
	if (!p->ids || !p->index || !p->present || !p->keys || !p->names || !p->ftypes || !p->lists) {
		fp_plan_clear(p);
		fp_errorf(s, "extract_fields: out of memory");
		return NULL;
	}
	for (uint32_t j = 0; j < n; j++) {
		const ss_plugin_extract_field* f = &in->fields[j];
		p->ids[j] = f->field_id;
		p->present[j] = f->arg_present != 0;
		p->index[j] = f->arg_index;
		p->keys[j] = f->arg_present ? fp_strdup(f->arg_key) : NULL;
		p->names[j] = fp_strdup(f->field ? f->field : "");
		p->ftypes[j] = f->ftype;
		p->lists[j] = f->flist != 0;
	}
	s->nplans++;
	return p;
}

static fp_plan* fp_find_plan(fp_state* s, const ss_plugin_field_extract_input* in) {
	if (s->lastplan < s->nplans && fp_plan_matches(&s->plans[s->lastplan], in)) return &s->plans[s->lastplan];
	for (uint32_t i = 0; i < s->nplans; i++) {
		if (fp_plan_matches(&s->plans[i], in)) {
			s->lastplan = i;
			return &s->plans[i];
		}
	}
	fp_plan* p = fp_new_plan(s, in);
	if (p != NULL) s->lastplan = (uint32_t)(p - s->plans);
	return p;
}

enum { FP_KIND_U64, FP_KIND_BOOL, FP_KIND_STR, FP_KIND_BUF, FP_KIND_BAD };

static int fp_kind(uint32_t ftype) {
	switch (ftype) {
	case FTYPE_UINT64:
	case FTYPE_RELTIME:
	case FTYPE_ABSTIME:
		return FP_KIND_U64;
	case FTYPE_BOOL:
		return FP_KIND_BOOL;
	case FTYPE_STRING:
		return FP_KIND_STR;
	case FTYPE_IPADDR:
	case FTYPE_IPNET:
		return FP_KIND_BUF;
	default:
		return FP_KIND_BAD;
	}
}

static int fp_value_error(fp_state* s, const fp_plan* p, uint32_t j, const char* expected, PyObject* got) {
	fp_errorf(s, "extract_fields: %s: expected %s, got %s", p->names[j], expected, Py_TYPE(got)->tp_name);
	return -1;
}

/* Write one value (item k of field j) into the state's arrays. */
static int fp_put(fp_state* s, const fp_plan* p, uint32_t j, PyObject* x, size_t at) {
	switch (fp_kind(p->ftypes[j])) {
	case FP_KIND_U64: {
		if (!PyLong_Check(x)) return fp_value_error(s, p, j, "an int", x);
		unsigned long long v = PyLong_AsUnsignedLongLong(x);
		if (v == (unsigned long long)-1 && PyErr_Occurred()) {
			PyErr_Clear();
			fp_errorf(s, "extract_fields: %s: value does not fit in an unsigned 64-bit integer", p->names[j]);
			return -1;
		}
		s->u64[at] = v;
		return 0;
	}
	case FP_KIND_BOOL:
		if (!PyLong_Check(x)) return fp_value_error(s, p, j, "a bool", x);
		s->u32[at] = x == Py_True ? 1 : (x == Py_False ? 0 : PyObject_IsTrue(x) == 1);
		return 0;
	case FP_KIND_STR: {
		if (!PyUnicode_Check(x)) return fp_value_error(s, p, j, "a str", x);
		Py_ssize_t len;
		const char* text = PyUnicode_AsUTF8AndSize(x, &len);
		if (text == NULL) {
			fp_error_from_python(s, "extract_fields");
			return -1;
		}
		if ((size_t)len != strlen(text)) {
			fp_errorf(s, "extract_fields: %s: FieldValueError: a string value may not hold a NUL character", p->names[j]);
			return -1;
		}
		s->strs[at] = text;
		return 0;
	}
	case FP_KIND_BUF:
		if (!PyBytes_Check(x)) return fp_value_error(s, p, j, "an IP address", x);
		s->bufs[at].ptr = PyBytes_AS_STRING(x);
		s->bufs[at].len = (uint32_t)PyBytes_GET_SIZE(x);
		return 0;
	default:
		fp_errorf(s, "extract_fields: %s: unsupported field type %u", p->names[j], p->ftypes[j]);
		return -1;
	}
}

/* How many values field j has (-1 on a bad value), and where they are. */
static Py_ssize_t fp_count(fp_state* s, const fp_plan* p, uint32_t j, PyObject* v, PyObject*** items) {
	if (v == Py_None) return 0;
	if (!p->lists[j]) {
		*items = NULL;
		return 1;
	}
	if (!PyList_Check(v) && !PyTuple_Check(v)) {
		fp_value_error(s, p, j, "a list", v);
		return -1;
	}
	*items = PySequence_Fast_ITEMS(v);
	return PySequence_Fast_GET_SIZE(v);
}

static int fp_store(fp_state* s, const fp_plan* p, PyObject* values, const ss_plugin_field_extract_input* in) {
	if (!PyTuple_Check(values) || PyTuple_GET_SIZE(values) != (Py_ssize_t)p->nfields) {
		fp_errorf(s, "extract_fields: the plan returned %s instead of one value per field", Py_TYPE(values)->tp_name);
		return -1;
	}
	size_t need[4] = {0, 0, 0, 0}, total = 0;
	for (uint32_t j = 0; j < p->nfields; j++) {
		PyObject** items;
		Py_ssize_t n = fp_count(s, p, j, PyTuple_GET_ITEM(values, j), &items);
		int kind = fp_kind(p->ftypes[j]);
		if (n < 0) return -1;
		if (kind != FP_KIND_BAD) need[kind] += (size_t)n;
		total += (size_t)n;
	}
	if (fp_reserve((void**)&s->u64, &s->u64cap, need[FP_KIND_U64], sizeof *s->u64) != 0 ||
	    fp_reserve((void**)&s->u32, &s->u32cap, need[FP_KIND_BOOL], sizeof *s->u32) != 0 ||
	    fp_reserve((void**)&s->strs, &s->strcap, need[FP_KIND_STR], sizeof *s->strs) != 0 ||
	    fp_reserve((void**)&s->bufs, &s->bufcap, need[FP_KIND_BUF], sizeof *s->bufs) != 0) {
		fp_errorf(s, "extract_fields: out of memory");
		return -1;
	}
	size_t at[4] = {0, 0, 0, 0};
	for (uint32_t j = 0; j < p->nfields; j++) {
		PyObject* v = PyTuple_GET_ITEM(values, j);
		PyObject** items = NULL;
		Py_ssize_t n = fp_count(s, p, j, v, &items);
		int kind = fp_kind(p->ftypes[j]);
		for (Py_ssize_t k = 0; k < n; k++) {
			if (fp_put(s, p, j, items ? items[k] : v, at[kind] + (size_t)k) != 0) return -1;
		}
		ss_plugin_extract_field* f = &in->fields[j];
		switch (kind) {
		case FP_KIND_U64: f->res.u64 = s->u64 + at[kind]; break;
		case FP_KIND_BOOL: f->res.boolean = s->u32 + at[kind]; break;
		case FP_KIND_STR: f->res.str = s->strs + at[kind]; break;
		case FP_KIND_BUF: f->res.buf = s->bufs + at[kind]; break;
		default: break;
		}
		f->res_len = (uint64_t)n;
		at[kind == FP_KIND_BAD ? 0 : kind] += (size_t)n;
	}
	if (in->value_offsets != NULL) {
		/* Byte ranges of values are not known to Python methods: report them as unknown (0/0). */
		size_t n = total > p->nfields ? total : p->nfields;
		if (fp_reserve((void**)&s->zeros, &s->zerocap, n, sizeof *s->zeros) != 0) return -1;
		memset(s->zeros, 0, n * sizeof *s->zeros);
		in->value_offsets->start = s->zeros;
		in->value_offsets->length = s->zeros;
	}
	return 0;
}

static ss_plugin_rc fp_extract(fp_state* s, const ss_plugin_event_input* evt, const ss_plugin_field_extract_input* in) {
	fp_plan* p = fp_find_plan(s, in);
	if (p == NULL) return SS_PLUGIN_FAILURE;
	const ss_plugin_event* e = evt->evt;
	const char* raw = (const char*)e;
	uint32_t len = e->len;
	PyObject* source = fp_source(s, evt->evtsrc);
	PyObject* data = PyBytes_FromStringAndSize(raw, len);
	PyObject* payload = e->type == FP_PLUGIN_EVENT && len >= FP_EVENT_HEADER
	                        ? PyBytes_FromStringAndSize(raw + FP_EVENT_HEADER, len - FP_EVENT_HEADER)
	                        : PyBytes_FromStringAndSize(NULL, 0); /* not a plugin event: b"" */
	PyObject* num = PyLong_FromUnsignedLongLong(evt->evtnum);
	PyObject* values = NULL;
	if (source != NULL && data != NULL && payload != NULL && num != NULL) {
		PyObject* args[4] = {data, payload, num, source};
		values = PyObject_Vectorcall(p->run, args, 4, NULL);
	}
	Py_XDECREF(data);
	Py_XDECREF(payload);
	Py_XDECREF(num);
	if (values == NULL) {
		fp_error_from_python(s, "extract_fields");
		return SS_PLUGIN_FAILURE;
	}
	if (values == Py_None) { /* plugin code raised: the SDK kept the message */
		Py_DECREF(values);
		fp_error_from_driver(s, "extract_fields failed");
		return SS_PLUGIN_FAILURE;
	}
	int r = fp_store(s, p, values, in);
	/* The previous call's values may go now; these stay until the next call. */
	Py_XSETREF(s->result, values);
	if (r != 0) {
		for (uint32_t j = 0; j < in->num_fields; j++) in->fields[j].res_len = 0;
		return SS_PLUGIN_FAILURE;
	}
	return SS_PLUGIN_SUCCESS;
}

FP_EXPORT ss_plugin_rc plugin_extract_fields(ss_plugin_t* st, const ss_plugin_event_input* evt,
                                             const ss_plugin_field_extract_input* in) {
	fp_state* s = st;
	if (in == NULL) return SS_PLUGIN_FAILURE;
	for (uint32_t j = 0; j < in->num_fields; j++) in->fields[j].res_len = 0;
	if (!fp_live(s) || evt == NULL || evt->evt == NULL) return SS_PLUGIN_FAILURE;
	if (in->table_reader_ext != NULL) s->t_reader = in->table_reader_ext; /* tables read while extracting */
	PyGILState_STATE gil = PyGILState_Ensure();
	ss_plugin_rc rc = fp_extract(s, evt, in);
	PyGILState_Release(gil);
	return rc;
}
