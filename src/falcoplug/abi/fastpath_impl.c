/*
 * falcoplug's compiled fast path: the per-event loops of the C -> Python direction, run in C so
 * that Python works per batch. Compiled by cffi in API mode (see _fastpath_build.py); when it
 * cannot be compiled, abi/ falls back to the same logic in Python.
 */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <dlfcn.h>
#include "falcoplug/plugin_api.h"

#define FP_PLUGINEVENT_E 322
#define FP_HDR_LEN 26
#define FP_MAX_EVENT_LEN (64u * 1024u * 1024u)
#define FP_NO_VALUE 0xFFFFFFFFu

/* error codes of fp_* functions (positive codes are the plugin's own ss_plugin_rc) */
#define FP_ERR_MALFORMED (-100)
#define FP_ERR_NOMEM (-101)
#define FP_ERR_VALUE (-102)

typedef struct fp_batch {
	uint8_t* data;
	uint64_t len;
	uint64_t cap;
	uint64_t* offs;
	uint32_t n;
	uint64_t ocap;
} fp_batch;

typedef struct fp_stream {
	uint8_t* data;
	uint64_t len;
	uint64_t cap;
} fp_stream;

/* Extracted values, one stream per field of the request, so that Python can decode a whole
 * column at once: numbers (u64, reltime, abstime; bool as 0/1) as u64 values, strings
 * NUL-terminated, byte buffers (ipaddr, ipnet) as a u32 length then the bytes. */
typedef struct fp_values {
	uint32_t* counts;   /* n_events * n_fields: number of values, FP_NO_VALUE when none */
	uint64_t ncounts;
	uint64_t countcap;
	fp_stream* streams;
	uint32_t nstreams;
} fp_values;

static int fp_reserve(void** p, uint64_t* cap, uint64_t need, size_t elem) {
	if (need <= *cap) return 0;
	uint64_t ncap = *cap ? *cap : 256;
	while (ncap < need) ncap *= 2;
	void* np = realloc(*p, ncap * elem);
	if (!np) return -1;
	*p = np;
	*cap = ncap;
	return 0;
}

void fp_batch_free(fp_batch* b) {
	free(b->data);
	free(b->offs);
	memset(b, 0, sizeof(*b));
}

int fp_values_init(fp_values* v, uint32_t nfields) {
	memset(v, 0, sizeof(*v));
	v->streams = calloc(nfields ? nfields : 1, sizeof(fp_stream));
	if (!v->streams) return FP_ERR_NOMEM;
	v->nstreams = nfields;
	return 0;
}

void fp_values_free(fp_values* v) {
	free(v->counts);
	for (uint32_t j = 0; j < v->nstreams; j++) free(v->streams[j].data);
	free(v->streams);
	memset(v, 0, sizeof(*v));
}

static uint32_t rd32(const uint8_t* p) { uint32_t v; memcpy(&v, p, 4); return v; }
static void wr32(uint8_t* p, uint32_t v) { memcpy(p, &v, 4); }

/*
 * Call next_batch once, check and fix every event as libscap's source-plugin engine does, and copy
 * the events into `out` (plugin memory is only valid until the next call). Returns the plugin's rc,
 * or FP_ERR_* with a message in err. `*nevts_out` tells how many events were copied.
 */
