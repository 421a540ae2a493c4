/*
 * testparse: a parsing + extraction test plugin for falcoplug (plugin API 3.12).
 *
 * Identity: name PLUGIN_NAME (default "testparse"), version "0.1.0". No event source of its own.
 *
 * At init it gets the host's "threads" table (key int64) and adds a dynamic field COUNT_FIELD
 * (uint64, default "testparse.count"); it also gets the static field "comm" (string).
 *
 * parse_event, for each event: the key is the event's tid, or `key` (init config, default 1) for
 * events without a thread (tid -1). It gets the entry at that key (creating it with
 * create_table_entry + add_table_entry when missing), reads the count field, writes count + 1 and
 * releases the entry. It also remembers the event number and source of the last event parsed.
 * With `noop=1` it only counts (no table work).
 *
 * Init config, "key=value,..." (all optional): key=N, noop=1, create=0 (do not create entries).
 *
 * Fields (every source, every event type):
 *   parse.total     uint64  events parsed so far
 *   parse.last_num  uint64  evtnum of the last event parsed
 *   parse.count     uint64  the count field of this event's key, read through the extract input's
 *                           table reader (no value when the entry does not exist)
 *   parse.comm      string  the "comm" field of this event's key (no value without entry)
 *   parse.src       string  the evtsrc of the last event parsed
 *   parse.errors    uint64  table operations that failed so far
 *   parse.lasterr   string  get_owner_last_error() after the last failure ("" if none)
 * Metrics: "parsed" (u64).
 *
 * Macros: PARSE_SOURCES="..." (get_parse_event_sources), PARSE_TYPES=a,b,c (get_parse_event_types),
 * EXTRACT_SOURCES="...", PLUGIN_NAME, COUNT_FIELD; NO_EXTRACT leaves the extraction capability out
 * (a parser only).
 */
#include "falcoplug/plugin_api.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef PLUGIN_NAME
#define PLUGIN_NAME "testparse"
#endif
#ifndef COUNT_FIELD
#define COUNT_FIELD "testparse.count"
#endif

enum { F_TOTAL, F_LAST_NUM, F_COUNT, F_COMM, F_SRC, F_ERRORS, F_LASTERR };

typedef struct plugin_state {
	char last_error[PLUGIN_MAX_ERRLEN];
	ss_plugin_owner_t* owner;
	const char* (*get_owner_last_error)(ss_plugin_owner_t*);
	ss_plugin_table_t* threads;
	ss_plugin_table_field_t* count_field;
	ss_plugin_table_field_t* comm_field;
	int64_t default_key;
	int noop, create;
	uint64_t total, last_num, errors;
	char last_src[64];
	char lasterr[512];
	/* extraction results */
	uint64_t u64[8];
	const char* str[8];
	char comm[256];
	ss_plugin_metric metric;
} plugin_state;

const char* plugin_get_required_api_version(void) { return "3.12.0"; }
const char* plugin_get_version(void) { return "0.1.0"; }
const char* plugin_get_name(void) { return PLUGIN_NAME; }
const char* plugin_get_description(void) { return "falcoplug test plugin: counts events into the threads table"; }
const char* plugin_get_contact(void) { return "falcoplug tests"; }

#ifdef PARSE_SOURCES
const char* plugin_get_parse_event_sources(void) { return PARSE_SOURCES; }
#endif
#ifdef PARSE_TYPES
uint16_t* plugin_get_parse_event_types(uint32_t* n, ss_plugin_t* s) {
	static uint16_t types[] = {PARSE_TYPES};
	(void)s;
	*n = sizeof(types) / sizeof(types[0]);
	return types;
}
#endif
#ifdef EXTRACT_SOURCES
const char* plugin_get_extract_event_sources(void) { return EXTRACT_SOURCES; }
#endif

