/*
 * Extraction of a field request over a batch of events (paired with abi/extractor.py).
 *
 * libsinsp asks a plugin for one field per extract_fields call, and some plugins rely on it: they
 * keep one storage slot for every field of a call, so a later field overwrites an earlier one's
 * value. A call asking for all of a request's fields is used only while it is proven safe, call
 * after call: no two fields' results (arrays, strings, buffers) share memory. The first call that
 * fails the proof is made again field by field, and so is every later one (the request switches
 * to one field per call for good: fp_values.one_per_call). A request naming the same field twice
 * is one field per call from the start (decided in Python).
 */

typedef struct fp_stream {
	uint8_t* data;
	uint64_t len;
	uint64_t cap;
} fp_stream;

/* Extracted values, one stream per field of the request, so that Python decodes a whole column
 * at once: numbers (u64, reltime, abstime; bool as 0/1) as u64 values, strings NUL-terminated,
 * byte buffers (ipaddr, ipnet) as a u32 length then the bytes. */
typedef struct fp_values {
	uint32_t* counts;   /* n_events * n_fields: number of values, FP_NO_VALUE when none */
	uint64_t ncounts;
	uint64_t countcap;
	fp_stream* streams;
	uint32_t nstreams;
	uint32_t* failures; /* per field: extract_fields calls that failed in the last batch */
	int32_t one_per_call; /* in/out: 1 once a call with several fields could not be proven safe */
	int32_t field;      /* results of a failure: the field index ... */
	uint64_t detail;    /* ... and a number for the message */
} fp_values;

enum fp_extract_status {
	FP_EXTRACT_OK = 0,
	FP_EXTRACT_VALUE_COUNT,   /* res_len wrong for the field (detail: res_len) */
	FP_EXTRACT_NULL_RESULT,   /* res_len values and a NULL array (detail: res_len) */
	FP_EXTRACT_NULL_STRING,
	FP_EXTRACT_NULL_BUFFER,
	FP_EXTRACT_BIG_BUFFER,    /* detail: the buffer's length */
	FP_EXTRACT_BAD_TYPE,      /* detail: the field type */
	FP_EXTRACT_NOMEM,
	FP_EXTRACT_INTERRUPTED    /* a watched signal arrived: stopped after the plugin's call */
};

int fp_values_init(fp_values* v, uint32_t nfields) {
	memset(v, 0, sizeof(*v));
	v->streams = calloc(nfields ? nfields : 1, sizeof(fp_stream));
	v->failures = calloc(nfields ? nfields : 1, sizeof(uint32_t));
	if (!v->streams || !v->failures) return FP_EXTRACT_NOMEM;
	v->nstreams = nfields;
	return 0;
}

void fp_values_free(fp_values* v) {
	free(v->counts);
	for (uint32_t j = 0; j < v->nstreams; j++) free(v->streams[j].data);
	free(v->streams);
	free(v->failures);
	memset(v, 0, sizeof(*v));
}

static int fp_append(fp_stream* st, const void* p, uint64_t len) {
	if (fp_reserve((void**)&st->data, &st->cap, st->len + len, 1) != 0) return FP_EXTRACT_NOMEM;
	memcpy(st->data + st->len, p, len);
	st->len += len;
	return 0;
}

