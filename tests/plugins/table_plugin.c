/*
 * testtables: a scripted state-table test plugin for falcoplug (plugin API 3.12).
 *
 * Identity: name PLUGIN_NAME (default "testtables"), version "0.1.0", required API API_VERSION
 * (default "3.12.0"). Capabilities: parsing (so that init gets the tables input) and capture
 * listening (so that capture_open runs a script with the listen input's reader and writer).
 *
 * The init config is a script: phases separated by '|', each "PHASE:" followed by operations
 * separated by ';'. PHASE is "init" (run by plugin_init), "parse" (run for every event by
 * plugin_parse_event) or "open" (run by plugin_capture_open). Every operation logs one line
 * through the host's log_fn (component "script"): "<phase>: <operation> => <result>", where a
 * failing call gives "FAIL <get_owner_last_error() or (null)>".
 *
 * Variables (letters/digits, at most 15 chars) name tables, fields and entries. Types: int8 int16
 * int32 int64 uint8 uint16 uint32 uint64 string bool table. A KEY is parsed with the table's key
 * type; "$tid" is the event's tid and "$num" its evtnum (parse phase).
 *
 *   list                           list_tables                 => ok n=N name:type,...
 *   table T NAME KEYTYPE           get_table                   => ok | null [err]
 *   fields T                       list_table_fields           => ok n=N name:type:ro,...
 *   field F T NAME TYPE            get_table_field             => ok | FAIL err
 *   addfield F T NAME TYPE         add_table_field             => ok | FAIL err
 *   name T / size T                get_table_name / get_table_size
 *   get E T KEY / create E T       get_table_entry / create_table_entry
 *   add E T KEY E2                 add_table_entry(T, KEY, E2) => E
 *   destroy T E / release T E      destroy_table_entry / release_table_entry
 *   read E F T                     read_entry_field            => ok VALUE
 *   sub T2 E F T KEYTYPE           read a table field into table variable T2
 *   write E F T VALUE              write_entry_field
 *   erase T KEY / clear T          erase_table_entry / clear_table
 *   iter T [MAX]                   iterate_entries, stopping after MAX => ok ret=R visited=V
 *   own NAME KEYTYPE [VARIANT]     add_table of this plugin's own table; VARIANT (default good):
 *                                  nullinput nullname noext badreader badwriter badfields
 *                                  norelease badkey
 *   lasterr                        get_owner_last_error        => ok TEXT | ok (null)
 *   legacy T                       check that the deprecated vtables are the _ext functions
 *
 * The plugin's own table: fields "value" (uint64) and "label" (string), plus dynamic fields of
 * any scalar type (add_table_field), at most 256 entries; failures set the plugin's last error
 * ("owned: ..."), which the host passes on to other plugins.
 */
#include "falcoplug/plugin_api.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef PLUGIN_NAME
#define PLUGIN_NAME "testtables"
#endif
#ifndef API_VERSION
#define API_VERSION "3.12.0"
#endif

#define MAX_VARS 32
#define MAX_OWN_FIELDS 12
#define MAX_OWN_ENTRIES 256
#define STRLEN 64

/* ---- the plugin's own table ------------------------------------------------------------------ */

typedef struct own_field {
	char name[STRLEN];
	ss_plugin_state_type type;
	int index;
} own_field;

typedef struct own_entry {
	int used, in_table;
	uint64_t ukey;
	char skey[STRLEN];
	uint64_t num[MAX_OWN_FIELDS];
	char str[MAX_OWN_FIELDS][STRLEN];
} own_entry;

typedef struct own_table {
	char name[STRLEN];
	ss_plugin_state_type key_type;
	own_field fields[MAX_OWN_FIELDS];
	int nfields;
	ss_plugin_table_fieldinfo infos[MAX_OWN_FIELDS];
	own_entry entries[MAX_OWN_ENTRIES];
	char* last_error; /* the plugin's */
} own_table;

/* ---- script state ------------------------------------------------------------------------------- */

typedef struct var {
	char name[16];
	int kind; /* 1 table, 2 field, 3 entry */
	void* ptr;
	ss_plugin_state_type type; /* key type (table) or field type (field) */
} var;