int fp_next_batch(void* fn, ss_plugin_t* s, ss_instance_t* h, uint32_t plugin_id, const char* name,
                  uint64_t now_ns, fp_batch* out, uint32_t* nevts_out, char* err, size_t errlen) {
	ss_plugin_rc (*next_batch)(ss_plugin_t*, ss_instance_t*, uint32_t*, ss_plugin_event***) = fn;
	uint32_t nevts = 0;
	ss_plugin_event** evts = NULL;
	int rc = next_batch(s, h, &nevts, &evts);
	out->len = 0;
	out->n = 0;
	*nevts_out = 0;
	if (nevts == 0) return rc;
	if (evts == NULL) {
		snprintf(err, errlen, "malformed plugin event produced by plugin: '%s' (next_batch returned %u events and a NULL array)", name, nevts);
		return FP_ERR_MALFORMED;
	}
	if (fp_reserve((void**)&out->offs, &out->ocap, nevts, sizeof(uint64_t)) != 0) return FP_ERR_NOMEM;
	for (uint32_t i = 0; i < nevts; i++) {
		ss_plugin_event* e = evts[i];
		if (e == NULL) {
			snprintf(err, errlen, "malformed plugin event produced by plugin: '%s' (event %u of the batch is NULL)", name, i);
			return FP_ERR_MALFORMED;
		}
		uint32_t len = e->len;
		if (len < FP_HDR_LEN || len > FP_MAX_EVENT_LEN) {
			snprintf(err, errlen, "malformed plugin event produced by plugin: '%s' (event length %u)", name, len);
			return FP_ERR_MALFORMED;
		}
		uint8_t* raw = (uint8_t*)e;
		if (plugin_id != 0) {
			if (e->type != FP_PLUGINEVENT_E || e->nparams != 2) {
				snprintf(err, errlen, "malformed plugin event produced by plugin: '%s'", name);
				return FP_ERR_MALFORMED;
			}
		}
		if (e->type == FP_PLUGINEVENT_E) {
			if (e->nparams != 2 || len < 38 || rd32(raw + 26) != 4 || (uint64_t)38 + rd32(raw + 30) != len) {
				snprintf(err, errlen, "malformed plugin event produced by plugin: '%s' (parameter lengths do not add up to the event length %u)", name, len);
				return FP_ERR_MALFORMED;
			}
			uint32_t id = rd32(raw + 34);
			if (plugin_id != 0) {
				if (id == 0) {
					wr32(raw + 34, plugin_id);
				} else if (id != plugin_id) {
					snprintf(err, errlen, "unexpected plugin ID in plugin event: plugin='%s', expected_id=%u, actual_id=%u", name, plugin_id, id);
					return FP_ERR_MALFORMED;
				}
			} else if (id == 0) {
				snprintf(err, errlen, "malformed plugin event produced by plugin (no ID): '%s'", name);
				return FP_ERR_MALFORMED;
			}
			e->tid = (uint64_t)-1;
		}
		if (e->ts == (uint64_t)-1) e->ts = now_ns;
		if (fp_reserve((void**)&out->data, &out->cap, out->len + len, 1) != 0) return FP_ERR_NOMEM;
		memcpy(out->data + out->len, raw, len);
		out->offs[i] = out->len;
		out->len += len;
	}
	out->n = nevts;
	*nevts_out = nevts;
	return rc;
}

static int fp_append(fp_stream* st, const void* p, uint64_t len) {
	if (fp_reserve((void**)&st->data, &st->cap, st->len + len, 1) != 0) return FP_ERR_NOMEM;
	memcpy(st->data + st->len, p, len);
	st->len += len;
	return 0;
}

static int fp_push_values(fp_stream* st, const ss_plugin_extract_field* f, char* err, size_t errlen) {
	uint64_t n = f->res_len;
	switch (f->ftype) {
	case FTYPE_UINT64:
	case FTYPE_RELTIME:
	case FTYPE_ABSTIME:
		if (f->res.u64 == NULL) goto null_res;
		return fp_append(st, f->res.u64, n * 8);
	case FTYPE_BOOL:
		if (f->res.boolean == NULL) goto null_res;
		for (uint64_t i = 0; i < n; i++) {
			uint64_t b = f->res.boolean[i] != 0;
			if (fp_append(st, &b, 8) != 0) return FP_ERR_NOMEM;
		}
		return 0;
	case FTYPE_STRING:
		if (f->res.str == NULL) goto null_res;
		for (uint64_t i = 0; i < n; i++) {
			const char* s = f->res.str[i];
			if (s == NULL) {
				snprintf(err, errlen, "plugin returned a NULL string for field '%s'", f->field);
				return FP_ERR_VALUE;
			}
			if (fp_append(st, s, strlen(s) + 1) != 0) return FP_ERR_NOMEM;
		}
		return 0;
	case FTYPE_IPADDR:
	case FTYPE_IPNET:
		if (f->res.buf == NULL) goto null_res;
		for (uint64_t i = 0; i < n; i++) {
			const ss_plugin_byte_buffer* b = &f->res.buf[i];
			if (b->ptr == NULL && b->len != 0) {
				snprintf(err, errlen, "plugin returned a NULL buffer for field '%s'", f->field);
				return FP_ERR_VALUE;
			}
			if (b->len > FP_MAX_EVENT_LEN) {
				snprintf(err, errlen, "plugin returned a buffer of %u bytes for field '%s'", b->len, f->field);
				return FP_ERR_VALUE;
			}
			uint32_t len = b->len;
			if (fp_append(st, &len, 4) != 0 || (len && fp_append(st, b->ptr, len) != 0)) return FP_ERR_NOMEM;
		}
		return 0;
	default:
		snprintf(err, errlen, "unsupported field type %u for field '%s'", f->ftype, f->field);
		return FP_ERR_VALUE;
	}
null_res:
	snprintf(err, errlen, "plugin returned %llu values and a NULL result array for field '%s'", (unsigned long long)n, f->field);
	return FP_ERR_VALUE;
}

