/*
 * testsrc: a sourcing + extraction test plugin for falcoplug (plugin API 3.12).
 *
 * Identity: name "testsrc", version "0.2.1", ID 999, event source "test".
 *
 * Init config (JSON, see plugin_get_init_schema; "" and "{}" both mean "defaults"):
 *   start_ts        integer  timestamp of event 0 (default 1700000000000000000)
 *   payload_prefix  string   text put before each event's number (default "", at most 64 bytes)
 *
 * Open parameters: "key=value,key=value" (empty = all defaults):
 *   count=N           number of events (default 10)
 *   batch=N           events per next_batch call (default 8, at least 1)
 *   timeouts=N        answer SS_PLUGIN_TIMEOUT with 0 events N times before the first batch (default 0)
 *   eof_with_batch=1  return SS_PLUGIN_EOF together with the last non-empty batch (default 0: the
 *                     last batch comes with SUCCESS and the next call returns EOF with 0 events)
 *   tsnow=1           emit ts = UINT64_MAX so that the host stamps the current time
 *   fail_at=N         stop before event N: the batches end at event N-1, then the call that would
 *                     produce event N returns SS_PLUGIN_FAILURE with 0 events and the last error
 *                     "failed at event N"
 *   fail_with_batch=1 with fail_at: return SS_PLUGIN_FAILURE together with the batch that ends
 *                     just before event N (when that batch is not empty)
 * An unknown key or a value that is not a decimal number makes open fail with a last error.
 *
 * Event i (0-based): a PLUGINEVENT (type 322, 2 params), ts = start_ts + i*1000, tid 0 and
 * plugin_id 0 (the host sets both), payload = payload_prefix followed by the ASCII decimal of i
 * (no NUL). The events of a batch live in one per-instance buffer reused by every call.
 *
 * A successful init logs one INFO message through the host's log_fn (component NULL):
 * "initialized: start_ts=<n>, payload_prefix='<prefix>'".
 *
 * Fields: test.value (uint64, the number in the payload), test.str (string, the payload text),
 * test.even (bool), test.ts (abstime, the event ts), test.num (uint64, evtnum from the host),
 * test.src (string, evtsrc from the host). extract_fields takes any number of fields per call and
 * fills value_offsets when asked (test.str: start 38, length of the payload; 0/0 otherwise).
 */
#include "falcoplug/plugin_api.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_START_TS 1700000000000000000ULL
#define MAX_PREFIX 64
#define MAX_DIGITS 20 /* UINT64_MAX has 20 decimal digits */
#define NO_FAIL UINT64_MAX

enum field_id { F_VALUE, F_STR, F_EVEN, F_TS, F_NUM, F_SRC, F_COUNT };

/* One extracted value, with the storage it points to (valid until the next extract_fields). */
typedef struct result_slot {
	uint64_t u64;
	ss_plugin_bool boolean;
	const char* str;
	char* text; /* owned copy of a string value */
	size_t text_cap;
} result_slot;

typedef struct plugin_state {
	char last_error[PLUGIN_MAX_ERRLEN];
	uint64_t start_ts;
	char prefix[MAX_PREFIX + 1];
	size_t prefix_len;

	/* extract_fields results: one slot per requested field, grown as needed */
	result_slot* slots;
	uint32_t* offset_start;
	uint32_t* offset_length;
	uint32_t nslots;

	char to_string[64];
} plugin_state;

typedef struct instance {
	uint64_t count, batch, timeouts, fail_at;
	int eof_with_batch, tsnow, fail_with_batch;
	uint64_t next; /* index of the next event to produce */

	uint8_t* buffer;          /* room for `batch` events of at most slot_size bytes */
	size_t slot_size;
	ss_plugin_event** events; /* the batch handed to the host */
	char progress[64];
} instance;

static void set_error(plugin_state* s, const char* fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->last_error, sizeof(s->last_error), fmt, ap);
	va_end(ap);
}

/* ---- identity -------------------------------------------------------------------------- */