typedef struct plugin_state {
	char last_error[PLUGIN_MAX_ERRLEN];
	ss_plugin_owner_t* owner;
	ss_plugin_log_fn_t log_fn;
	const char* (*get_owner_last_error)(ss_plugin_owner_t*);
	const ss_plugin_init_tables_input* tables;
	ss_plugin_table_fields_vtable_ext* fields; /* kept from init for later phases */
	char* script[3];                            /* init, parse, open */
	var vars[MAX_VARS];
	int nvars;
	own_table own;
	/* per-call context */
	const char* phase;
	ss_plugin_table_reader_vtable_ext* reader;
	ss_plugin_table_writer_vtable_ext* writer;
	const ss_plugin_event_input* evt;
} plugin_state;

static const char* TYPE_NAMES[] = {"", "int8", "int16", "int32", "int64", "uint8", "uint16",
                                   "uint32", "uint64", "string", "table"};

static const char* type_name(ss_plugin_state_type t) {
	if (t == SS_PLUGIN_ST_BOOL) return "bool";
	if ((int)t >= 1 && (int)t <= 10) return TYPE_NAMES[t];
	return "?";
}

static int parse_type(const char* s) {
	if (strcmp(s, "bool") == 0) return SS_PLUGIN_ST_BOOL;
	for (int i = 1; i <= 10; i++)
		if (strcmp(s, TYPE_NAMES[i]) == 0) return i;
	return atoi(s); /* numbers pass through, to test invalid types */
}

static void logf_(plugin_state* s, const char* fmt, ...) {
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (s->log_fn) s->log_fn(s->owner, "script", line, SS_PLUGIN_LOG_SEV_INFO);
}

static const char* owner_err(plugin_state* s) {
	const char* e = s->get_owner_last_error ? s->get_owner_last_error(s->owner) : NULL;
	return e ? e : "(null)";
}

static var* find_var(plugin_state* s, const char* name) {
	for (int i = 0; i < s->nvars; i++)
		if (strcmp(s->vars[i].name, name) == 0) return &s->vars[i];
	return NULL;
}

static var* set_var(plugin_state* s, const char* name, int kind, void* ptr, ss_plugin_state_type type) {
	var* v = find_var(s, name);
	if (!v) {
		if (s->nvars >= MAX_VARS) return NULL;
		v = &s->vars[s->nvars++];
		snprintf(v->name, sizeof(v->name), "%s", name);
	}
	v->kind = kind;
	v->ptr = ptr;
	v->type = type;
	return v;
}

static void* get_ptr(plugin_state* s, const char* name, int kind, ss_plugin_state_type* type) {
	var* v = find_var(s, name);
	if (!v || v->kind != kind) return NULL;
	if (type) *type = v->type;
	return v->ptr;
}

/* A key or value literal for a state type; strings point into `text` (kept alive by the caller). */
static void parse_data(plugin_state* s, ss_plugin_state_type t, const char* text, ss_plugin_state_data* d) {
	memset(d, 0, sizeof(*d));
	if (strcmp(text, "$tid") == 0 && s->evt) {
		d->s64 = (int64_t)s->evt->evt->tid;
		return;
	}
	if (strcmp(text, "$num") == 0 && s->evt) {
		d->u64 = s->evt->evtnum;
		return;
	}
	switch (t) {
	case SS_PLUGIN_ST_INT8: d->s8 = (int8_t)strtoll(text, NULL, 10); break;
	case SS_PLUGIN_ST_INT16: d->s16 = (int16_t)strtoll(text, NULL, 10); break;
	case SS_PLUGIN_ST_INT32: d->s32 = (int32_t)strtoll(text, NULL, 10); break;
	case SS_PLUGIN_ST_INT64: d->s64 = strtoll(text, NULL, 10); break;
	case SS_PLUGIN_ST_UINT8: d->u8 = (uint8_t)strtoull(text, NULL, 10); break;
	case SS_PLUGIN_ST_UINT16: d->u16 = (uint16_t)strtoull(text, NULL, 10); break;
	case SS_PLUGIN_ST_UINT32: d->u32 = (uint32_t)strtoull(text, NULL, 10); break;
	case SS_PLUGIN_ST_UINT64: d->u64 = strtoull(text, NULL, 10); break;
	case SS_PLUGIN_ST_BOOL: d->b = strcmp(text, "true") == 0 || strcmp(text, "1") == 0; break;
	case SS_PLUGIN_ST_STRING: d->str = text; break;
	default: break;
	}
}

