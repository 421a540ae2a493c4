/*
 * state_host: times a parsing or async plugin library from a plain C host, as libsinsp would call
 * it (no Python in the host, C table vtables): the benchmark of the SDK's stateful exports, and
 * the C baseline with the same program.
 *
 *   state_host parse LIB CONFIG EVENTS
 *       init with a "threads" table (key int64; static fields tid int64 and comm string; dynamic
 *       fields of integer types), then EVENTS parse_event calls with syscall-like events whose tid
 *       cycles over 1..4; prints {"events": N, "ns_per_event": X, "count_1": C}
 *   state_host async LIB CONFIG EVENTS
 *       set_async_event_handler with a handler that counts events, until EVENTS came (or 60 s);
 *       then resets it; prints {"events": N, "events_per_sec": R}
 */
#include "falcoplug/plugin_api.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_ENTRIES 64
#define MAX_FIELDS 16

typedef struct field {
	char name[64];
	ss_plugin_state_type type;
	int index;
	int read_only;
} field;

typedef struct entry {
	int used;
	int64_t tid;
	char comm[32];
	uint64_t values[MAX_FIELDS];
} entry;

typedef struct table {
	field fields[MAX_FIELDS];
	int nfields;
	ss_plugin_table_fieldinfo infos[MAX_FIELDS];
	entry entries[MAX_ENTRIES];
	entry scratch; /* create_table_entry's */
} table;

static table threads;
static char last_error[256];

static void* sym(void* lib, const char* name, int required) {
	void* p = dlsym(lib, name);
	if (p == NULL && required) {
		fprintf(stderr, "error: missing %s\n", name);
		exit(1);
	}
	return p;
}

static double now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ---- the table ------------------------------------------------------------------------------- */

static field* find_field(const char* name) {
	for (int i = 0; i < threads.nfields; i++)
		if (strcmp(threads.fields[i].name, name) == 0) return &threads.fields[i];
	return NULL;
}

static field* new_field(const char* name, ss_plugin_state_type type, int read_only) {
	field* f = &threads.fields[threads.nfields];
	snprintf(f->name, sizeof f->name, "%s", name);
	f->type = type;
	f->index = threads.nfields++;
	f->read_only = read_only;
	return f;
}

static const ss_plugin_table_fieldinfo* t_list_fields(ss_plugin_table_t* t, uint32_t* n) {
	(void)t;
	for (int i = 0; i < threads.nfields; i++) {
		threads.infos[i].name = threads.fields[i].name;
		threads.infos[i].field_type = threads.fields[i].type;
		threads.infos[i].read_only = (ss_plugin_bool)threads.fields[i].read_only;
	}
	*n = (uint32_t)threads.nfields;
	return threads.infos;
}

static ss_plugin_table_field_t* t_get_field(ss_plugin_table_t* t, const char* name, ss_plugin_state_type type) {
	(void)t;
	field* f = find_field(name);
	if (f == NULL) {
		snprintf(last_error, sizeof last_error, "undefined field '%s' in table 'threads'", name);
		return NULL;
	}
	if (f->type != type) {
		snprintf(last_error, sizeof last_error, "incompatible data types for field: %s", name);
		return NULL;
	}
	return f;
}

static ss_plugin_table_field_t* t_add_field(ss_plugin_table_t* t, const char* name, ss_plugin_state_type type) {
	field* f = find_field(name);
	if (f != NULL) return t_get_field(t, name, type);
	if (threads.nfields >= MAX_FIELDS || type == SS_PLUGIN_ST_STRING || type == SS_PLUGIN_ST_TABLE) {
		snprintf(last_error, sizeof last_error, "cannot add field %s", name);
		return NULL;
	}
	return new_field(name, type, 0);
}

static const char* t_name(ss_plugin_table_t* t) {
	(void)t;
	return "threads";
}

static uint64_t t_size(ss_plugin_table_t* t) {
	(void)t;
	uint64_t n = 0;
	for (int i = 0; i < MAX_ENTRIES; i++) n += threads.entries[i].used;
	return n;
}

static ss_plugin_table_entry_t* t_get_entry(ss_plugin_table_t* t, const ss_plugin_state_data* key) {
	(void)t;
	int64_t k = key->s64;
	if (k < 0 || k >= MAX_ENTRIES || !threads.entries[k].used) {
		snprintf(last_error, sizeof last_error, "get_entry found no element at given key");
		return NULL;
	}
	return &threads.entries[k];
}