const char* plugin_get_required_api_version(void) { return "3.12.0"; }
const char* plugin_get_version(void) { return "0.2.1"; }
const char* plugin_get_name(void) { return "testsrc"; }
const char* plugin_get_description(void) { return "falcoplug test plugin: numbered events with a few fields"; }
const char* plugin_get_contact(void) { return "falcoplug tests"; }
uint32_t plugin_get_id(void) { return 999; }
const char* plugin_get_event_source(void) { return "test"; }

const char* plugin_get_init_schema(ss_plugin_schema_type* schema_type) {
	*schema_type = SS_PLUGIN_SCHEMA_JSON;
	return "{\"type\":\"object\","
	       "\"properties\":{"
	       "\"start_ts\":{\"type\":\"integer\",\"minimum\":0,"
	       "\"description\":\"timestamp of the first event, in ns\"},"
	       "\"payload_prefix\":{\"type\":\"string\",\"maxLength\":64,"
	       "\"description\":\"text put before each event's number\"}},"
	       "\"additionalProperties\":false}";
}

/* ---- init: a minimal JSON object reader for the two known keys ---------------------------- */

static const char* skip_ws(const char* p) {
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
	return p;
}

/* Reads a JSON string at p (which points at the opening quote) into out (at most cap-1 bytes).
 * Handles the simple escapes; \uXXXX is accepted for ASCII code points only. Returns the
 * position after the closing quote, or NULL on a syntax error or overflow. */
static const char* read_string(const char* p, char* out, size_t cap, size_t* out_len) {
	size_t n = 0;
	if (*p++ != '"') return NULL;
	while (*p != '"') {
		char c = *p++;
		if (c == '\0') return NULL;
		if (c == '\\') {
			c = *p++;
			switch (c) {
			case '"': case '\\': case '/': break;
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'u': {
				char hex[5] = {0};
				char* end;
				long cp;
				memcpy(hex, p, 4);
				cp = strtol(hex, &end, 16);
				if (end != hex + 4 || cp > 0x7f) return NULL;
				c = (char)cp;
				p += 4;
				break;
			}
			default: return NULL;
			}
		}
		if (n + 1 >= cap) return NULL;
		out[n++] = c;
	}
	out[n] = '\0';
	if (out_len) *out_len = n;
	return p + 1;
}

static int parse_config(plugin_state* s, const char* config) {
	const char* p = skip_ws(config ? config : "");
	if (*p == '\0') return 0; /* "" = defaults */
	if (*p++ != '{') goto syntax;
	p = skip_ws(p);
	if (*p == '}') return 0;
	for (;;) {
		char key[64];
		p = read_string(skip_ws(p), key, sizeof(key), NULL);
		if (!p) goto syntax;
		p = skip_ws(p);
		if (*p++ != ':') goto syntax;
		p = skip_ws(p);
		if (strcmp(key, "start_ts") == 0) {
			char* end;
			if (*p < '0' || *p > '9') {
				set_error(s, "config: start_ts must be a non-negative integer");
				return -1;
			}
			errno = 0;
			s->start_ts = strtoull(p, &end, 10);
			if (errno != 0) {
				set_error(s, "config: start_ts is out of range");
				return -1;
			}
			p = end;
		} else if (strcmp(key, "payload_prefix") == 0) {
			if (*p != '"') {
				set_error(s, "config: payload_prefix must be a string");
				return -1;
			}
			p = read_string(p, s->prefix, sizeof(s->prefix), &s->prefix_len);
			if (!p) {
				set_error(s, "config: payload_prefix is not a valid string of at most %d bytes",
				          MAX_PREFIX);
				return -1;
			}
		} else {
			set_error(s, "config: unknown key '%s'", key);
			return -1;
		}
		p = skip_ws(p);
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p == '}') break;
		goto syntax;
	}
	if (*skip_ws(p + 1) != '\0') goto syntax;
	return 0;
syntax:
	set_error(s, "config: not a valid JSON object: %s", config);
	return -1;
}