static void format_data(ss_plugin_state_type t, const ss_plugin_state_data* d, char* out, size_t cap) {
	switch (t) {
	case SS_PLUGIN_ST_INT8: snprintf(out, cap, "%d", d->s8); break;
	case SS_PLUGIN_ST_INT16: snprintf(out, cap, "%d", d->s16); break;
	case SS_PLUGIN_ST_INT32: snprintf(out, cap, "%d", d->s32); break;
	case SS_PLUGIN_ST_INT64: snprintf(out, cap, "%" PRId64, d->s64); break;
	case SS_PLUGIN_ST_UINT8: snprintf(out, cap, "%u", d->u8); break;
	case SS_PLUGIN_ST_UINT16: snprintf(out, cap, "%u", d->u16); break;
	case SS_PLUGIN_ST_UINT32: snprintf(out, cap, "%u", d->u32); break;
	case SS_PLUGIN_ST_UINT64: snprintf(out, cap, "%" PRIu64, d->u64); break;
	case SS_PLUGIN_ST_BOOL: snprintf(out, cap, "%s", d->b ? "true" : "false"); break;
	case SS_PLUGIN_ST_STRING: snprintf(out, cap, "'%s'", d->str ? d->str : "(null)"); break;
	case SS_PLUGIN_ST_TABLE: snprintf(out, cap, "%s", d->table ? "table" : "(null table)"); break;
	default: snprintf(out, cap, "?"); break;
	}
}

/* ---- the own table's vtable functions ------------------------------------------------------------ */

static void own_err(own_table* t, const char* fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->last_error, PLUGIN_MAX_ERRLEN, fmt, ap);
	va_end(ap);
}

static const ss_plugin_table_fieldinfo* own_list_fields(ss_plugin_table_t* _t, uint32_t* n) {
	own_table* t = _t;
	for (int i = 0; i < t->nfields; i++) {
		t->infos[i].name = t->fields[i].name;
		t->infos[i].field_type = t->fields[i].type;
		t->infos[i].read_only = 0;
	}
	*n = (uint32_t)t->nfields;
	return t->infos;
}

static own_field* own_find_field(own_table* t, const char* name) {
	for (int i = 0; i < t->nfields; i++)
		if (strcmp(t->fields[i].name, name) == 0) return &t->fields[i];
	return NULL;
}

static ss_plugin_table_field_t* own_get_field(ss_plugin_table_t* _t, const char* name, ss_plugin_state_type type) {
	own_table* t = _t;
	own_field* f = own_find_field(t, name);
	if (!f) {
		own_err(t, "owned: no such field: %s", name);
		return NULL;
	}
	if (f->type != type) {
		own_err(t, "owned: wrong type for field: %s", name);
		return NULL;
	}
	return f;
}

static ss_plugin_table_field_t* own_add_field(ss_plugin_table_t* _t, const char* name, ss_plugin_state_type type) {
	own_table* t = _t;
	own_field* f = own_find_field(t, name);
	if (f) return f->type == type ? f : NULL;
	if (t->nfields >= MAX_OWN_FIELDS) {
		own_err(t, "owned: too many fields");
		return NULL;
	}
	f = &t->fields[t->nfields];
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->type = type;
	f->index = t->nfields++;
	return f;
}

static const char* own_get_name(ss_plugin_table_t* _t) { return ((own_table*)_t)->name; }

static uint64_t own_get_size(ss_plugin_table_t* _t) {
	own_table* t = _t;
	uint64_t n = 0;
	for (int i = 0; i < MAX_OWN_ENTRIES; i++) n += t->entries[i].used && t->entries[i].in_table;
	return n;
}

static int own_key_eq(own_table* t, own_entry* e, const ss_plugin_state_data* k) {
	if (t->key_type == SS_PLUGIN_ST_STRING) return strcmp(e->skey, k->str) == 0;
	return e->ukey == k->u64;
}

static own_entry* own_lookup(own_table* t, const ss_plugin_state_data* k) {
	for (int i = 0; i < MAX_OWN_ENTRIES; i++) {
		own_entry* e = &t->entries[i];
		if (e->used && e->in_table && own_key_eq(t, e, k)) return e;
	}
	return NULL;
}