/* Check one field's result and append its values to its stream. */
static int fp_push_values(fp_values* out, uint32_t j, const ss_plugin_extract_field* f) {
	fp_stream* st = &out->streams[j];
	uint64_t n = f->res_len;
	out->field = (int32_t)j;
	if (n >= FP_NO_VALUE || (!f->flist && n != 1)) {
		out->detail = n;
		return FP_EXTRACT_VALUE_COUNT;
	}
	out->detail = n;
	switch (f->ftype) {
	case FTYPE_UINT64:
	case FTYPE_RELTIME:
	case FTYPE_ABSTIME:
		if (f->res.u64 == NULL) return FP_EXTRACT_NULL_RESULT;
		return fp_append(st, f->res.u64, n * 8);
	case FTYPE_BOOL:
		if (f->res.boolean == NULL) return FP_EXTRACT_NULL_RESULT;
		for (uint64_t i = 0; i < n; i++) {
			uint64_t b = f->res.boolean[i] != 0;
			if (fp_append(st, &b, 8) != 0) return FP_EXTRACT_NOMEM;
		}
		return 0;
	case FTYPE_STRING:
		if (f->res.str == NULL) return FP_EXTRACT_NULL_RESULT;
		for (uint64_t i = 0; i < n; i++) {
			const char* s = f->res.str[i];
			if (s == NULL) return FP_EXTRACT_NULL_STRING;
			if (fp_append(st, s, strlen(s) + 1) != 0) return FP_EXTRACT_NOMEM;
		}
		return 0;
	case FTYPE_IPADDR:
	case FTYPE_IPNET:
		if (f->res.buf == NULL) return FP_EXTRACT_NULL_RESULT;
		for (uint64_t i = 0; i < n; i++) {
			const ss_plugin_byte_buffer* b = &f->res.buf[i];
			if (b->ptr == NULL && b->len != 0) return FP_EXTRACT_NULL_BUFFER;
			if (b->len > FP_MAX_EVENT_LEN) {
				out->detail = b->len;
				return FP_EXTRACT_BIG_BUFFER;
			}
			uint32_t len = b->len;
			if (fp_append(st, &len, 4) != 0 || (len && fp_append(st, b->ptr, len) != 0)) return FP_EXTRACT_NOMEM;
		}
		return 0;
	default:
		out->detail = f->ftype;
		return FP_EXTRACT_BAD_TYPE;
	}
}

/* The memory a field's result occupies: its array, then each string or buffer it points to. */
#define FP_MAX_RANGES 64
typedef struct fp_range { uintptr_t lo, hi; uint32_t field; } fp_range;

static int fp_add_range(fp_range* r, int* nr, const void* p, uint64_t len, uint32_t field) {
	if (len == 0 || p == NULL) return 1;
	if (*nr >= FP_MAX_RANGES) return 0;
	r[*nr].lo = (uintptr_t)p;
	r[*nr].hi = (uintptr_t)p + len;
	r[*nr].field = field;
	(*nr)++;
	return 1;
}

static int fp_field_ranges(fp_range* r, int* nr, const ss_plugin_extract_field* f, uint32_t j) {
	uint64_t n = f->res_len;
	if (n == 0) return 1;
	if (n > FP_MAX_RANGES) return 0;
	switch (f->ftype) {
	case FTYPE_STRING:
		if (!fp_add_range(r, nr, f->res.str, n * sizeof(char*), j)) return 0;
		if (f->res.str == NULL) return 1;
		for (uint64_t i = 0; i < n; i++)
			if (f->res.str[i] && !fp_add_range(r, nr, f->res.str[i], strlen(f->res.str[i]) + 1, j)) return 0;
		return 1;
	case FTYPE_IPADDR:
	case FTYPE_IPNET:
		if (!fp_add_range(r, nr, f->res.buf, n * sizeof(ss_plugin_byte_buffer), j)) return 0;
		if (f->res.buf == NULL) return 1;
		for (uint64_t i = 0; i < n; i++)
			if (!fp_add_range(r, nr, f->res.buf[i].ptr, f->res.buf[i].len, j)) return 0;
		return 1;
	case FTYPE_BOOL:
		return fp_add_range(r, nr, f->res.boolean, n * sizeof(ss_plugin_bool), j);
	default:
		return fp_add_range(r, nr, f->res.u64, n * 8, j);
	}
}

/* Whether the results of one call with nf fields are proven not to share memory. */
static int fp_results_disjoint(const ss_plugin_extract_field* fields, uint32_t nf) {
	fp_range r[FP_MAX_RANGES];
	int nr = 0;
	for (uint32_t j = 0; j < nf; j++)
		if (!fp_field_ranges(r, &nr, &fields[j], j)) return 0;  /* too much to check: not proven */
	for (int a = 0; a < nr; a++)
		for (int b = a + 1; b < nr; b++)
			if (r[a].field != r[b].field && r[a].lo < r[b].hi && r[b].lo < r[a].hi) return 0;
	return 1;
}

typedef ss_plugin_rc (*fp_extract_fn)(ss_plugin_t*, const ss_plugin_event_input*, const ss_plugin_field_extract_input*);