static ss_plugin_rc t_read(ss_plugin_table_t* t, ss_plugin_table_entry_t* e, const ss_plugin_table_field_t* f,
                           ss_plugin_state_data* out) {
	(void)t;
	const entry* en = e;
	const field* fi = f;
	memset(out, 0, sizeof *out);
	if (fi->index == 0) out->s64 = en->tid;
	else if (fi->index == 1) out->str = en->comm;
	else out->u64 = en->values[fi->index];
	return SS_PLUGIN_SUCCESS;
}

static void t_release(ss_plugin_table_t* t, ss_plugin_table_entry_t* e) {
	(void)t;
	(void)e;
}

static ss_plugin_bool t_iterate(ss_plugin_table_t* t, ss_plugin_table_iterator_func_t it, ss_plugin_table_iterator_state_t* s) {
	(void)t;
	for (int i = 0; i < MAX_ENTRIES; i++)
		if (threads.entries[i].used && !it(s, &threads.entries[i])) return 0;
	return 1;
}

static ss_plugin_rc t_clear(ss_plugin_table_t* t) {
	(void)t;
	memset(threads.entries, 0, sizeof threads.entries);
	return SS_PLUGIN_SUCCESS;
}

static ss_plugin_rc t_erase(ss_plugin_table_t* t, const ss_plugin_state_data* key) {
	(void)t;
	if (key->s64 < 0 || key->s64 >= MAX_ENTRIES) return SS_PLUGIN_FAILURE;
	threads.entries[key->s64].used = 0;
	return SS_PLUGIN_SUCCESS;
}

static ss_plugin_table_entry_t* t_create(ss_plugin_table_t* t) {
	(void)t;
	memset(&threads.scratch, 0, sizeof threads.scratch);
	return &threads.scratch;
}

static void t_destroy(ss_plugin_table_t* t, ss_plugin_table_entry_t* e) {
	(void)t;
	(void)e;
}

static ss_plugin_table_entry_t* t_add(ss_plugin_table_t* t, const ss_plugin_state_data* key, ss_plugin_table_entry_t* e) {
	(void)t;
	if (key->s64 < 0 || key->s64 >= MAX_ENTRIES) return NULL;
	entry* en = &threads.entries[key->s64];
	*en = *(entry*)e;
	en->used = 1;
	en->tid = key->s64;
	return en;
}

static ss_plugin_rc t_write(ss_plugin_table_t* t, ss_plugin_table_entry_t* e, const ss_plugin_table_field_t* f,
                            const ss_plugin_state_data* in) {
	(void)t;
	entry* en = e;
	const field* fi = f;
	if (fi->read_only) return SS_PLUGIN_FAILURE;
	if (fi->index == 1) snprintf(en->comm, sizeof en->comm, "%s", in->str ? in->str : "");
	else en->values[fi->index] = in->u64;
	return SS_PLUGIN_SUCCESS;
}

static ss_plugin_table_fields_vtable_ext fields_ext = {t_list_fields, t_get_field, t_add_field};
static ss_plugin_table_reader_vtable_ext reader_ext = {t_name, t_size, t_get_entry, t_read, t_release, t_iterate};
static ss_plugin_table_writer_vtable_ext writer_ext = {t_clear, t_erase, t_create, t_destroy, t_add, t_write};
static ss_plugin_table_info table_info = {"threads", SS_PLUGIN_ST_INT64};

static ss_plugin_table_info* list_tables(ss_plugin_owner_t* o, uint32_t* n) {
	(void)o;
	*n = 1;
	return &table_info;
}

static ss_plugin_table_t* get_table(ss_plugin_owner_t* o, const char* name, ss_plugin_state_type key_type) {
	(void)o;
	if (strcmp(name, "threads") != 0 || key_type != SS_PLUGIN_ST_INT64) return NULL;
	return &threads;
}

static ss_plugin_rc add_table(ss_plugin_owner_t* o, const ss_plugin_table_input* in) {
	(void)o;
	(void)in;
	return SS_PLUGIN_SUCCESS; /* plugin-owned tables are accepted and not used */
}

static const char* owner_error(ss_plugin_owner_t* o) {
	(void)o;
	return last_error;
}

static void log_fn(ss_plugin_owner_t* o, const char* component, const char* msg, ss_plugin_log_severity sev) {
	(void)o;
	if (sev <= SS_PLUGIN_LOG_SEV_WARNING) fprintf(stderr, "%s: %s\n", component ? component : "plugin", msg);
}

/* ---- async ----------------------------------------------------------------------------------- */

static atomic_ullong received;

static ss_plugin_rc handler(ss_plugin_owner_t* o, const ss_plugin_event* evt, char* err) {
	(void)o;
	if (evt->type != 402 || evt->nparams != 3) {
		snprintf(err, PLUGIN_MAX_ERRLEN, "malformed async event");
		return SS_PLUGIN_FAILURE;
	}
	atomic_fetch_add(&received, 1);
	return SS_PLUGIN_SUCCESS;
}