static ss_plugin_table_entry_t* own_get_entry(ss_plugin_table_t* _t, const ss_plugin_state_data* k) {
	own_table* t = _t;
	own_entry* e = own_lookup(t, k);
	if (!e) own_err(t, "owned: entry not found");
	return e;
}

static ss_plugin_rc own_read(ss_plugin_table_t* _t, ss_plugin_table_entry_t* _e, const ss_plugin_table_field_t* _f, ss_plugin_state_data* out) {
	own_entry* e = _e;
	const own_field* f = _f;
	(void)_t;
	if (f->type == SS_PLUGIN_ST_STRING) out->str = e->str[f->index];
	else if (f->type == SS_PLUGIN_ST_BOOL) out->b = (ss_plugin_bool)e->num[f->index];
	else out->u64 = e->num[f->index];
	return SS_PLUGIN_SUCCESS;
}

static void own_release(ss_plugin_table_t* t, ss_plugin_table_entry_t* e) {
	(void)t;
	(void)e;
}

static ss_plugin_bool own_iterate(ss_plugin_table_t* _t, ss_plugin_table_iterator_func_t it, ss_plugin_table_iterator_state_t* st) {
	own_table* t = _t;
	for (int i = 0; i < MAX_OWN_ENTRIES; i++) {
		own_entry* e = &t->entries[i];
		if (e->used && e->in_table && !it(st, e)) return 0;
	}
	return 1;
}

static ss_plugin_rc own_clear(ss_plugin_table_t* _t) {
	own_table* t = _t;
	for (int i = 0; i < MAX_OWN_ENTRIES; i++)
		if (t->entries[i].in_table) memset(&t->entries[i], 0, sizeof(own_entry));
	return SS_PLUGIN_SUCCESS;
}

static ss_plugin_rc own_erase(ss_plugin_table_t* _t, const ss_plugin_state_data* k) {
	own_table* t = _t;
	own_entry* e = own_lookup(t, k);
	if (!e) {
		own_err(t, "owned: no entry to erase");
		return SS_PLUGIN_FAILURE;
	}
	memset(e, 0, sizeof(*e));
	return SS_PLUGIN_SUCCESS;
}

static ss_plugin_table_entry_t* own_create(ss_plugin_table_t* _t) {
	own_table* t = _t;
	for (int i = 0; i < MAX_OWN_ENTRIES; i++) {
		if (!t->entries[i].used) {
			memset(&t->entries[i], 0, sizeof(own_entry));
			t->entries[i].used = 1;
			return &t->entries[i];
		}
	}
	own_err(t, "owned: table full");
	return NULL;
}

static void own_destroy(ss_plugin_table_t* t, ss_plugin_table_entry_t* _e) {
	own_entry* e = _e;
	(void)t;
	if (!e->in_table) memset(e, 0, sizeof(*e));
}

static ss_plugin_table_entry_t* own_add(ss_plugin_table_t* _t, const ss_plugin_state_data* k, ss_plugin_table_entry_t* _e) {
	own_table* t = _t;
	own_entry* e = _e;
	own_entry* old = own_lookup(t, k);
	if (old && old != e) memset(old, 0, sizeof(*old));
	if (t->key_type == SS_PLUGIN_ST_STRING) snprintf(e->skey, sizeof(e->skey), "%s", k->str);
	else e->ukey = k->u64;
	e->in_table = 1;
	return e;
}

static ss_plugin_rc own_write(ss_plugin_table_t* _t, ss_plugin_table_entry_t* _e, const ss_plugin_table_field_t* _f, const ss_plugin_state_data* in) {
	own_entry* e = _e;
	const own_field* f = _f;
	(void)_t;
	if (f->type == SS_PLUGIN_ST_STRING) snprintf(e->str[f->index], STRLEN, "%s", in->str ? in->str : "");
	else if (f->type == SS_PLUGIN_ST_BOOL) e->num[f->index] = in->b;
	else e->num[f->index] = in->u64;
	return SS_PLUGIN_SUCCESS;
}

static ss_plugin_rc other_clear(ss_plugin_table_t* t) {
	(void)t;
	return SS_PLUGIN_FAILURE;
}