static int kv_get(const char* list, const char* key, char* out, size_t cap) {
	size_t klen = strlen(key);
	const char* p = list ? list : "";
	while (*p) {
		const char* end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
			size_t vlen = len - klen - 1;
			if (vlen >= cap) vlen = cap - 1;
			memcpy(out, p + klen + 1, vlen);
			out[vlen] = '\0';
			return 1;
		}
		p += len + (end ? 1 : 0);
	}
	return 0;
}

static void note_error(plugin_state* s) {
	const char* e = s->get_owner_last_error ? s->get_owner_last_error(s->owner) : NULL;
	s->errors++;
	snprintf(s->lasterr, sizeof(s->lasterr), "%s", e ? e : "(null)");
}

ss_plugin_t* plugin_init(const ss_plugin_init_input* in, ss_plugin_rc* rc) {
	plugin_state* s = calloc(1, sizeof(*s));
	char buf[64];
	*rc = SS_PLUGIN_FAILURE;
	if (!s) return NULL;
	s->owner = in->owner;
	s->get_owner_last_error = in->get_owner_last_error;
	s->default_key = kv_get(in->config, "key", buf, sizeof(buf)) ? strtoll(buf, NULL, 10) : 1;
	s->noop = kv_get(in->config, "noop", buf, sizeof(buf)) && strcmp(buf, "1") == 0;
	s->create = !(kv_get(in->config, "create", buf, sizeof(buf)) && strcmp(buf, "0") == 0);
	if (!in->tables) {
		strcpy(s->last_error, "no tables in the init input");
		return s;
	}
	s->threads = in->tables->get_table(in->owner, "threads", SS_PLUGIN_ST_INT64);
	if (!s->threads) {
		snprintf(s->last_error, sizeof(s->last_error), "no threads table: %s",
		         in->get_owner_last_error(in->owner) ? in->get_owner_last_error(in->owner) : "(null)");
		return s;
	}
	s->count_field = in->tables->fields_ext->add_table_field(s->threads, COUNT_FIELD, SS_PLUGIN_ST_UINT64);
	s->comm_field = in->tables->fields_ext->get_table_field(s->threads, "comm", SS_PLUGIN_ST_STRING);
	if (!s->count_field || !s->comm_field) {
		snprintf(s->last_error, sizeof(s->last_error), "fields: %s", in->get_owner_last_error(in->owner));
		return s;
	}
	*rc = SS_PLUGIN_SUCCESS;
	return s;
}

void plugin_destroy(ss_plugin_t* s) { free(s); }
const char* plugin_get_last_error(ss_plugin_t* s) { return ((plugin_state*)s)->last_error; }

static int64_t key_of(plugin_state* s, const ss_plugin_event* e) {
	return e->tid == UINT64_MAX ? s->default_key : (int64_t)e->tid;
}

ss_plugin_rc plugin_parse_event(ss_plugin_t* st, const ss_plugin_event_input* ev, const ss_plugin_event_parse_input* in) {
	plugin_state* s = st;
	ss_plugin_state_data key, out, val;
	ss_plugin_table_entry_t* e;
	const ss_plugin_table_reader_vtable_ext* r = in->table_reader_ext;
	const ss_plugin_table_writer_vtable_ext* w = in->table_writer_ext;

	s->total++;
	s->last_num = ev->evtnum;
	snprintf(s->last_src, sizeof(s->last_src), "%s", ev->evtsrc ? ev->evtsrc : "(null)");
	if (s->noop) return SS_PLUGIN_SUCCESS;

	key.s64 = key_of(s, ev->evt);
	e = r->get_table_entry(s->threads, &key);
	if (!e) {
		if (!s->create) {
			note_error(s);
			return SS_PLUGIN_FAILURE;
		}
		ss_plugin_table_entry_t* fresh = w->create_table_entry(s->threads);
		e = fresh ? w->add_table_entry(s->threads, &key, fresh) : NULL;
		if (!e) {
			note_error(s);
			return SS_PLUGIN_FAILURE;
		}
	}
	if (r->read_entry_field(s->threads, e, s->count_field, &out) != SS_PLUGIN_SUCCESS) {
		note_error(s);
	} else {
		val.u64 = out.u64 + 1;
		if (w->write_entry_field(s->threads, e, s->count_field, &val) != SS_PLUGIN_SUCCESS) note_error(s);
	}
	r->release_table_entry(s->threads, e);
	return SS_PLUGIN_SUCCESS;
}