ss_plugin_t* plugin_init(const ss_plugin_init_input* in, ss_plugin_rc* rc) {
	plugin_state* s = calloc(1, sizeof(*s));
	if (!s) {
		*rc = SS_PLUGIN_FAILURE;
		return NULL;
	}
	s->start_ts = DEFAULT_START_TS;
	if (parse_config(s, in ? in->config : NULL) != 0) {
		*rc = SS_PLUGIN_FAILURE; /* keep the state so that the host can read the error */
		return s;
	}
	if (in && in->log_fn) {
		char msg[160];
		snprintf(msg, sizeof(msg), "initialized: start_ts=%" PRIu64 ", payload_prefix='%s'",
		         s->start_ts, s->prefix);
		in->log_fn(in->owner, NULL, msg, SS_PLUGIN_LOG_SEV_INFO); /* NULL: the plugin's name */
	}
	*rc = SS_PLUGIN_SUCCESS;
	return s;
}

void plugin_destroy(ss_plugin_t* st) {
	plugin_state* s = st;
	if (!s) return;
	for (uint32_t i = 0; i < s->nslots; i++) free(s->slots[i].text);
	free(s->slots);
	free(s->offset_start);
	free(s->offset_length);
	free(s);
}

const char* plugin_get_last_error(ss_plugin_t* st) {
	return ((plugin_state*)st)->last_error;
}

/* ---- sourcing ------------------------------------------------------------------------------ */

const char* plugin_list_open_params(ss_plugin_t* st, ss_plugin_rc* rc) {
	(void)st;
	*rc = SS_PLUGIN_SUCCESS;
	return "[{\"value\":\"count=10\",\"desc\":\"ten events\"},"
	       "{\"value\":\"count=1000000,batch=100000\",\"desc\":\"a million events in big batches\"},"
	       "{\"value\":\"count=5,timeouts=2\",\"desc\":\"five events after two timeouts\"}]";
}

/* Parses "key=value,..." into inst; returns 0 or -1 with the last error set. */
static int parse_params(plugin_state* s, instance* inst, const char* params) {
	const char* p = params ? params : "";
	while (*p) {
		char key[32];
		const char* eq = strchr(p, '=');
		const char* comma = strchr(p, ',');
		const char* end = comma ? comma : p + strlen(p);
		size_t klen;
		char* num_end;
		uint64_t value;

		if (end == p) { /* tolerate empty items: ",," or a trailing comma */
			p = comma ? comma + 1 : end;
			continue;
		}
		if (!eq || eq > end) {
			set_error(s, "open params: expected key=value, got '%.*s'", (int)(end - p), p);
			return -1;
		}
		klen = (size_t)(eq - p);
		if (klen >= sizeof(key)) klen = sizeof(key) - 1;
		memcpy(key, p, klen);
		key[klen] = '\0';
		if (strcmp(key, "count") != 0 && strcmp(key, "batch") != 0 &&
		    strcmp(key, "timeouts") != 0 && strcmp(key, "eof_with_batch") != 0 &&
		    strcmp(key, "tsnow") != 0 && strcmp(key, "fail_at") != 0 &&
		    strcmp(key, "fail_with_batch") != 0) {
			set_error(s, "open params: unknown key '%s' (known: count, batch, timeouts, "
			             "eof_with_batch, tsnow, fail_at, fail_with_batch)", key);
			return -1;
		}
		errno = 0;
		value = strtoull(eq + 1, &num_end, 10);
		if (num_end == eq + 1 || num_end != end || errno != 0 || eq[1] == '-') {
			set_error(s, "open params: value of '%s' is not a number: '%.*s'", key,
			          (int)(end - eq - 1), eq + 1);
			return -1;
		}
		if (strcmp(key, "count") == 0) inst->count = value;
		else if (strcmp(key, "batch") == 0) inst->batch = value;
		else if (strcmp(key, "timeouts") == 0) inst->timeouts = value;
		else if (strcmp(key, "eof_with_batch") == 0) inst->eof_with_batch = value != 0;
		else if (strcmp(key, "tsnow") == 0) inst->tsnow = value != 0;
		else if (strcmp(key, "fail_at") == 0) inst->fail_at = value;
		else inst->fail_with_batch = value != 0;
		p = comma ? comma + 1 : end;
	}
	if (inst->batch == 0 || inst->batch > UINT32_MAX) {
		set_error(s, "open params: batch must be between 1 and %u", UINT32_MAX);
		return -1;
	}
	return 0;
}