static ss_plugin_table_reader_vtable_ext OWN_READER = {own_get_name, own_get_size, own_get_entry, own_read, own_release, own_iterate};
static ss_plugin_table_writer_vtable_ext OWN_WRITER = {own_clear, own_erase, own_create, own_destroy, own_add, own_write};
static ss_plugin_table_fields_vtable_ext OWN_FIELDS = {own_list_fields, own_get_field, own_add_field};

static ss_plugin_rc add_own_table(plugin_state* s, const char* name, ss_plugin_state_type kt, const char* variant) {
	ss_plugin_table_input in;
	own_table* t = &s->own;
	memset(&in, 0, sizeof(in));
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->key_type = kt;
	t->last_error = s->last_error;
	t->nfields = 0;
	own_add_field(t, "value", SS_PLUGIN_ST_UINT64);
	own_add_field(t, "label", SS_PLUGIN_ST_STRING);
	in.name = t->name;
	in.key_type = kt;
	in.table = t;
	in.reader.get_table_name = own_get_name;
	in.reader.get_table_size = own_get_size;
	in.reader.get_table_entry = own_get_entry;
	in.reader.read_entry_field = own_read;
	in.writer.clear_table = own_clear;
	in.writer.erase_table_entry = own_erase;
	in.writer.create_table_entry = own_create;
	in.writer.destroy_table_entry = own_destroy;
	in.writer.add_table_entry = own_add;
	in.writer.write_entry_field = own_write;
	in.fields.list_table_fields = own_list_fields;
	in.fields.get_table_field = own_get_field;
	in.fields.add_table_field = own_add_field;
	in.reader_ext = &OWN_READER;
	in.writer_ext = &OWN_WRITER;
	in.fields_ext = &OWN_FIELDS;
	static ss_plugin_table_reader_vtable_ext no_release;
	if (strcmp(variant, "nullinput") == 0) return s->tables->add_table(s->owner, NULL);
	if (strcmp(variant, "nullname") == 0) in.name = NULL;
	if (strcmp(variant, "noext") == 0) in.writer_ext = NULL;
	if (strcmp(variant, "badreader") == 0) in.reader.get_table_size = NULL;
	if (strcmp(variant, "badwriter") == 0) in.writer.clear_table = other_clear;
	if (strcmp(variant, "badfields") == 0) in.fields.add_table_field = NULL;
	if (strcmp(variant, "badkey") == 0) in.key_type = (ss_plugin_state_type)77;
	if (strcmp(variant, "norelease") == 0) {
		no_release = OWN_READER;
		no_release.release_table_entry = NULL;
		in.reader_ext = &no_release;
	}
	return s->tables->add_table(s->owner, &in);
}

/* ---- the script interpreter ----------------------------------------------------------------- */

static ss_plugin_bool count_iter(ss_plugin_table_iterator_state_t* st, ss_plugin_table_entry_t* e) {
	int* c = st; /* c[0] visited, c[1] max (0: no limit) */
	(void)e;
	c[0]++;
	return c[1] == 0 || c[0] < c[1];
}

#define FAIL_OR_OK(cond) ((cond) ? "ok" : "FAIL")

