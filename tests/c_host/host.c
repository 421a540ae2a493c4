/*
 * A plain C host for Falco plugins (plugin API 3.12), without Python: the reference that falcoplug's
 * own host is compared with, and the "C floor" of the benchmarks.
 *
 * Usage:
 *   host dump  [-o] [-v] [-x EXTLIB EXTCONFIG]... LIB CONFIG PARAMS [FIELD...]
 *   host bench [-o] [-v] [-x EXTLIB EXTCONFIG]... LIB CONFIG PARAMS [FIELD...]
 *
 *   LIB, CONFIG, PARAMS  the sourcing plugin, its init config and its open parameters
 *   -x EXTLIB EXTCONFIG  also load an extraction plugin (repeatable); its fields can be requested
 *   -o                   ask for value offsets (ss_plugin_field_extract_input.value_offsets)
 *   -v                   print the plugins' log messages on stderr (they are dropped otherwise)
 *   FIELD                a field name, with an optional argument: name or name[arg]
 *
 * Loading follows libsinsp: dlopen(RTLD_LOCAL|RTLD_NOW), the required API version must be
 * compatible with 3.12.0, the 8 required symbols must exist, the version must read as M.m.p, and the
 * capabilities must be consistent. init gets the config ("" becomes "{}" when the plugin has a JSON
 * init schema; the config is not validated against the schema), a log function, and (for plugins
 * with extraction or parsing) a tables input in which no table exists. Field types, list flags and
 * argument kinds come from each plugin's get_fields JSON (a small JSON parser is included below).
 * A field is looked up in the sourcing plugin first, then in the -x plugins in order.
 *
 * Events: numbered from 1. Like libsinsp, the host checks and fixes each event in place: a plugin
 * with an ID must produce 322 events with 2 params; a 322 event with plugin_id 0 gets the plugin's ID
 * (an ID-less plugin may not produce one); the tid of a 322 event is set to -1; ts UINT64_MAX becomes
 * the current time. A 322 event carrying the sourcing plugin's ID belongs to its event source; a 322
 * with another ID has an unknown source (evtsrc NULL, nothing is extracted); every other event type
 * belongs to "syscall". A plugin extracts only from events of a compatible source (its
 * get_extract_event_sources, plus its own source) and type (get_extract_event_types; by default
 * every type if it is compatible with "syscall", else 322 only).
 *
 * Each plugin is asked for all its requested fields of an event in ONE extract_fields call, with
 * request arrays allocated once. libsinsp asks for one field per call, where a failing field hides
 * only itself; to give the same values, when a call for several fields returns an error, dump asks
 * again for each field alone (bench does not, it renders nothing). An error rc means no value.
 *
 * dump prints one line per event:
 *   <evtnum> <ts> <type> <plugin_id> <payload hex> [ <FIELD>=<value>]...
 * where the payload is the data of a 322 event (bytes 38..len), or for other event types every byte
 * after the 26-byte header; "-" when empty. plugin_id is 0 for events other than 322. Values are
 * rendered like libsinsp: uint64/reltime/abstime in decimal, strings as they are, bools true/false,
 * IPv4 dotted, IPv6 with inet_ntop, ipnet as <IPNET>, lists as (a,b,c), and <NA> when there is no
 * value (res_len 0, extraction failed, or the event is not compatible with the plugin). With -o,
 * each value is followed by @<start>+<length>, read from the offset arrays at the index of the field
 * within the call, or @- when the plugin did not fill them.
 *
 * bench runs the same loop without printing and prints one JSON line:
 *   {"events": N, "seconds": S, "events_per_sec": R, "extract_calls": M}
 * timed with CLOCK_MONOTONIC from just before the first next_batch to the end of the capture.
 *
 * Any failure (load, init, open, a FAILURE or NOT_SUPPORTED from next_batch, a malformed event or
 * extraction result) prints "error: <message>" on stderr and exits with status 1. With -v, log
 * messages from plugins go to stderr as "[<severity>] <component or plugin name>: <message>".
 */
#define _GNU_SOURCE
#include "falcoplug/plugin_api.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FRAMEWORK_MAJOR PLUGIN_API_VERSION_MAJOR
#define FRAMEWORK_MINOR PLUGIN_API_VERSION_MINOR
#define FRAMEWORK_PATCH PLUGIN_API_VERSION_PATCH
#define EVT_HEADER_LEN 26
#define PPME_PLUGINEVENT_E 322

static const char SYSCALL_SOURCE[] = "syscall";