ss_instance_t* plugin_open(ss_plugin_t* st, const char* params, ss_plugin_rc* rc) {
	plugin_state* s = st;
	instance* inst = calloc(1, sizeof(*inst));
	uint64_t cap;

	*rc = SS_PLUGIN_FAILURE;
	if (!inst) {
		set_error(s, "open: out of memory");
		return NULL;
	}
	inst->count = 10;
	inst->batch = 8;
	inst->fail_at = NO_FAIL;
	if (parse_params(s, inst, params) != 0) {
		free(inst);
		return NULL;
	}

	/* A batch never holds more than `count` events, so small captures stay small. */
	cap = inst->batch < inst->count ? inst->batch : inst->count;
	if (cap == 0) cap = 1;
	/* header + payload, rounded up to 8 bytes so that every event starts aligned */
	inst->slot_size = (PLUGIN_EVENT_PAYLOAD_OFFSET + s->prefix_len + MAX_DIGITS + 7) & ~(size_t)7;
	inst->buffer = malloc(cap * inst->slot_size);
	inst->events = malloc(cap * sizeof(*inst->events));
	if (!inst->buffer || !inst->events) {
		set_error(s, "open: cannot allocate a batch of %" PRIu64 " events", cap);
		free(inst->buffer);
		free(inst->events);
		free(inst);
		return NULL;
	}
	for (uint64_t i = 0; i < cap; i++)
		inst->events[i] = (ss_plugin_event*)(inst->buffer + i * inst->slot_size);
	*rc = SS_PLUGIN_SUCCESS;
	return inst;
}

void plugin_close(ss_plugin_t* st, ss_instance_t* h) {
	instance* inst = h;
	(void)st;
	if (!inst) return;
	free(inst->buffer);
	free(inst->events);
	free(inst);
}

/* Writes the decimal of v at the end of a MAX_DIGITS buffer; returns the first digit. */
static char* format_u64(uint64_t v, char* end) {
	char* p = end;
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return p;
}

/* Builds event `index` in place at e. */
static void write_event(const plugin_state* s, const instance* inst, uint64_t index,
                        ss_plugin_event* e) {
	uint8_t* raw = (uint8_t*)e;
	char digits[MAX_DIGITS];
	char* first = format_u64(index, digits + MAX_DIGITS);
	uint32_t ndigits = (uint32_t)(digits + MAX_DIGITS - first);
	uint32_t payload_len = (uint32_t)s->prefix_len + ndigits;
	uint32_t lens[2] = {4, payload_len};
	uint32_t plugin_id = 0; /* the host fills in our ID */

	e->ts = inst->tsnow ? UINT64_MAX : s->start_ts + index * 1000;
	e->tid = 0; /* the host forces -1 */
	e->len = PLUGIN_EVENT_PAYLOAD_OFFSET + payload_len;
	e->type = 322;
	e->nparams = 2;
	memcpy(raw + sizeof(ss_plugin_event), lens, sizeof(lens));
	memcpy(raw + sizeof(ss_plugin_event) + sizeof(lens), &plugin_id, sizeof(plugin_id));
	memcpy(raw + PLUGIN_EVENT_PAYLOAD_OFFSET, s->prefix, s->prefix_len);
	memcpy(raw + PLUGIN_EVENT_PAYLOAD_OFFSET + s->prefix_len, first, ndigits);
}