static void run_op(plugin_state* s, char* op) {
	char* argv[8] = {0};
	int argc = 0;
	char orig[512];
	char res[1024] = "";
	ss_plugin_state_type tt = 0, ft = 0;
	snprintf(orig, sizeof(orig), "%s", op);
	for (char* tok = strtok(op, " \t"); tok && argc < 8; tok = strtok(NULL, " \t")) argv[argc++] = tok;
	if (argc == 0) return;
	const char* cmd = argv[0];
	ss_plugin_table_reader_vtable_ext* r = s->reader;
	ss_plugin_table_writer_vtable_ext* w = s->writer;

	if (strcmp(cmd, "list") == 0) {
		uint32_t n = 0;
		ss_plugin_table_info* infos = s->tables ? s->tables->list_tables(s->owner, &n) : NULL;
		int off = snprintf(res, sizeof(res), "ok n=%u", n);
		for (uint32_t i = 0; infos && i < n && off < (int)sizeof(res); i++)
			off += snprintf(res + off, sizeof(res) - off, "%s%s:%s", i ? "," : " ", infos[i].name, type_name(infos[i].key_type));
	} else if (strcmp(cmd, "table") == 0 && argc >= 4) {
		int kt = parse_type(argv[3]);
		ss_plugin_table_t* t = s->tables->get_table(s->owner, argv[2], (ss_plugin_state_type)kt);
		if (t) {
			set_var(s, argv[1], 1, t, (ss_plugin_state_type)kt);
			snprintf(res, sizeof(res), "ok");
		} else {
			snprintf(res, sizeof(res), "null %s", owner_err(s));
		}
	} else if (strcmp(cmd, "fields") == 0 && argc >= 2) {
		uint32_t n = 0;
		ss_plugin_table_t* t = get_ptr(s, argv[1], 1, NULL);
		const ss_plugin_table_fieldinfo* fi = t ? s->fields->list_table_fields(t, &n) : NULL;
		if (!fi) {
			snprintf(res, sizeof(res), "FAIL %s", owner_err(s));
		} else {
			int off = snprintf(res, sizeof(res), "ok n=%u", n);
			for (uint32_t i = 0; i < n && off < (int)sizeof(res); i++)
				off += snprintf(res + off, sizeof(res) - off, "%s%s:%s:%u", i ? "," : " ", fi[i].name, type_name(fi[i].field_type), fi[i].read_only);
		}
	} else if ((strcmp(cmd, "field") == 0 || strcmp(cmd, "addfield") == 0) && argc >= 5) {
		ss_plugin_table_t* t = get_ptr(s, argv[2], 1, NULL);
		int type = parse_type(argv[4]);
		ss_plugin_table_field_t* f = NULL;
		if (t) {
			f = cmd[0] == 'f' ? s->fields->get_table_field(t, argv[3], (ss_plugin_state_type)type)
			                  : s->fields->add_table_field(t, argv[3], (ss_plugin_state_type)type);
		}
		if (f) {
			set_var(s, argv[1], 2, f, (ss_plugin_state_type)type);
			snprintf(res, sizeof(res), "ok");
		} else {
			snprintf(res, sizeof(res), "FAIL %s", owner_err(s));
		}
	} else if (strcmp(cmd, "name") == 0 && argc >= 2) {
		ss_plugin_table_t* t = get_ptr(s, argv[1], 1, NULL);
		const char* n = t ? r->get_table_name(t) : NULL;
		snprintf(res, sizeof(res), n ? "ok %s" : "FAIL", n);
	} else if (strcmp(cmd, "size") == 0 && argc >= 2) {
		ss_plugin_table_t* t = get_ptr(s, argv[1], 1, NULL);
		uint64_t n = t ? r->get_table_size(t) : UINT64_MAX;
		if (n == UINT64_MAX) snprintf(res, sizeof(res), "FAIL %s", owner_err(s));
		else snprintf(res, sizeof(res), "ok %" PRIu64, n);
	} else if (strcmp(cmd, "get") == 0 && argc >= 4) {
		ss_plugin_table_t* t = get_ptr(s, argv[2], 1, &tt);
		ss_plugin_state_data key;
		ss_plugin_table_entry_t* e;
		parse_data(s, tt, argv[3], &key);
		e = t ? r->get_table_entry(t, &key) : NULL;
		if (e) {
			set_var(s, argv[1], 3, e, 0);
			snprintf(res, sizeof(res), "ok");
		} else {
			snprintf(res, sizeof(res), "FAIL %s", owner_err(s));
		}
	} else if (strcmp(cmd, "create") == 0 && argc >= 3) {
		ss_plugin_table_t* t = get_ptr(s, argv[2], 1, NULL);
		ss_plugin_table_entry_t* e = t ? w->create_table_entry(t) : NULL;
		if (e) set_var(s, argv[1], 3, e, 0);
		snprintf(res, sizeof(res), e ? "ok" : "FAIL %s", owner_err(s));
	} else if (strcmp(cmd, "add") == 0 && argc >= 5) {
		ss_plugin_table_t* t = get_ptr(s, argv[2], 1, &tt);
		ss_plugin_table_entry_t* e2 = get_ptr(s, argv[4], 3, NULL);
		ss_plugin_state_data key;
		ss_plugin_table_entry_t* e;
		parse_data(s, tt, argv[3], &key);
		e = t ? w->add_table_entry(t, &key, e2) : NULL; /* a missing E2 is NULL */
		if (e) set_var(s, argv[1], 3, e, 0);
		snprintf(res, sizeof(res), e ? "ok" : "FAIL %s", owner_err(s));
	} else if (strcmp(cmd, "destroy") == 0 && argc >= 3) {
		ss_plugin_table_t* t = get_ptr(s, argv[1], 1, NULL);
		ss_plugin_table_entry_t* e = get_ptr(s, argv[2], 3, NULL);
		if (t) w->destroy_table_entry(t, e); /* a missing E is NULL */
		snprintf(res, sizeof(res), "done");
	} else if (strcmp(cmd, "release") == 0 && argc >= 3) {
		ss_plugin_table_t* t = get_ptr(s, argv[1], 1, NULL);
		ss_plugin_table_entry_t* e = get_ptr(s, argv[2], 3, NULL);
		if (t && e) r->release_table_entry(t, e);
		snprintf(res, sizeof(res), "done");
	} else if ((strcmp(cmd, "read") == 0 && argc >= 4) || (strcmp(cmd, "sub") == 0 && argc >= 6)) {
		int sub = cmd[0] == 's';
		ss_plugin_table_entry_t* e = get_ptr(s, argv[1 + sub], 3, NULL);
		ss_plugin_table_field_t* f = get_ptr(s, argv[2 + sub], 2, &ft);
		ss_plugin_table_t* t = get_ptr(s, argv[3 + sub], 1, NULL);
		ss_plugin_state_data out;
		memset(&out, 0xAB, sizeof(out)); /* the host must zero it */
		if (t && e && f && r->read_entry_field(t, e, f, &out) == SS_PLUGIN_SUCCESS) {
			char val[512];
			format_data(ft, &out, val, sizeof(val));
			snprintf(res, sizeof(res), "ok %s", val);
			if (sub && out.table) set_var(s, argv[1], 1, out.table, (ss_plugin_state_type)parse_type(argv[5]));
		} else {
			snprintf(res, sizeof(res), "FAIL %s", owner_err(s));
		}
	} else if (strcmp(cmd, "write") == 0 && argc >= 5) {
		ss_plugin_table_entry_t* e = get_ptr(s, argv[1], 3, NULL);
		ss_plugin_table_field_t* f = get_ptr(s, argv[2], 2, &ft);
		ss_plugin_table_t* t = get_ptr(s, argv[3], 1, NULL);
		ss_plugin_state_data in;
		parse_data(s, ft, argv[4], &in);
		if (t && e && f && w->write_entry_field(t, e, f, &in) == SS_PLUGIN_SUCCESS) snprintf(res, sizeof(res), "ok");
		else snprintf(res, sizeof(res), "FAIL %s", owner_err(s));
	} else if (strcmp(cmd, "erase") == 0 && argc >= 3) {
		ss_plugin_table_t* t = get_ptr(s, argv[1], 1, &tt);
		ss_plugin_state_data key;
		parse_data(s, tt, argv[2], &key);
		if (t && w->erase_table_entry(t, &key) == SS_PLUGIN_SUCCESS) snprintf(res, sizeof(res), "ok");
		else snprintf(res, sizeof(res), "FAIL %s", owner_err(s));
	} else if (strcmp(cmd, "clear") == 0 && argc >= 2) {
		ss_plugin_table_t* t = get_ptr(s, argv[1], 1, NULL);
		if (t && w->clear_table(t) == SS_PLUGIN_SUCCESS) snprintf(res, sizeof(res), "ok");
		else snprintf(res, sizeof(res), "FAIL %s", owner_err(s));
	} else if (strcmp(cmd, "iter") == 0 && argc >= 2) {
		ss_plugin_table_t* t = get_ptr(s, argv[1], 1, NULL);
		int c[2] = {0, argc >= 3 ? atoi(argv[2]) : 0};
		ss_plugin_bool ret = t ? r->iterate_entries(t, count_iter, c) : 0;
		snprintf(res, sizeof(res), "ok ret=%u visited=%d", ret, c[0]);
	} else if (strcmp(cmd, "own") == 0 && argc >= 3) {
		ss_plugin_rc rc = add_own_table(s, argv[1], (ss_plugin_state_type)parse_type(argv[2]), argc >= 4 ? argv[3] : "good");
		snprintf(res, sizeof(res), rc == SS_PLUGIN_SUCCESS ? "ok" : "FAIL %s", owner_err(s));
	} else if (strcmp(cmd, "lasterr") == 0) {
		snprintf(res, sizeof(res), "ok %s", owner_err(s));
	} else if (strcmp(cmd, "legacy") == 0) {
		const ss_plugin_init_tables_input* ti = s->tables;
		int same = ti && ti->fields.get_table_field == ti->fields_ext->get_table_field &&
		           ti->fields.add_table_field == ti->fields_ext->add_table_field &&
		           ti->fields.list_table_fields == ti->fields_ext->list_table_fields;
		snprintf(res, sizeof(res), "%s", FAIL_OR_OK(same));
	} else {
		snprintf(res, sizeof(res), "unknown operation");
	}
	logf_(s, "%s: %s => %s", s->phase, orig, res);
}