#ifndef NO_EXTRACT
const char* plugin_get_fields(void) {
	return "["
	       "{\"type\":\"uint64\",\"name\":\"parse.total\",\"desc\":\"events parsed so far\"},"
	       "{\"type\":\"uint64\",\"name\":\"parse.last_num\",\"desc\":\"evtnum of the last parsed event\"},"
	       "{\"type\":\"uint64\",\"name\":\"parse.count\",\"desc\":\"count field of the event's key\"},"
	       "{\"type\":\"string\",\"name\":\"parse.comm\",\"desc\":\"comm of the event's thread\"},"
	       "{\"type\":\"string\",\"name\":\"parse.src\",\"desc\":\"evtsrc of the last parsed event\"},"
	       "{\"type\":\"uint64\",\"name\":\"parse.errors\",\"desc\":\"failed table operations\"},"
	       "{\"type\":\"string\",\"name\":\"parse.lasterr\",\"desc\":\"owner last error after the last failure\"}"
	       "]";
}

ss_plugin_rc plugin_extract_fields(ss_plugin_t* st, const ss_plugin_event_input* ev, const ss_plugin_field_extract_input* in) {
	plugin_state* s = st;
	const ss_plugin_table_reader_vtable_ext* r = in->table_reader_ext;
	for (uint32_t i = 0; i < in->num_fields && i < 8; i++) {
		ss_plugin_extract_field* f = &in->fields[i];
		f->res_len = 0;
		switch (f->field_id) {
		case F_TOTAL: s->u64[i] = s->total; break;
		case F_LAST_NUM: s->u64[i] = s->last_num; break;
		case F_ERRORS: s->u64[i] = s->errors; break;
		case F_SRC: s->str[i] = s->last_src; break;
		case F_LASTERR: s->str[i] = s->lasterr; break;
		case F_COUNT:
		case F_COMM: {
			ss_plugin_state_data key, out;
			ss_plugin_table_entry_t* e;
			key.s64 = key_of(s, ev->evt);
			e = r->get_table_entry(s->threads, &key);
			if (!e) continue;
			if (f->field_id == F_COUNT) {
				if (r->read_entry_field(s->threads, e, s->count_field, &out) != SS_PLUGIN_SUCCESS) {
					r->release_table_entry(s->threads, e);
					continue;
				}
				s->u64[i] = out.u64;
			} else {
				if (r->read_entry_field(s->threads, e, s->comm_field, &out) != SS_PLUGIN_SUCCESS) {
					r->release_table_entry(s->threads, e);
					continue;
				}
				snprintf(s->comm, sizeof(s->comm), "%s", out.str ? out.str : "");
				s->str[i] = s->comm;
			}
			r->release_table_entry(s->threads, e);
			break;
		}
		default: continue;
		}
		if (f->ftype == FTYPE_STRING) f->res.str = &s->str[i];
		else f->res.u64 = &s->u64[i];
		f->res_len = 1;
	}
	return SS_PLUGIN_SUCCESS;
}

#endif /* NO_EXTRACT */

ss_plugin_metric* plugin_get_metrics(ss_plugin_t* st, uint32_t* n) {
	plugin_state* s = st;
	s->metric.name = "parsed";
	s->metric.type = SS_PLUGIN_METRIC_TYPE_MONOTONIC;
	s->metric.value_type = SS_PLUGIN_METRIC_VALUE_TYPE_U64;
	s->metric.value.u64 = s->total;
	*n = 1;
	return &s->metric;
}