ss_plugin_rc plugin_next_batch(ss_plugin_t* st, ss_instance_t* h, uint32_t* nevts,
                               ss_plugin_event*** evts) {
	plugin_state* s = st;
	instance* inst = h;
	uint64_t stop, n;
	ss_plugin_rc rc = SS_PLUGIN_SUCCESS;

	*nevts = 0;
	*evts = inst->events;
	if (inst->timeouts > 0) {
		inst->timeouts--;
		return SS_PLUGIN_TIMEOUT;
	}
	if (inst->next == inst->fail_at) {
		set_error(s, "failed at event %" PRIu64, inst->fail_at);
		return SS_PLUGIN_FAILURE;
	}
	if (inst->next >= inst->count) return SS_PLUGIN_EOF;

	stop = inst->count - inst->next > inst->batch ? inst->next + inst->batch : inst->count;
	if (inst->fail_at > inst->next && inst->fail_at < stop) {
		stop = inst->fail_at;
		if (inst->fail_with_batch) {
			set_error(s, "failed at event %" PRIu64, inst->fail_at);
			rc = SS_PLUGIN_FAILURE;
		}
	} else if (stop == inst->count && inst->eof_with_batch) {
		rc = SS_PLUGIN_EOF;
	}
	n = stop - inst->next;
	for (uint64_t i = 0; i < n; i++) write_event(s, inst, inst->next + i, inst->events[i]);
	inst->next = stop;
	*nevts = (uint32_t)n;
	return rc;
}

const char* plugin_get_progress(ss_plugin_t* st, ss_instance_t* h, uint32_t* progress_pct) {
	instance* inst = h;
	(void)st;
	*progress_pct = inst->count ? (uint32_t)(inst->next * 10000 / inst->count) : 10000;
	snprintf(inst->progress, sizeof(inst->progress), "%" PRIu64 "/%" PRIu64, inst->next, inst->count);
	return inst->progress;
}

/* The payload of a 322 event, or NULL when evt is not a well-formed plugin event. */
static const char* event_payload(const ss_plugin_event* evt, uint32_t* len) {
	uint32_t lens[2];
	if (!evt || evt->type != 322 || evt->nparams != 2 || evt->len < PLUGIN_EVENT_PAYLOAD_OFFSET)
		return NULL;
	memcpy(lens, (const uint8_t*)evt + sizeof(ss_plugin_event), sizeof(lens));
	if (lens[0] != 4 || (uint64_t)PLUGIN_EVENT_PAYLOAD_OFFSET + lens[1] > evt->len) return NULL;
	*len = lens[1];
	return (const char*)evt + PLUGIN_EVENT_PAYLOAD_OFFSET;
}

/* The number in a payload made of our prefix and decimal digits; -1 if it is not one. */
static int payload_value(const plugin_state* s, const char* data, uint32_t len, uint64_t* out) {
	uint64_t v = 0;
	if (len < s->prefix_len || memcmp(data, s->prefix, s->prefix_len) != 0) return -1;
	data += s->prefix_len;
	len -= (uint32_t)s->prefix_len;
	if (len == 0 || len > MAX_DIGITS) return -1;
	for (uint32_t i = 0; i < len; i++) {
		if (data[i] < '0' || data[i] > '9') return -1;
		v = v * 10 + (uint64_t)(data[i] - '0');
	}
	*out = v;
	return 0;
}

const char* plugin_event_to_string(ss_plugin_t* st, const ss_plugin_event_input* in) {
	plugin_state* s = st;
	uint32_t len;
	uint64_t v;
	const char* data = event_payload(in->evt, &len);
	if (!data || payload_value(s, data, len, &v) != 0) return "";
	snprintf(s->to_string, sizeof(s->to_string), "{\"value\": %" PRIu64 "}", v);
	return s->to_string;
}

/* ---- extraction ---------------------------------------------------------------------------- */

const char* plugin_get_fields(void) {
	return "["
	       "{\"type\":\"uint64\",\"name\":\"test.value\",\"display\":\"Value\","
	       "\"desc\":\"The number carried by the event payload\",\"addOutput\":true},"
	       "{\"type\":\"string\",\"name\":\"test.str\",\"display\":\"Payload\","
	       "\"desc\":\"The payload text\"},"
	       "{\"type\":\"bool\",\"name\":\"test.even\",\"desc\":\"Whether the number is even\"},"
	       "{\"type\":\"abstime\",\"name\":\"test.ts\",\"desc\":\"The event timestamp\"},"
	       "{\"type\":\"uint64\",\"name\":\"test.num\",\"desc\":\"The event number given by the host\"},"
	       "{\"type\":\"string\",\"name\":\"test.src\",\"desc\":\"The event source given by the host\"}"
	       "]";
}