/*
 * Extract one request (in->fields, in->num_fields) from n events laid out at data + offs[i]: one
 * extract_fields call per event, results copied into `out` (cleared first). Events whose type is
 * not accepted (type_ok[type] == 0, when type_ok is given) get no value without a call. A failing
 * call means no value for that event, as in libsinsp. Returns 0 or FP_ERR_*.
 */
int fp_extract_batch(void* fn, ss_plugin_t* s, ss_plugin_field_extract_input* in,
                     const uint8_t* data, const uint64_t* offs, uint32_t n, const uint64_t* evtnums,
                     const char* evtsrc, const uint8_t* type_ok, fp_values* out, char* err, size_t errlen) {
	ss_plugin_rc (*extract)(ss_plugin_t*, const ss_plugin_event_input*, const ss_plugin_field_extract_input*) = fn;
	uint32_t nf = in->num_fields;
	out->ncounts = 0;
	if (out->nstreams < nf) {
		snprintf(err, errlen, "value streams for %u fields, request of %u", out->nstreams, nf);
		return FP_ERR_VALUE;
	}
	for (uint32_t j = 0; j < nf; j++) out->streams[j].len = 0;
	if (fp_reserve((void**)&out->counts, &out->countcap, (uint64_t)n * nf, 4) != 0) return FP_ERR_NOMEM;
	ss_plugin_event_input ei;
	ei.evtsrc = evtsrc;
	for (uint32_t i = 0; i < n; i++) {
		const ss_plugin_event* e = (const ss_plugin_event*)(data + offs[i]);
		uint32_t* counts = out->counts + (uint64_t)i * nf;
		if (type_ok != NULL && !type_ok[e->type]) {
			for (uint32_t j = 0; j < nf; j++) counts[j] = FP_NO_VALUE;
			continue;
		}
		for (uint32_t j = 0; j < nf; j++) in->fields[j].res_len = 0;
		ei.evt = e;
		ei.evtnum = evtnums[i];
		ss_plugin_rc rc = extract(s, &ei, in);
		for (uint32_t j = 0; j < nf; j++) {
			const ss_plugin_extract_field* f = &in->fields[j];
			if (rc != SS_PLUGIN_SUCCESS && nf > 1) {
				/* libsinsp asks for one field per call: a failing call costs only that field its
				 * value. Ask again field by field so that the others keep theirs. */
				ss_plugin_extract_field* all = in->fields;
				in->fields = &all[j];
				in->num_fields = 1;
				all[j].res_len = 0;
				ss_plugin_rc rc1 = extract(s, &ei, in);
				in->fields = all;
				in->num_fields = nf;
				if (rc1 != SS_PLUGIN_SUCCESS) all[j].res_len = 0;
			} else if (rc != SS_PLUGIN_SUCCESS) {
				counts[j] = FP_NO_VALUE;
				continue;
			}
			if (f->res_len == 0) {
				counts[j] = FP_NO_VALUE;
				continue;
			}
			if (f->res_len >= FP_NO_VALUE || (!f->flist && f->res_len != 1)) {
				snprintf(err, errlen, "plugin returned %llu values for %s field '%s'", (unsigned long long)f->res_len, f->flist ? "list" : "non-list", f->field);
				return FP_ERR_VALUE;
			}
			int r = fp_push_values(&out->streams[j], f, err, errlen);
			if (r != 0) return r;
			counts[j] = (uint32_t)f->res_len;
		}
	}
	out->ncounts = (uint64_t)n * nf;
	return 0;
}

/*
 * Whether every event of a batch has the same type and, for plugin (322) and async (402) events,
 * the same plugin ID: then the whole batch belongs to one event source. Returns 1 and the key, or 0.
 */
int fp_uniform_source(const uint8_t* data, const uint64_t* offs, uint32_t n, uint16_t* type_out, uint32_t* id_out) {
	if (n == 0) return 0;
	const ss_plugin_event* first = (const ss_plugin_event*)(data + offs[0]);
	uint16_t type = first->type;
	uint32_t id_at = type == FP_PLUGINEVENT_E ? 34 : type == 402 ? 38 : 0;
	uint32_t id = id_at ? rd32(data + offs[0] + id_at) : 0;
	for (uint32_t i = 1; i < n; i++) {
		const uint8_t* e = data + offs[i];
		if (((const ss_plugin_event*)e)->type != type) return 0;
		if (id_at && rd32(e + id_at) != id) return 0;
	}
	*type_out = type;
	*id_out = id;
	return 1;
}