int main(int argc, char** argv) {
	if (argc < 5) {
		fprintf(stderr, "usage: state_host parse|async LIB CONFIG EVENTS\n");
		return 2;
	}
	void* lib = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) {
		fprintf(stderr, "error: %s\n", dlerror());
		return 1;
	}
	uint64_t n = strtoull(argv[4], NULL, 10);
	ss_plugin_t* (*init)(const ss_plugin_init_input*, ss_plugin_rc*) = sym(lib, "plugin_init", 1);
	const char* (*get_last_error)(ss_plugin_t*) = sym(lib, "plugin_get_last_error", 1);
	void (*destroy)(ss_plugin_t*) = sym(lib, "plugin_destroy", 1);
	new_field("tid", SS_PLUGIN_ST_INT64, 1);
	new_field("comm", SS_PLUGIN_ST_STRING, 0);
	for (int64_t k = 1; k <= 4; k++) {
		threads.entries[k].used = 1;
		threads.entries[k].tid = k;
		snprintf(threads.entries[k].comm, sizeof threads.entries[k].comm, "proc%d", (int)k);
	}
	ss_plugin_init_tables_input tables;
	memset(&tables, 0, sizeof tables);
	tables.list_tables = list_tables;
	tables.get_table = get_table;
	tables.add_table = add_table;
	tables.fields = *(ss_plugin_table_fields_vtable*)&fields_ext;
	tables.fields_ext = &fields_ext;
	tables.reader_ext = &reader_ext;
	tables.writer_ext = &writer_ext;
	ss_plugin_init_input in;
	memset(&in, 0, sizeof in);
	in.config = argv[3];
	in.owner = (ss_plugin_owner_t*)&in;
	in.get_owner_last_error = owner_error;
	in.tables = &tables;
	in.log_fn = log_fn;
	ss_plugin_rc rc;
	ss_plugin_t* s = init(&in, &rc);
	if (rc != SS_PLUGIN_SUCCESS) {
		fprintf(stderr, "error: init: %s\n", s ? get_last_error(s) : "");
		return 1;
	}
	if (strcmp(argv[1], "parse") == 0) {
		ss_plugin_rc (*parse)(ss_plugin_t*, const ss_plugin_event_input*, const ss_plugin_event_parse_input*) =
		    sym(lib, "plugin_parse_event", 1);
		ss_plugin_event_parse_input pin;
		memset(&pin, 0, sizeof pin);
		pin.owner = in.owner;
		pin.get_owner_last_error = owner_error;
		pin.table_reader_ext = &reader_ext;
		pin.table_writer_ext = &writer_ext;
		uint8_t raw[34];
		memset(raw, 0, sizeof raw);
		ss_plugin_event* e = (ss_plugin_event*)raw;
		e->len = 34;
		e->type = 5;
		e->nparams = 2;
		uint16_t lens[2] = {2, 2};
		memcpy(raw + 26, lens, 4);
		ss_plugin_event_input ein = {e, 0, "syscall"};
		double t0 = now();
		for (uint64_t i = 0; i < n; i++) {
			e->tid = 1 + (i & 3);
			e->ts = 1000000000000ULL + i;
			ein.evtnum = i + 1;
			parse(s, &ein, &pin);
		}
		double dt = now() - t0;
		uint64_t count = 0;
		for (int i = 2; i < threads.nfields; i++) count += threads.entries[1].values[i];
		printf("{\"events\": %llu, \"ns_per_event\": %.1f, \"count_1\": %llu}\n", (unsigned long long)n, dt * 1e9 / (double)n,
		       (unsigned long long)count);
	} else {
		ss_plugin_rc (*set_handler)(ss_plugin_t*, ss_plugin_owner_t*, const ss_plugin_async_event_handler_t) =
		    sym(lib, "plugin_set_async_event_handler", 1);
		double t0 = now();
		if (set_handler(s, in.owner, handler) != SS_PLUGIN_SUCCESS) {
			fprintf(stderr, "error: set_async_event_handler: %s\n", get_last_error(s));
			return 1;
		}
		while (atomic_load(&received) < n && now() - t0 < 60) {
			struct timespec ts = {0, 200000};
			nanosleep(&ts, NULL);
		}
		double dt = now() - t0;
		set_handler(s, in.owner, NULL);
		unsigned long long got = atomic_load(&received);
		printf("{\"events\": %llu, \"events_per_sec\": %.0f}\n", got, (double)got / dt);
	}
	destroy(s);
	return 0;
}