/* Field j alone (as libsinsp asks), its values appended at once. */
static int fp_extract_one(fp_extract_fn extract, ss_plugin_t* s, const ss_plugin_event_input* ei,
                          ss_plugin_field_extract_input* in, uint32_t j, fp_values* out, uint32_t* counts) {
	ss_plugin_extract_field* all = in->fields;
	uint32_t nf = in->num_fields;
	in->fields = &all[j];
	in->num_fields = 1;
	all[j].res_len = 0;
	ss_plugin_rc rc = extract(s, ei, in);
	in->fields = all;
	in->num_fields = nf;
	if (rc != SS_PLUGIN_SUCCESS) {
		out->failures[j]++;
		counts[j] = FP_NO_VALUE;
		return 0;
	}
	if (all[j].res_len == 0) {
		counts[j] = FP_NO_VALUE;
		return 0;
	}
	int r = fp_push_values(out, j, &all[j]);
	if (r != 0) return r;
	counts[j] = (uint32_t)all[j].res_len;
	return 0;
}

/* Every field in one call, kept only when the call succeeded and its results are disjoint. */
static int fp_extract_all(fp_extract_fn extract, ss_plugin_t* s, const ss_plugin_event_input* ei,
                          ss_plugin_field_extract_input* in, fp_values* out, uint32_t* counts, int* redo) {
	uint32_t nf = in->num_fields;
	for (uint32_t j = 0; j < nf; j++) in->fields[j].res_len = 0;
	ss_plugin_rc rc = extract(s, ei, in);
	if (rc != SS_PLUGIN_SUCCESS) {
		*redo = 1;  /* one failing field must not cost the others their values: ask one by one */
		return 0;
	}
	if (!fp_results_disjoint(in->fields, nf)) {
		out->one_per_call = 1;
		*redo = 1;
		return 0;
	}
	for (uint32_t j = 0; j < nf; j++) {
		const ss_plugin_extract_field* f = &in->fields[j];
		if (f->res_len == 0) {
			counts[j] = FP_NO_VALUE;
			continue;
		}
		int r = fp_push_values(out, j, f);
		if (r != 0) return r;
		counts[j] = (uint32_t)f->res_len;
	}
	return 0;
}

/*
 * Extract one request (in->fields, in->num_fields) from n events laid out at data + offs[i],
 * results copied into `out` (cleared first). Events whose type is not accepted (type_ok[type] == 0,
 * when type_ok is given) get no value and no call. A failing call means no value for that field,
 * as in libsinsp, and is counted in out->failures. Returns an fp_extract_status.
 */
int fp_extract_batch(void* fn, ss_plugin_t* s, ss_plugin_field_extract_input* in,
                     const uint8_t* data, const uint64_t* offs, uint32_t n, const uint64_t* evtnums,
                     const char* evtsrc, const uint8_t* type_ok, fp_values* out) {
	fp_extract_fn extract = (fp_extract_fn)fn;
	uint32_t nf = in->num_fields;
	out->ncounts = 0;
	if (out->nstreams < nf) return FP_EXTRACT_NOMEM;
	for (uint32_t j = 0; j < nf; j++) {
		out->streams[j].len = 0;
		out->failures[j] = 0;
	}
	if (fp_reserve((void**)&out->counts, &out->countcap, (uint64_t)n * nf, 4) != 0) return FP_EXTRACT_NOMEM;
	fp_clear_stop();
	ss_plugin_event_input ei;
	ei.evtsrc = evtsrc;
	for (uint32_t i = 0; i < n; i++) {
		const ss_plugin_event* e = (const ss_plugin_event*)(data + offs[i]);
		uint32_t* counts = out->counts + (uint64_t)i * nf;
		if (type_ok != NULL && !type_ok[e->type]) {
			for (uint32_t j = 0; j < nf; j++) counts[j] = FP_NO_VALUE;
			continue;
		}
		ei.evt = e;
		ei.evtnum = evtnums[i];
		int redo = nf > 1 && out->one_per_call;
		if (nf > 1 && !redo) {
			int r = fp_extract_all(extract, s, &ei, in, out, counts, &redo);
			if (r != 0) return r;
		} else {
			redo = 1;
		}
		for (uint32_t j = 0; redo && j < nf; j++) {
			int r = fp_extract_one(extract, s, &ei, in, j, out, counts);
			if (r != 0) return r;
			if (fp_stop) return FP_EXTRACT_INTERRUPTED;
		}
		if (fp_stop) return FP_EXTRACT_INTERRUPTED;
		out->ncounts = (uint64_t)(i + 1) * nf;
	}
	return 0;
}