__attribute__((noreturn, format(printf, 1, 2)))
static void die(const char* fmt, ...) {
	va_list ap;
	fflush(stdout);
	fputs("error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void* xcalloc(size_t n, size_t size) {
	void* p = calloc(n ? n : 1, size ? size : 1);
	if (!p) die("out of memory");
	return p;
}

static char* xstrdup(const char* s) {
	char* p = strdup(s);
	if (!p) die("out of memory");
	return p;
}

/* ==== a small JSON parser (enough for get_fields and the *_sources lists) ===================== */

typedef enum { J_NULL, J_BOOL, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT } json_type;

typedef struct json {
	json_type type;
	int boolean;
	double number;
	char* string;        /* J_STRING (UTF-8, NUL-terminated) */
	size_t count;        /* J_ARRAY / J_OBJECT */
	struct json* items;  /* values */
	char** keys;         /* J_OBJECT: one key per item */
} json;

typedef struct json_parser {
	const char* p;
	const char* error;
} json_parser;

static int json_value(json_parser* jp, json* out, int depth);

static void json_ws(json_parser* jp) {
	while (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n' || *jp->p == '\r') jp->p++;
}

static int json_fail(json_parser* jp, const char* what) {
	if (!jp->error) jp->error = what;
	return -1;
}

static void utf8_put(char* buf, size_t* n, unsigned long cp) {
	if (cp < 0x80) {
		buf[(*n)++] = (char)cp;
	} else if (cp < 0x800) {
		buf[(*n)++] = (char)(0xc0 | (cp >> 6));
		buf[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		buf[(*n)++] = (char)(0xe0 | (cp >> 12));
		buf[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		buf[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		buf[(*n)++] = (char)(0xf0 | (cp >> 18));
		buf[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		buf[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		buf[(*n)++] = (char)(0x80 | (cp & 0x3f));
	}
}

static int json_hex4(const char* p, unsigned long* out) {
	unsigned long v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9') v |= (unsigned long)(c - '0');
		else if (c >= 'a' && c <= 'f') v |= (unsigned long)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F') v |= (unsigned long)(c - 'A' + 10);
		else return -1;
	}
	*out = v;
	return 0;
}

/* A string at jp->p (on the opening quote); an escaped text never grows when decoded, so a
 * buffer as long as the raw text is enough. */
static int json_string(json_parser* jp, char** out) {
	const char* start = ++jp->p;
	const char* end = start;
	char* buf;
	size_t n = 0;
	while (*end && *end != '"') end += (*end == '\\' && end[1]) ? 2 : 1;
	if (*end != '"') return json_fail(jp, "unterminated string");
	buf = xcalloc((size_t)(end - start) + 1, 1);
	while (jp->p < end) {
		unsigned char c = (unsigned char)*jp->p++;
		if (c < 0x20) {
			free(buf);
			return json_fail(jp, "control character in string");
		}
		if (c != '\\') {
			buf[n++] = (char)c;
			continue;
		}
		c = (unsigned char)*jp->p++;
		switch (c) {
		case '"': case '\\': case '/': buf[n++] = (char)c; break;
		case 'b': buf[n++] = '\b'; break;
		case 'f': buf[n++] = '\f'; break;
		case 'n': buf[n++] = '\n'; break;
		case 'r': buf[n++] = '\r'; break;
		case 't': buf[n++] = '\t'; break;
		case 'u': {
			unsigned long cp, low;
			if (jp->p + 4 > end || json_hex4(jp->p, &cp) != 0) goto bad_escape;
			jp->p += 4;
			/* a high surrogate followed by \uDC00-\uDFFF makes one code point */
			if (cp >= 0xd800 && cp < 0xdc00 && jp->p + 6 <= end && jp->p[0] == '\\' &&
			    jp->p[1] == 'u' && json_hex4(jp->p + 2, &low) == 0 && low >= 0xdc00 && low < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
				jp->p += 6;
			}
			utf8_put(buf, &n, cp);
			break;
		}
		default:
			goto bad_escape;
		}
	}
	buf[n] = '\0';
	jp->p = end + 1;
	*out = buf;
	return 0;
bad_escape:
	free(buf);
	return json_fail(jp, "invalid escape in string");
}

static void json_free(json* v) {
	for (size_t i = 0; i < v->count; i++) {
		json_free(&v->items[i]);
		if (v->keys) free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->string);
	memset(v, 0, sizeof(*v));
}

/* Appends a zeroed item to an array or object under construction; returns it. */
static json* json_push(json* v, size_t* cap) {
	if (v->count == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		v->items = realloc(v->items, *cap * sizeof(*v->items));
		if (v->type == J_OBJECT) v->keys = realloc(v->keys, *cap * sizeof(*v->keys));
		if (!v->items || (v->type == J_OBJECT && !v->keys)) die("out of memory");
	}
	memset(&v->items[v->count], 0, sizeof(json));
	return &v->items[v->count++];
}

static int json_container(json_parser* jp, json* out, int depth) {
	char close = *jp->p == '[' ? ']' : '}';
	size_t cap = 0;
	out->type = close == ']' ? J_ARRAY : J_OBJECT;
	jp->p++;
	json_ws(jp);
	if (*jp->p == close) {
		jp->p++;
		return 0;
	}
	for (;;) {
		char* key = NULL;
		json* item;
		json_ws(jp);
		if (out->type == J_OBJECT) {
			if (*jp->p != '"' || json_string(jp, &key) != 0) return json_fail(jp, "expected a key");
			json_ws(jp);
			if (*jp->p++ != ':') {
				free(key);
				return json_fail(jp, "expected ':'");
			}
		}
		item = json_push(out, &cap);
		if (out->keys) out->keys[out->count - 1] = key;
		if (json_value(jp, item, depth + 1) != 0) return -1;
		json_ws(jp);
		if (*jp->p == ',') {
			jp->p++;
			continue;
		}
		if (*jp->p == close) {
			jp->p++;
			return 0;
		}
		return json_fail(jp, "expected ',' or the end of a container");
	}
}

static int json_value(json_parser* jp, json* out, int depth) {
	if (depth > 64) return json_fail(jp, "nested too deeply");
	json_ws(jp);
	switch (*jp->p) {
	case '{':
	case '[':
		return json_container(jp, out, depth);
	case '"':
		out->type = J_STRING;
		return json_string(jp, &out->string);
	case 't':
		if (strncmp(jp->p, "true", 4) != 0) break;
		out->type = J_BOOL;
		out->boolean = 1;
		jp->p += 4;
		return 0;
	case 'f':
		if (strncmp(jp->p, "false", 5) != 0) break;
		out->type = J_BOOL;
		jp->p += 5;
		return 0;
	case 'n':
		if (strncmp(jp->p, "null", 4) != 0) break;
		out->type = J_NULL;
		jp->p += 4;
		return 0;
	default: {
		char* end;
		if (*jp->p != '-' && (*jp->p < '0' || *jp->p > '9')) break;
		out->type = J_NUMBER;
		out->number = strtod(jp->p, &end);
		jp->p = end;
		return 0;
	}
	}
	return json_fail(jp, "unexpected character");
}

/* Parses a whole document; returns NULL (and sets *error) when it is not valid JSON. */
static json* json_parse(const char* text, const char** error) {
	json_parser jp = {text, NULL};
	json* v = xcalloc(1, sizeof(*v));
	if (json_value(&jp, v, 0) == 0) {
		json_ws(&jp);
		if (*jp.p == '\0') return v;
		json_fail(&jp, "trailing characters");
	}
	*error = jp.error;
	json_free(v);
	free(v);
	return NULL;
}

static const json* json_get(const json* obj, const char* key) {
	if (obj->type != J_OBJECT) return NULL;
	for (size_t i = 0; i < obj->count; i++)
		if (strcmp(obj->keys[i], key) == 0) return &obj->items[i];
	return NULL;
}

static int json_flag(const json* obj, const char* key) {
	const json* v = json_get(obj, key);
	return v && v->type == J_BOOL && v->boolean;
}

/* ==== host callbacks: owner errors, logging, and a tables input without tables ================ */

static char owner_error[PLUGIN_MAX_ERRLEN];
static int verbose; /* -v: print plugin logs */

static const char* host_owner_last_error(ss_plugin_owner_t* o) {
	(void)o;
	return owner_error[0] ? owner_error : NULL;
}

static void host_log(ss_plugin_owner_t* o, const char* component, const char* msg,
                     ss_plugin_log_severity sev) {
	static const char* names[] = {"?", "fatal", "critical", "error", "warning",
	                              "notice", "info", "debug", "trace"};
	const char* plugin_name = o ? *(const char**)o : "?"; /* the owner is a plugin (name first) */
	if (!verbose) return;
	fprintf(stderr, "[%s] %s: %s\n", sev >= 1 && sev <= 8 ? names[sev] : names[0],
	        component ? component : plugin_name, msg ? msg : "");
}

static ss_plugin_table_fieldinfo no_fields[1];
static ss_plugin_table_info no_tables[1];

static ss_plugin_table_info* t_list_tables(ss_plugin_owner_t* o, uint32_t* n) {
	(void)o;
	*n = 0;
	return no_tables;
}
static ss_plugin_table_t* t_get_table(ss_plugin_owner_t* o, const char* name, ss_plugin_state_type k) {
	(void)o;
	(void)k;
	snprintf(owner_error, sizeof(owner_error), "the C host has no table '%s'", name ? name : "");
	return NULL;
}
static ss_plugin_rc t_add_table(ss_plugin_owner_t* o, const ss_plugin_table_input* in) {
	(void)o;
	(void)in;
	snprintf(owner_error, sizeof(owner_error), "the C host does not support plugin tables");
	return SS_PLUGIN_FAILURE;
}
/* No table handle is ever handed out, so the per-table functions below can only fail. */
static const ss_plugin_table_fieldinfo* t_list_fields(ss_plugin_table_t* t, uint32_t* n) {
	(void)t;
	*n = 0;
	return no_fields;
}
static ss_plugin_table_field_t* t_get_field(ss_plugin_table_t* t, const char* n, ss_plugin_state_type d) {
	(void)t, (void)n, (void)d;
	return NULL;
}
static const char* t_name(ss_plugin_table_t* t) { (void)t; return ""; }
static uint64_t t_size(ss_plugin_table_t* t) { (void)t; return UINT64_MAX; }
static ss_plugin_table_entry_t* t_get_entry(ss_plugin_table_t* t, const ss_plugin_state_data* k) {
	(void)t, (void)k;
	return NULL;
}
static ss_plugin_rc t_read(ss_plugin_table_t* t, ss_plugin_table_entry_t* e,
                           const ss_plugin_table_field_t* f, ss_plugin_state_data* out) {
	(void)t, (void)e, (void)f, (void)out;
	return SS_PLUGIN_FAILURE;
}
static void t_release(ss_plugin_table_t* t, ss_plugin_table_entry_t* e) { (void)t, (void)e; }
static ss_plugin_bool t_iterate(ss_plugin_table_t* t, ss_plugin_table_iterator_func_t it,
                                ss_plugin_table_iterator_state_t* s) {
	(void)t, (void)it, (void)s;
	return 0;
}
static ss_plugin_rc t_clear(ss_plugin_table_t* t) { (void)t; return SS_PLUGIN_FAILURE; }
static ss_plugin_rc t_erase(ss_plugin_table_t* t, const ss_plugin_state_data* k) {
	(void)t, (void)k;
	return SS_PLUGIN_FAILURE;
}
static ss_plugin_table_entry_t* t_create(ss_plugin_table_t* t) { (void)t; return NULL; }
static void t_destroy(ss_plugin_table_t* t, ss_plugin_table_entry_t* e) { (void)t, (void)e; }
static ss_plugin_table_entry_t* t_add(ss_plugin_table_t* t, const ss_plugin_state_data* k,
                                      ss_plugin_table_entry_t* e) {
	(void)t, (void)k, (void)e;
	return NULL;
}
static ss_plugin_rc t_write(ss_plugin_table_t* t, ss_plugin_table_entry_t* e,
                            const ss_plugin_table_field_t* f, const ss_plugin_state_data* in) {
	(void)t, (void)e, (void)f, (void)in;
	return SS_PLUGIN_FAILURE;
}

static ss_plugin_table_fields_vtable_ext fields_ext = {t_list_fields, t_get_field, t_get_field};
static ss_plugin_table_reader_vtable_ext reader_ext = {t_name, t_size, t_get_entry, t_read,
                                                       t_release, t_iterate};
static ss_plugin_table_writer_vtable_ext writer_ext = {t_clear, t_erase, t_create,
                                                       t_destroy, t_add, t_write};
static const ss_plugin_init_tables_input tables_input = {
	t_list_tables, t_get_table, t_add_table,
	{t_list_fields, t_get_field, t_get_field},
	&fields_ext, &reader_ext, &writer_ext,
};

/* ==== plugins ================================================================================ */

typedef struct field_def {
	char* name;
	uint32_t type;
	int is_list, is_key, is_index, is_required;
} field_def;

/* The symbols we use, typed after the declarations in plugin_api.h. */
#define PLUGIN_SYMBOLS(X) \
	X(get_required_api_version) X(get_version) X(get_name) X(get_description) X(get_contact) \
	X(init) X(destroy) X(get_last_error) X(get_init_schema) X(get_id) X(get_event_source) \
	X(open) X(close) X(next_batch) X(get_fields) X(extract_fields) \
	X(get_extract_event_sources) X(get_extract_event_types) X(parse_event)

typedef struct plugin {
	char* name; /* first: the log callback reads it through the owner pointer */
	const char* path;
	void* lib;
#define DECLARE_SYMBOL(sym) __typeof__(plugin_##sym)* sym;
	PLUGIN_SYMBOLS(DECLARE_SYMBOL)
#undef DECLARE_SYMBOL
	ss_plugin_t* state;
	uint32_t id;
	char* source;
	int sourcing, extraction;

	field_def* fields;
	size_t nfields;
	char** sources; /* extraction sources; none = every source */
	size_t nsources;
	uint8_t* types; /* bitmap of the event types it extracts from; NULL = every type */
	int compat_own, compat_syscall; /* extraction compatible with the input's source / syscall */

	/* the requests of one extract_fields call, built once */
	ss_plugin_extract_field* req;
	uint32_t nreq;
	ss_plugin_rc last_rc;
	int called; /* whether extract_fields ran for the current event */
	ss_plugin_extract_value_offsets offsets;
} plugin;

typedef struct column {
	const char* spec; /* as given on the command line */
	plugin* p;
	uint32_t index; /* in p->req */
	const field_def* def;
} column;

static void check_version(const char* what, const char* v, int api) {
	unsigned major, minor, patch;
	if (!v || sscanf(v, "%u.%u.%u", &major, &minor, &patch) != 3) {
		if (api) die("plugin provided an invalid required API version: '%s'", v ? v : "");
		die("plugin provided an invalid version string: '%s'", v ? v : "");
	}
	if (!api) return;
	const char* why = NULL;
	if (major != FRAMEWORK_MAJOR) why = "major versions disagree";
	else if (minor > FRAMEWORK_MINOR) why = "framework's minor is less than the requested one";
	else if (minor == FRAMEWORK_MINOR && patch > FRAMEWORK_PATCH)
		why = "framework's patch is less than the requested one";
	if (why)
		die("%s: plugin required API version '%s' not compatible with the framework's API version "
		    "'%s': %s", what, v, PLUGIN_API_VERSION_STR, why);
}

static json* parse_or_die(const plugin* p, const char* sym, const char* text) {
	const char* error = NULL;
	json* v = json_parse(text, &error);
	if (!v) die("plugin %s: '%s' returned invalid JSON (%s): %s", p->name, sym, error, text);
	return v;
}

static uint32_t field_type(const char* t) {
	static const struct { const char* name; uint32_t type; } types[] = {
		{"string", FTYPE_STRING}, {"uint64", FTYPE_UINT64}, {"reltime", FTYPE_RELTIME},
		{"abstime", FTYPE_ABSTIME}, {"bool", FTYPE_BOOL}, {"ipaddr", FTYPE_IPADDR},
		{"ipnet", FTYPE_IPNET},
	};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(t, types[i].name) == 0) return types[i].type;
	return 0;
}

static void load_fields(plugin* p) {
	const char* text = p->get_fields();
	json* doc;
	if (!text) die("plugin %s: get_fields returned a null string", p->name);
	doc = parse_or_die(p, "get_fields", text);
	if (doc->type != J_ARRAY) die("plugin %s: get_fields returned an invalid JSON", p->name);
	if (doc->count == 0) die("plugin %s: plugins with extraction capability must export at least one field", p->name);
	p->fields = xcalloc(doc->count, sizeof(*p->fields));
	p->nfields = doc->count;
	for (size_t i = 0; i < doc->count; i++) {
		const json* entry = &doc->items[i];
		const json* name = json_get(entry, "name");
		const json* type = json_get(entry, "type");
		const json* arg = json_get(entry, "arg");
		field_def* f = &p->fields[i];
		if (!name || name->type != J_STRING || !name->string[0])
			die("plugin %s: field JSON entry has no name", p->name);
		if (!type || type->type != J_STRING) die("plugin %s: field JSON entry has no type", p->name);
		f->name = xstrdup(name->string);
		f->type = field_type(type->string);
		if (!f->type) die("plugin %s: invalid field type %s", p->name, type->string);
		f->is_list = json_flag(entry, "isList");
		if (arg) {
			f->is_key = json_flag(arg, "isKey");
			f->is_index = json_flag(arg, "isIndex");
			f->is_required = json_flag(arg, "isRequired");
		}
	}
	json_free(doc);
	free(doc);
}

static void add_source(plugin* p, const char* s) {
	for (size_t i = 0; i < p->nsources; i++)
		if (strcmp(p->sources[i], s) == 0) return;
	p->sources = realloc(p->sources, (p->nsources + 1) * sizeof(*p->sources));
	if (!p->sources) die("out of memory");
	p->sources[p->nsources++] = xstrdup(s);
}

static int source_compatible(const plugin* p, const char* src) {
	if (!src) return 0; /* unknown source */
	if (p->nsources == 0) return 1;
	for (size_t i = 0; i < p->nsources; i++)
		if (strcmp(p->sources[i], src) == 0) return 1;
	return 0;
}

static plugin* load_plugin(const char* path) {
	plugin* p = xcalloc(1, sizeof(*p));
	char broken[512] = "";
	p->path = path;
	p->lib = dlopen(path, RTLD_LOCAL | RTLD_NOW);
	if (!p->lib) die("can't load plugin dynamic library: %s", dlerror());
#define RESOLVE_SYMBOL(sym) p->sym = (__typeof__(p->sym))dlsym(p->lib, "plugin_" #sym);
	PLUGIN_SYMBOLS(RESOLVE_SYMBOL)
#undef RESOLVE_SYMBOL

	if (!p->get_required_api_version)
		die("cannot load plugin %s: required symbol not implemented: 'get_required_api_version'", path);
	check_version(path, p->get_required_api_version(), 1);
	{
		const char* missing = !p->get_version ? "get_version"
		                      : !p->get_name ? "get_name"
		                      : !p->get_description ? "get_description"
		                      : !p->get_contact ? "get_contact"
		                      : !p->init ? "init"
		                      : !p->destroy ? "destroy"
		                      : !p->get_last_error ? "get_last_error" : NULL;
		if (missing) die("cannot load plugin %s: required symbol not implemented: '%s'", path, missing);
	}
	p->name = xstrdup(p->get_name() ? p->get_name() : "");
	check_version(path, p->get_version(), 0);

	/* capabilities, as libsinsp checks them */
	if (p->open || p->close || p->next_batch) {
		if (!(p->open && p->close && p->next_batch))
			strcat(broken, "must implement all of 'plugin_open', 'plugin_close', 'plugin_next_batch'; ");
		p->sourcing = 1;
		{
			int has_id = p->get_id && p->get_id() != 0;
			const char* src = p->get_event_source ? p->get_event_source() : NULL;
			int has_source = src && src[0];
			if (has_id != has_source)
				strcat(broken, "must implement both 'plugin_get_id' and 'plugin_get_event_source' or neither; ");
			if (has_id && has_source) {
				p->id = p->get_id();
				p->source = xstrdup(src);
			}
		}
	}
	if (p->extract_fields) {
		if (!p->get_fields) strcat(broken, "must implement 'plugin_get_fields' with 'plugin_extract_fields'; ");
		else p->extraction = 1;
	}
	if (broken[0]) die("cannot load plugin %s: broken plugin capabilities: %s", path, broken);
	if (p->source && strcmp(p->source, "syscall") == 0)
		die("cannot load plugin %s: plugin can't implement the reserved event source 'syscall'", path);

	if (p->extraction) {
		load_fields(p);
		if (p->get_extract_event_sources) {
			const char* text = p->get_extract_event_sources();
			if (text && text[0]) {
				json* doc = parse_or_die(p, "get_extract_event_sources", text);
				if (doc->type != J_ARRAY)
					die("plugin %s: 'get_extract_event_sources' did not return a json array", p->name);
				for (size_t i = 0; i < doc->count; i++) {
					if (doc->items[i].type != J_STRING)
						die("plugin %s: 'get_extract_event_sources' did not return a json array", p->name);
					if (doc->items[i].string[0]) add_source(p, doc->items[i].string);
				}
				json_free(doc);
				free(doc);
			}
		}
		if (p->source) add_source(p, p->source);
	}
	return p;
}

static void init_plugin(plugin* p, const char* config) {
	ss_plugin_schema_type schema_type = SS_PLUGIN_SCHEMA_NONE;
	const char* schema = p->get_init_schema ? p->get_init_schema(&schema_type) : NULL;
	ss_plugin_init_input in;
	ss_plugin_rc rc = SS_PLUGIN_FAILURE;

	if (schema && schema[0]) {
		if (schema_type == SS_PLUGIN_SCHEMA_JSON) {
			if (!config[0]) config = "{}";
		} else if (schema_type != SS_PLUGIN_SCHEMA_NONE) {
			die("plugin %s: get_init_schema returned an unknown schema type %d", p->name, (int)schema_type);
		}
	}
	memset(&in, 0, sizeof(in));
	in.config = config;
	in.owner = p;
	in.get_owner_last_error = host_owner_last_error;
	in.tables = p->extraction || p->parse_event ? &tables_input : NULL;
	in.log_fn = host_log;
	p->state = p->init(&in, &rc);
	if (rc != SS_PLUGIN_SUCCESS) {
		const char* err = p->state ? p->get_last_error(p->state)
		                           : "plugin handle or 'get_last_error' function not defined";
		die("could not initialize plugin %s: %s", p->name, err ? err : "");
	}

	/* the event types it extracts from (asked once, after init) */
	if (p->extraction) {
		uint32_t n = 0;
		uint16_t* codes = p->get_extract_event_types ? p->get_extract_event_types(&n, p->state) : NULL;
		if (codes && n > 0) {
			p->types = xcalloc(65536 / 8, 1);
			for (uint32_t i = 0; i < n; i++) p->types[codes[i] / 8] |= (uint8_t)(1u << (codes[i] % 8));
		} else if (!source_compatible(p, "syscall")) {
			p->types = xcalloc(65536 / 8, 1);
			p->types[PPME_PLUGINEVENT_E / 8] |= 1u << (PPME_PLUGINEVENT_E % 8);
		}
	}
}

static int type_compatible(const plugin* p, uint16_t type) {
	return !p->types || (p->types[type / 8] >> (type % 8)) & 1;
}

/* ==== field requests ========================================================================= */

/* libsinsp's index syntax: digits only, no leading zero (except "0"), fits in 64 bits. */
static int parse_index(const char* s, uint64_t* out) {
	uint64_t v = 0;
	if (!s[0] || (s[0] == '0' && s[1])) return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9') return -1;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10) return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

static void add_column(column* col, const char* spec, plugin** plugins, size_t nplugins) {
	char* name = xstrdup(spec);
	char* arg = NULL;
	char* bracket = strchr(name, '[');
	ss_plugin_extract_field* r;

	if (bracket) {
		size_t len = strlen(name);
		if (name[len - 1] != ']') die("field %s terminates with incomplete argument brackets", spec);
		name[len - 1] = '\0';
		*bracket = '\0';
		arg = bracket + 1;
		if (strchr(arg, '[') || strchr(arg, ']')) die("field %s: unbalanced argument brackets", spec);
	} else if (strchr(name, ']')) {
		die("field %s: unbalanced argument brackets", spec);
	}
	col->spec = spec;
	for (size_t i = 0; i < nplugins && !col->p; i++) {
		plugin* p = plugins[i];
		for (size_t j = 0; p->extraction && j < p->nfields; j++) {
			if (strcmp(p->fields[j].name, name) != 0) continue;
			col->p = p;
			col->def = &p->fields[j];
			col->index = p->nreq++;
			p->req = realloc(p->req, p->nreq * sizeof(*p->req));
			if (!p->req) die("out of memory");
			r = &p->req[col->index];
			memset(r, 0, sizeof(*r));
			r->field_id = (uint32_t)j;
			r->field = p->fields[j].name;
			r->ftype = p->fields[j].type;
			r->flist = (ss_plugin_bool)p->fields[j].is_list;
			r->arg_index = UINT64_MAX;
			break;
		}
	}
	if (!col->p) die("unknown field '%s'", name);

	r = &col->p->req[col->index];
	if (arg) {
		if (!col->def->is_key && !col->def->is_index)
			die("filter field %s does not allow nor require an argument but one is provided: %s", name, arg);
		r->arg_present = 1;
		if (col->def->is_key) r->arg_key = arg; /* stays allocated: `name` is never freed */
		if (col->def->is_index && parse_index(arg, &r->arg_index) != 0) {
			r->arg_index = UINT64_MAX;
			if (!col->def->is_key) die("filter field %s: invalid index argument '%s'", name, arg);
		}
	} else if (col->def->is_required) {
		die("filter field %s requires an argument but none provided", name);
	}
}

/* ==== running ================================================================================ */

typedef struct run {
	plugin* input;
	plugin** plugins;       /* input first, then the extractors */
	size_t nplugins;
	column* columns;
	size_t ncolumns;
	int dump, offsets;
	uint64_t evtnum, extract_calls;
	ss_plugin_event_input evin; /* the event being processed */
	char* line;             /* dump output buffer */
	size_t line_len, line_cap;
} run;

static uint64_t now_ns(clockid_t clock) {
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Checks and fixes an event as libsinsp does; returns its event source: SYSCALL_SOURCE, the input
 * plugin's source, or NULL (unknown). */
static const char* accept_event(run* r, ss_plugin_event* e) {
	plugin* p = r->input;
	uint8_t* raw = (uint8_t*)e;
	const char* src = SYSCALL_SOURCE;

	if (e->len < EVT_HEADER_LEN)
		die("malformed event produced by plugin '%s': len %u is smaller than the event header",
		    p->name, e->len);
	if (p->id != 0 && (e->type != PPME_PLUGINEVENT_E || e->nparams != 2))
		die("malformed plugin event produced by plugin: '%s'", p->name);
	if (e->type == PPME_PLUGINEVENT_E) {
		uint32_t lens[2], id;
		if (e->nparams != 2 || e->len < PLUGIN_EVENT_PAYLOAD_OFFSET)
			die("malformed plugin event produced by plugin: '%s'", p->name);
		memcpy(lens, raw + EVT_HEADER_LEN, sizeof(lens));
		if (lens[0] != 4 || (uint64_t)PLUGIN_EVENT_PAYLOAD_OFFSET + lens[1] != e->len)
			die("malformed plugin event produced by plugin: '%s' (parameter lengths %u+%u do not "
			    "match the event length %u)", p->name, lens[0], lens[1], e->len);
		memcpy(&id, raw + 34, sizeof(id));
		if (id == 0) {
			if (p->id == 0) die("malformed plugin event produced by plugin (no ID): '%s'", p->name);
			id = p->id;
			memcpy(raw + 34, &id, sizeof(id));
		} else if (p->id != 0 && id != p->id) {
			die("unexpected plugin ID in plugin event: plugin='%s', expected_id=%u, actual_id=%u",
			    p->name, p->id, id);
		}
		e->tid = UINT64_MAX;
		src = p->id != 0 && id == p->id ? p->source : NULL;
	}
	if (e->ts == UINT64_MAX) e->ts = now_ns(CLOCK_REALTIME);
	return src;
}

/* One extract_fields call of plugin p for the current event, with the given requests. */
static ss_plugin_rc call_extract(run* r, plugin* p, ss_plugin_extract_field* fields, uint32_t n) {
	ss_plugin_field_extract_input in;
	memset(&in, 0, sizeof(in));
	in.owner = p;
	in.get_owner_last_error = host_owner_last_error;
	in.num_fields = n;
	in.fields = fields;
	in.table_reader.get_table_name = t_name;
	in.table_reader.get_table_size = t_size;
	in.table_reader.get_table_entry = t_get_entry;
	in.table_reader.read_entry_field = t_read;
	in.table_reader_ext = &reader_ext;
	if (r->offsets) {
		p->offsets.start = NULL;
		p->offsets.length = NULL;
		in.value_offsets = &p->offsets;
	}
	for (uint32_t j = 0; j < n; j++) fields[j].res_len = 0;
	r->extract_calls++;
	return p->extract_fields(p->state, &r->evin, &in);
}

static void extract_all(run* r, const ss_plugin_event* e, const char* src) {
	r->evin.evt = e;
	r->evin.evtnum = r->evtnum;
	r->evin.evtsrc = src;
	for (size_t i = 0; i < r->nplugins; i++) {
		plugin* p = r->plugins[i];
		p->called = 0;
		if (p->nreq == 0) continue;
		/* src is one of two known pointers (or NULL), so the answers are precomputed */
		if (!src || !(src == SYSCALL_SOURCE ? p->compat_syscall : p->compat_own) ||
		    !type_compatible(p, e->type))
			continue;
		p->last_rc = call_extract(r, p, p->req, p->nreq);
		p->called = 1;
	}
}

/* ---- dump output ---- */

static void out_reserve(run* r, size_t n) {
	if (r->line_len + n <= r->line_cap) return;
	while (r->line_len + n > r->line_cap) r->line_cap = r->line_cap ? r->line_cap * 2 : 4096;
	r->line = realloc(r->line, r->line_cap);
	if (!r->line) die("out of memory");
}

static void out_mem(run* r, const char* s, size_t n) {
	out_reserve(r, n);
	memcpy(r->line + r->line_len, s, n);
	r->line_len += n;
}

static void out_str(run* r, const char* s) { out_mem(r, s, strlen(s)); }

__attribute__((format(printf, 2, 3)))
static void out_fmt(run* r, const char* fmt, ...) {
	char small[128];
	va_list ap;
	int n;
	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) die("output formatting failed");
	if ((size_t)n < sizeof(small)) {
		out_mem(r, small, (size_t)n);
		return;
	}
	out_reserve(r, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(r->line + r->line_len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	r->line_len += (size_t)n;
}

static void out_hex(run* r, const uint8_t* data, size_t n) {
	static const char digits[] = "0123456789abcdef";
	if (n == 0) {
		out_str(r, "-");
		return;
	}
	out_reserve(r, n * 2);
	for (size_t i = 0; i < n; i++) {
		r->line[r->line_len++] = digits[data[i] >> 4];
		r->line[r->line_len++] = digits[data[i] & 15];
	}
}

static void out_value(run* r, const column* c, const ss_plugin_extract_field* f, uint64_t i) {
	switch (c->def->type) {
	case FTYPE_UINT64:
	case FTYPE_RELTIME:
	case FTYPE_ABSTIME:
		out_fmt(r, "%" PRIu64, f->res.u64[i]);
		break;
	case FTYPE_STRING:
		if (!f->res.str[i])
			die("plugin %s returned a NULL string for field %s", c->p->name, c->def->name);
		out_str(r, f->res.str[i]);
		break;
	case FTYPE_BOOL:
		out_str(r, f->res.boolean[i] ? "true" : "false");
		break;
	case FTYPE_IPADDR: {
		char text[INET6_ADDRSTRLEN];
		const ss_plugin_byte_buffer* b = &f->res.buf[i];
		int family = b->len == 4 ? AF_INET : b->len == 16 ? AF_INET6 : 0;
		if (!family || !b->ptr)
			die("plugin %s returned an address of %u bytes for field %s", c->p->name, b->len,
			    c->def->name);
		inet_ntop(family, b->ptr, text, sizeof(text));
		out_str(r, text);
		break;
	}
	case FTYPE_IPNET:
		out_str(r, "<IPNET>");
		break;
	}
}

static void out_column(run* r, const column* c) {
	plugin* p = c->p;
	const ss_plugin_extract_field* f = &p->req[c->index];
	ss_plugin_extract_field single;
	ss_plugin_rc rc = p->last_rc;
	uint32_t offset_index = c->index;

	/* libsinsp asks for one field per call, so one failing field never hides the others: when a
	 * call for several fields failed, ask again for this field alone (and render it right away,
	 * since the next call may invalidate its result). */
	if (p->called && rc != SS_PLUGIN_SUCCESS && p->nreq > 1) {
		single = p->req[c->index];
		rc = call_extract(r, p, &single, 1);
		f = &single;
		offset_index = 0;
	}
	out_str(r, " ");
	out_str(r, c->spec);
	out_str(r, "=");
	if (!p->called || rc != SS_PLUGIN_SUCCESS || f->res_len == 0) {
		out_str(r, "<NA>");
	} else {
		if (!f->res.u64) die("plugin %s returned a NULL result for field %s", p->name, c->def->name);
		if (!c->def->is_list) {
			if (f->res_len > 1)
				die("plugin %s returned %" PRIu64 " values for the non-list field %s", p->name,
				    f->res_len, c->def->name);
			out_value(r, c, f, 0);
		} else {
			out_str(r, "(");
			for (uint64_t i = 0; i < f->res_len; i++) {
				if (i) out_str(r, ",");
				out_value(r, c, f, i);
			}
			out_str(r, ")");
		}
	}
	if (r->offsets) {
		if (p->called && p->offsets.start && p->offsets.length)
			out_fmt(r, "@%u+%u", p->offsets.start[offset_index], p->offsets.length[offset_index]);
		else
			out_str(r, "@-");
	}
}

static void dump_event(run* r, const ss_plugin_event* e) {
	const uint8_t* raw = (const uint8_t*)e;
	uint32_t id = 0;
	r->line_len = 0;
	if (e->type == PPME_PLUGINEVENT_E) memcpy(&id, raw + 34, sizeof(id));
	out_fmt(r, "%" PRIu64 " %" PRIu64 " %u %u ", r->evtnum, e->ts, e->type, id);
	if (e->type == PPME_PLUGINEVENT_E)
		out_hex(r, raw + PLUGIN_EVENT_PAYLOAD_OFFSET, e->len - PLUGIN_EVENT_PAYLOAD_OFFSET);
	else
		out_hex(r, raw + EVT_HEADER_LEN, e->len - EVT_HEADER_LEN);
	for (size_t i = 0; i < r->ncolumns; i++) out_column(r, &r->columns[i]);
	out_str(r, "\n");
	fwrite(r->line, 1, r->line_len, stdout);
}

static void capture(run* r, const char* params) {
	plugin* p = r->input;
	ss_plugin_rc rc = SS_PLUGIN_FAILURE;
	ss_instance_t* inst = p->open(p->state, params, &rc);
	uint64_t start;

	if (rc != SS_PLUGIN_SUCCESS) {
		const char* err = p->get_last_error(p->state);
		die("cannot open plugin %s: %s", p->name, err ? err : "");
	}
	start = now_ns(CLOCK_MONOTONIC);
	for (;;) {
		uint32_t nevts = 0;
		ss_plugin_event** evts = NULL;
		rc = p->next_batch(p->state, inst, &nevts, &evts);
		if (rc != SS_PLUGIN_SUCCESS && rc != SS_PLUGIN_TIMEOUT && rc != SS_PLUGIN_EOF &&
		    rc != SS_PLUGIN_FAILURE && rc != SS_PLUGIN_NOT_SUPPORTED)
			die("next_batch of plugin %s returned an unknown code %d", p->name, (int)rc);
		if (rc == SS_PLUGIN_SUCCESS && nevts == 0)
			die("unexpected 0 size event returned by plugin %s", p->name);
		if (nevts > 0 && !evts)
			die("plugin %s returned %u events in a NULL batch", p->name, nevts);
		/* a non-empty batch is used up before its rc counts, even a failure */
		for (uint32_t i = 0; i < nevts; i++) {
			ss_plugin_event* e = evts[i];
			const char* src;
			if (!e) die("plugin %s returned a NULL event", p->name);
			src = accept_event(r, e);
			r->evtnum++;
			extract_all(r, e, src);
			if (r->dump) dump_event(r, e);
		}
		if (rc == SS_PLUGIN_EOF) break;
		if (rc == SS_PLUGIN_FAILURE || rc == SS_PLUGIN_NOT_SUPPORTED) {
			const char* err = p->get_last_error(p->state);
			die("next_batch failed: %s", err ? err : "");
		}
	}
	if (!r->dump) {
		double seconds = (double)(now_ns(CLOCK_MONOTONIC) - start) / 1e9;
		printf("{\"events\": %" PRIu64 ", \"seconds\": %.6f, \"events_per_sec\": %.1f, "
		       "\"extract_calls\": %" PRIu64 "}\n",
		       r->evtnum, seconds, seconds > 0 ? (double)r->evtnum / seconds : 0.0, r->extract_calls);
	}
	p->close(p->state, inst);
}

static void usage(void) {
	fprintf(stderr,
	        "usage: host dump|bench [-o] [-v] [-x EXTLIB EXTCONFIG]... LIB CONFIG PARAMS [FIELD[ARG]...]\n");
	exit(2);
}

int main(int argc, char** argv) {
	run r;
	const char** ext_libs = NULL;
	const char** ext_configs = NULL;
	size_t next = 0;
	int i = 2;

	memset(&r, 0, sizeof(r));
	if (argc < 2) usage();
	if (strcmp(argv[1], "dump") == 0) r.dump = 1;
	else if (strcmp(argv[1], "bench") != 0) usage();
	ext_libs = xcalloc((size_t)argc, sizeof(*ext_libs));
	ext_configs = xcalloc((size_t)argc, sizeof(*ext_configs));
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-o") == 0) {
			r.offsets = 1;
		} else if (strcmp(argv[i], "-v") == 0) {
			verbose = 1;
		} else if (strcmp(argv[i], "-x") == 0 && i + 2 < argc) {
			ext_libs[next] = argv[i + 1];
			ext_configs[next++] = argv[i + 2];
			i += 2;
		} else {
			usage();
		}
	}
	if (argc - i < 3) usage();

	/* load everything, then init (as a host registers all plugins before initializing them) */
	r.nplugins = 1 + next;
	r.plugins = xcalloc(r.nplugins, sizeof(*r.plugins));
	r.input = r.plugins[0] = load_plugin(argv[i]);
	if (!r.input->sourcing)
		die("plugin %s has not event sourcing capabilities and cannot be used as input", r.input->name);
	for (size_t k = 0; k < next; k++) {
		plugin* p = r.plugins[k + 1] = load_plugin(ext_libs[k]);
		if (!p->extraction) die("plugin %s has no field extraction capability", p->name);
	}
	for (size_t k = 0; k < r.nplugins; k++) {
		plugin* p = r.plugins[k];
		init_plugin(p, k == 0 ? argv[i + 1] : ext_configs[k - 1]);
		p->compat_own = source_compatible(p, r.input->source);
		p->compat_syscall = source_compatible(p, SYSCALL_SOURCE);
	}

	r.ncolumns = (size_t)(argc - i - 3);
	r.columns = xcalloc(r.ncolumns, sizeof(*r.columns));
	for (size_t k = 0; k < r.ncolumns; k++)
		add_column(&r.columns[k], argv[i + 3 + (int)k], r.plugins, r.nplugins);

	capture(&r, argv[i + 2]);

	for (size_t k = 0; k < r.nplugins; k++) r.plugins[k]->destroy(r.plugins[k]->state);
	fflush(stdout);
	return 0;
}