/* Makes room for n result slots (and offsets); returns -1 when out of memory. */
static int reserve_slots(plugin_state* s, uint32_t n) {
	result_slot* slots;
	uint32_t *start, *length;
	if (n <= s->nslots) return 0;
	slots = realloc(s->slots, n * sizeof(*slots));
	if (!slots) return -1;
	s->slots = slots;
	memset(slots + s->nslots, 0, (n - s->nslots) * sizeof(*slots));
	start = realloc(s->offset_start, n * sizeof(*start));
	if (start) s->offset_start = start;
	length = realloc(s->offset_length, n * sizeof(*length));
	if (length) s->offset_length = length;
	if (!start || !length) return -1; /* slots stay consistent: nslots is not raised */
	s->nslots = n;
	return 0;
}

/* Copies len bytes of text into the slot's own NUL-terminated buffer and points str at it. */
static int slot_set_text(result_slot* slot, const char* text, size_t len) {
	if (len + 1 > slot->text_cap) {
		size_t cap = len + 1 < 32 ? 32 : len + 1;
		char* buf = realloc(slot->text, cap);
		if (!buf) return -1;
		slot->text = buf;
		slot->text_cap = cap;
	}
	memcpy(slot->text, text, len);
	slot->text[len] = '\0';
	slot->str = slot->text;
	return 0;
}

ss_plugin_rc plugin_extract_fields(ss_plugin_t* st, const ss_plugin_event_input* evt,
                                   const ss_plugin_field_extract_input* in) {
	plugin_state* s = st;
	uint32_t len = 0;
	uint64_t value = 0;
	const char* data = event_payload(evt->evt, &len);
	int has_value = data && payload_value(s, data, len, &value) == 0;

	if (reserve_slots(s, in->num_fields) != 0) {
		set_error(s, "extract: out of memory");
		return SS_PLUGIN_FAILURE;
	}
	if (in->value_offsets) {
		in->value_offsets->start = s->offset_start;
		in->value_offsets->length = s->offset_length;
	}
	for (uint32_t i = 0; i < in->num_fields; i++) {
		ss_plugin_extract_field* f = &in->fields[i];
		result_slot* slot = &s->slots[i];
		f->res_len = 0;
		s->offset_start[i] = 0;
		s->offset_length[i] = 0;
		switch (f->field_id) {
		case F_VALUE:
			if (!has_value) break;
			slot->u64 = value;
			f->res.u64 = &slot->u64;
			f->res_len = 1;
			break;
		case F_STR:
			if (!data) break;
			if (slot_set_text(slot, data, len) != 0) {
				set_error(s, "extract: out of memory");
				return SS_PLUGIN_FAILURE;
			}
			f->res.str = &slot->str;
			f->res_len = 1;
			s->offset_start[i] = PLUGIN_EVENT_PAYLOAD_OFFSET;
			s->offset_length[i] = len;
			break;
		case F_EVEN:
			if (!has_value) break;
			slot->boolean = value % 2 == 0;
			f->res.boolean = &slot->boolean;
			f->res_len = 1;
			break;
		case F_TS:
			slot->u64 = evt->evt->ts;
			f->res.u64 = &slot->u64;
			f->res_len = 1;
			break;
		case F_NUM:
			slot->u64 = evt->evtnum;
			f->res.u64 = &slot->u64;
			f->res_len = 1;
			break;
		case F_SRC:
			if (!evt->evtsrc) break; /* unknown source: no value */
			if (slot_set_text(slot, evt->evtsrc, strlen(evt->evtsrc)) != 0) {
				set_error(s, "extract: out of memory");
				return SS_PLUGIN_FAILURE;
			}
			f->res.str = &slot->str;
			f->res_len = 1;
			break;
		default:
			set_error(s, "extract: unknown field id %u (%s)", f->field_id,
			          f->field ? f->field : "?");
			return SS_PLUGIN_FAILURE;
		}
	}
	return SS_PLUGIN_SUCCESS;
}