static void run_script(plugin_state* s, int phase) {
	static const char* names[] = {"init", "parse", "open"};
	char* copy;
	char* save = NULL;
	if (!s->script[phase]) return;
	copy = strdup(s->script[phase]);
	s->phase = names[phase];
	for (char* op = strtok_r(copy, ";", &save); op; op = strtok_r(NULL, ";", &save)) {
		while (*op == ' ') op++;
		run_op(s, op);
	}
	free(copy);
}

static void split_script(plugin_state* s, const char* config) {
	char* copy = strdup(config ? config : "");
	char* save = NULL;
	for (char* part = strtok_r(copy, "|", &save); part; part = strtok_r(NULL, "|", &save)) {
		while (*part == ' ') part++;
		if (strncmp(part, "init:", 5) == 0) s->script[0] = strdup(part + 5);
		else if (strncmp(part, "parse:", 6) == 0) s->script[1] = strdup(part + 6);
		else if (strncmp(part, "open:", 5) == 0) s->script[2] = strdup(part + 5);
	}
	free(copy);
}

/* ---- the plugin API ------------------------------------------------------------------------------ */

const char* plugin_get_required_api_version(void) { return API_VERSION; }
const char* plugin_get_version(void) { return "0.1.0"; }
const char* plugin_get_name(void) { return PLUGIN_NAME; }
const char* plugin_get_description(void) { return "falcoplug test plugin: scripted state-table operations"; }
const char* plugin_get_contact(void) { return "falcoplug tests"; }

ss_plugin_t* plugin_init(const ss_plugin_init_input* in, ss_plugin_rc* rc) {
	plugin_state* s = calloc(1, sizeof(*s));
	if (!s) {
		*rc = SS_PLUGIN_FAILURE;
		return NULL;
	}
	s->owner = in->owner;
	s->log_fn = in->log_fn;
	s->get_owner_last_error = in->get_owner_last_error;
	s->tables = in->tables;
	if (in->tables) {
		s->fields = in->tables->fields_ext;
		s->reader = in->tables->reader_ext;
		s->writer = in->tables->writer_ext;
	}
	split_script(s, in->config);
	run_script(s, 0);
	*rc = SS_PLUGIN_SUCCESS;
	return s;
}

void plugin_destroy(ss_plugin_t* st) {
	plugin_state* s = st;
	for (int i = 0; i < 3; i++) free(s->script[i]);
	free(s);
}

const char* plugin_get_last_error(ss_plugin_t* s) { return ((plugin_state*)s)->last_error; }

ss_plugin_rc plugin_parse_event(ss_plugin_t* st, const ss_plugin_event_input* ev, const ss_plugin_event_parse_input* in) {
	plugin_state* s = st;
	s->reader = in->table_reader_ext;
	s->writer = in->table_writer_ext;
	s->evt = ev;
	run_script(s, 1);
	s->evt = NULL;
	return SS_PLUGIN_SUCCESS;
}

ss_plugin_rc plugin_capture_open(ss_plugin_t* st, const ss_plugin_capture_listen_input* in) {
	plugin_state* s = st;
	s->reader = in->table_reader_ext;
	s->writer = in->table_writer_ext;
	run_script(s, 2);
	return SS_PLUGIN_SUCCESS;
}

ss_plugin_rc plugin_capture_close(ss_plugin_t* st, const ss_plugin_capture_listen_input* in) {
	(void)st;
	(void)in;
	return SS_PLUGIN_SUCCESS;
}
