/*
 * broken: one source file for every misbehaving test plugin, each variant chosen with -D macros.
 *
 * Without any macro this is a valid, minimal sourcing + extraction plugin: name "broken", version
 * "0.1.0", ID 998, event source "broken", required API "3.12.0", one field `broken.value` (string,
 * the payload text). Its init takes any config; open takes any params. The first next_batch call
 * returns 2 events (type 322, payloads "0" and "1", ts 1000 and 2000, plugin_id 0) with SUCCESS; the
 * next call returns SS_PLUGIN_EOF with 0 events.
 *
 * Macros whose value is a C string must be given a C string *literal*, quotes included, e.g.
 * -DAPI_VERSION='"2.0.0"' on a shell command line, or {"API_VERSION": '"2.0.0"'} (or
 * cbuild.cstr("2.0.0")) from the tests. Those marked "or NULL" also accept the bare token NULL.
 * A macro given without a value (-DNAME) is a switch.
 *
 * Identity
 *   API_VERSION="..."      the required API version (default "3.12.0"), or NULL
 *   PLUGIN_VERSION="..."   the plugin version (default "0.1.0"), or NULL
 *   PLUGIN_NAME="..."      the plugin name (default "broken"), or NULL
 *   PLUGIN_ID=N            the plugin ID (default 998)
 *   EVENT_SOURCE="..."     the event source (default "broken"), or NULL; "syscall" is reserved
 *   NAME_NULL              get_name returns NULL
 *   NAME_NON_UTF8          get_name returns the bytes "br\xffoken"
 *   DESCRIPTION_NULL       get_description returns NULL
 *   CONTACT_NULL           get_contact returns NULL
 *
 * Missing symbols: OMIT_<name> leaves plugin_<name> out, for every symbol this file defines:
 *   required: OMIT_get_required_api_version, OMIT_get_version, OMIT_get_name, OMIT_get_description,
 *             OMIT_get_contact, OMIT_init, OMIT_destroy, OMIT_get_last_error
 *   sourcing: OMIT_get_id, OMIT_get_event_source, OMIT_open, OMIT_close, OMIT_next_batch
 *   extraction: OMIT_get_fields, OMIT_extract_fields
 *   (OMIT_get_fields alone = a broken extraction capability; OMIT_extract_fields alone = get_fields
 *   without extract_fields, so the extraction capability is simply not there)
 *
 * Capabilities
 *   NO_SOURCING            no open/close/next_batch/get_id/get_event_source
 *   NO_EXTRACTION          no get_fields/extract_fields
 *   NO_CAPABILITY          both: only the 8 required symbols (plus what the WITH_* macros add)
 *   ZERO_ID_PLUGIN_EMITS_322  get_id 0 and event source "" (no sourcing ID), but still emits 322
 *                          events with plugin_id 0
 *   ZERO_ID_EMITS_GENERIC  get_id 0 and event source "", emitting 2 syscall-style events instead:
 *                          PPME_GENERIC_E (type 0, 2 params with u16 lengths: ID u16 = 1+i,
 *                          nativeID u16 = 100+i), len 34
 *   WITH_PARSE             plugin_parse_event (counts the events it sees)
 *   WITH_ASYNC             get_async_events (ASYNC_EVENTS) + set_async_event_handler
 *   ASYNC_EVENTS="..."     what get_async_events returns (default ["broken_async"]), or NULL;
 *                          implies WITH_ASYNC
 *   ASYNC_EMIT             with WITH_ASYNC: when a handler is set, the first next_batch call first
 *                          sends one async event (402, name "broken_async", data "hello", ts
 *                          UINT64_MAX, tid UINT64_MAX) through it from the calling thread; a handler
 *                          failure makes next_batch fail with "async handler failed: <err>"
 *   WITH_ASYNC_HANDLER_ONLY  set_async_event_handler without get_async_events (broken)
 *   WITH_CAPTURE           capture_open + capture_close (both SUCCESS)
 *   WITH_CAPTURE_OPEN_ONLY capture_open without capture_close (broken)
 *   WITH_METRICS           get_metrics: "next_calls" (u64, monotonic: next_batch calls so far) and
 *                          "ratio" (double 0.5, non monotonic)
 *   WITH_SET_CONFIG        set_config: keeps the config, SUCCESS
 *   SET_CONFIG_FAIL        with WITH_SET_CONFIG: FAILURE, last error "set_config failed on purpose"
 *   REQUIRED_EVENT_SCHEMA="..."  get_required_event_schema_version returns it (or NULL)
 *
 * Fields and extraction
 *   FIELDS_JSON="..."      replaces the whole get_fields text. extract_fields answers any field by
 *                          its ftype: string = the payload text, uint64/reltime/abstime = the payload
 *                          number, bool = number is odd, ipaddr/ipnet = 4 bytes 10.0.0.<number>
 *   FIELDS_NULL            get_fields returns NULL
 *   EXTRACT_EVENT_TYPES    get_extract_event_types returns [322]
 *   EXTRACT_EVENT_TYPES_NULL  get_extract_event_types returns NULL with numtypes 0
 *   EXTRACT_EVENT_SOURCES="..."  get_extract_event_sources returns it (or NULL)
 *   EXTRACT_NULL_STRING    a string value is a NULL pointer (res_len 1)
 *   EXTRACT_NON_UTF8       a string value is the bytes "\xff\xfe"
 *   EXTRACT_WRONG_COUNT    res_len 3 for non-list fields (the 3 values are readable)
 *   EXTRACT_FAIL           extract_fields returns FAILURE, last error "extract failed on purpose"
 *
 * Init
 *   INIT_SCHEMA="..."      defines get_init_schema returning this text (or NULL); without it the
 *                          plugin has no get_init_schema at all
 *   INIT_SCHEMA_TYPE=N     the schema type it reports (default 1 = SS_PLUGIN_SCHEMA_JSON)
 *   INIT_FAIL              init returns its state with rc FAILURE, last error "init failed on purpose"
 *   INIT_NULL_STATE        init returns NULL with rc FAILURE
 *   INIT_NULL_SUCCESS      init returns NULL with rc SUCCESS (a host must refuse it)
 *   INIT_ECHO_CONFIG       init returns its state with rc FAILURE and the last error
 *                          "config=<the config it received>" (to observe what the host passes)
 *
 * Sourcing
 *   OPEN_FAIL              open returns NULL, rc FAILURE, last error "cannot open on purpose"
 *   NEXT_FAIL              the 2nd next_batch call (after one batch of 2 events) returns FAILURE
 *                          with last error "next failed on purpose"
 *   ZERO_BATCH             next_batch always returns SUCCESS with 0 events
 *   NULL_EVTS              next_batch returns SUCCESS, nevts 1 and a NULL evts array
 *   EVT_WRONG_TYPE         the events have type 323 instead of 322
 *   EVT_WRONG_ID           the events carry plugin_id 12345
 *   EVT_OWN_ID             the events carry the plugin's own ID (valid)
 *   EVT_BAD_LEN            (=1) len 20, smaller than the 26-byte header;
 *                          EVT_BAD_LEN=2: the payload length param says 100 bytes more than len holds
 *   EVT_NPARAMS3           the 322 events say nparams 3
 *   LIST_OPEN_PARAMS="..." list_open_params returns it (or NULL)
 *   LIST_OPEN_PARAMS_BAD   list_open_params returns "not json"
 *   LIST_OPEN_PARAMS_FAIL  list_open_params returns NULL with rc FAILURE, last error
 *                          "list_open_params failed on purpose"
 *   PROGRESS_NULL_STRING   get_progress returns NULL with progress 5000 (50%)
 *   PROGRESS_PCT=N         get_progress reports N (may exceed 10000) and the text "N"
 *   EVENT_TO_STRING="..."  event_to_string returns it (or NULL)
 */
#include "falcoplug/plugin_api.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- defaults and implied macros ------------------------------------------------------------ */

#if defined(ZERO_ID_PLUGIN_EMITS_322) || defined(ZERO_ID_EMITS_GENERIC)
#ifndef PLUGIN_ID
#define PLUGIN_ID 0
#endif
#ifndef EVENT_SOURCE
#define EVENT_SOURCE ""
#endif
#endif

#ifndef API_VERSION
#define API_VERSION "3.12.0"
#endif
#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif
#ifndef PLUGIN_NAME
#define PLUGIN_NAME "broken"
#endif
#ifndef PLUGIN_ID
#define PLUGIN_ID 998
#endif
#ifndef EVENT_SOURCE
#define EVENT_SOURCE "broken"
#endif
#ifndef FIELDS_JSON
#define FIELDS_JSON "[{\"type\":\"string\",\"name\":\"broken.value\",\"desc\":\"The payload text\"}]"
#endif
#if defined(INIT_SCHEMA) && !defined(INIT_SCHEMA_TYPE)
#define INIT_SCHEMA_TYPE 1
#endif
#if defined(ASYNC_EVENTS) && !defined(WITH_ASYNC)
#define WITH_ASYNC
#endif
#ifndef ASYNC_EVENTS
#define ASYNC_EVENTS "[\"broken_async\"]"
#endif

#ifdef NO_CAPABILITY
#define NO_SOURCING
#define NO_EXTRACTION
#endif
#ifdef NO_SOURCING
#define OMIT_get_id
#define OMIT_get_event_source
#define OMIT_open
#define OMIT_close
#define OMIT_next_batch
#endif
#ifdef NO_EXTRACTION
#define OMIT_get_fields
#define OMIT_extract_fields
#endif

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

#define NEVENTS 2
#define EVT_ROOM 64 /* bytes per event buffer, enough for every variant */

typedef struct plugin_state {
	char last_error[PLUGIN_MAX_ERRLEN];
	uint64_t next_calls;
	uint64_t parsed;
	char* config; /* latest set_config */
	ss_plugin_owner_t* async_owner;
	ss_plugin_async_event_handler_t async_handler;
	/* extract_fields results (up to 3 values per field for EXTRACT_WRONG_COUNT) */
	uint32_t nres;
	uint64_t* u64;
	ss_plugin_bool* boolean;
	const char** str;
	char (*text)[24];
	ss_plugin_byte_buffer* buf;
	uint8_t addr[4];
	ss_plugin_metric metrics[2];
} plugin_state;

typedef struct instance {
	int calls;
	ss_plugin_event* events[NEVENTS];
	uint64_t storage[NEVENTS][EVT_ROOM / 8]; /* 8-byte aligned event buffers */
} instance;

/* ---- required symbols ---------------------------------------------------------------------- */

#ifndef OMIT_get_required_api_version
const char* plugin_get_required_api_version(void) { return API_VERSION; }
#endif

#ifndef OMIT_get_version
const char* plugin_get_version(void) { return PLUGIN_VERSION; }
#endif

#ifndef OMIT_get_name
const char* plugin_get_name(void) {
#if defined(NAME_NULL)
	return NULL;
#elif defined(NAME_NON_UTF8)
	return "br\xff" "oken";
#else
	return PLUGIN_NAME;
#endif
}
#endif

#ifndef OMIT_get_description
const char* plugin_get_description(void) {
#ifdef DESCRIPTION_NULL
	return NULL;
#else
	return "falcoplug test plugin that breaks the rules on request";
#endif
}
#endif

#ifndef OMIT_get_contact
const char* plugin_get_contact(void) {
#ifdef CONTACT_NULL
	return NULL;
#else
	return "falcoplug tests";
#endif
}
#endif

#ifdef INIT_SCHEMA
const char* plugin_get_init_schema(ss_plugin_schema_type* schema_type) {
	*schema_type = (ss_plugin_schema_type)(INIT_SCHEMA_TYPE);
	return INIT_SCHEMA;
}
#endif

#ifndef OMIT_init
ss_plugin_t* plugin_init(const ss_plugin_init_input* in, ss_plugin_rc* rc) {
	plugin_state* s;
	(void)in;
#ifdef INIT_NULL_STATE
	*rc = SS_PLUGIN_FAILURE;
	return NULL;
#endif
#ifdef INIT_NULL_SUCCESS
	*rc = SS_PLUGIN_SUCCESS;
	return NULL;
#endif
	s = calloc(1, sizeof(*s));
	if (!s) {
		*rc = SS_PLUGIN_FAILURE;
		return NULL;
	}
	*rc = SS_PLUGIN_SUCCESS;
#if defined(INIT_FAIL)
	strcpy(s->last_error, "init failed on purpose");
	*rc = SS_PLUGIN_FAILURE;
#elif defined(INIT_ECHO_CONFIG)
	snprintf(s->last_error, sizeof(s->last_error), "config=%s",
	         in && in->config ? in->config : "(null)");
	*rc = SS_PLUGIN_FAILURE;
#endif
	return s;
}
#endif

#ifndef OMIT_destroy
void plugin_destroy(ss_plugin_t* st) {
	plugin_state* s = st;
	if (!s) return;
	free(s->config);
	free(s->u64);
	free(s->boolean);
	free(s->str);
	free(s->text);
	free(s->buf);
	free(s);
}
#endif

#ifndef OMIT_get_last_error
const char* plugin_get_last_error(ss_plugin_t* st) {
	return ((plugin_state*)st)->last_error;
}
#endif

/* ---- sourcing ------------------------------------------------------------------------------ */

#ifndef OMIT_get_id
uint32_t plugin_get_id(void) { return PLUGIN_ID; }
#endif

#ifndef OMIT_get_event_source
const char* plugin_get_event_source(void) { return EVENT_SOURCE; }
#endif

#ifndef OMIT_open
ss_instance_t* plugin_open(ss_plugin_t* st, const char* params, ss_plugin_rc* rc) {
	plugin_state* s = st;
	instance* inst;
	(void)params;
#ifdef OPEN_FAIL
	strcpy(s->last_error, "cannot open on purpose");
	*rc = SS_PLUGIN_FAILURE;
	return NULL;
#endif
	inst = calloc(1, sizeof(*inst));
	if (!inst) {
		strcpy(s->last_error, "out of memory");
		*rc = SS_PLUGIN_FAILURE;
		return NULL;
	}
	for (int i = 0; i < NEVENTS; i++) inst->events[i] = (ss_plugin_event*)inst->storage[i];
	*rc = SS_PLUGIN_SUCCESS;
	return inst;
}
#endif

#ifndef OMIT_close
void plugin_close(ss_plugin_t* st, ss_instance_t* h) {
	(void)st;
	free(h);
}
#endif

#if defined(LIST_OPEN_PARAMS) || defined(LIST_OPEN_PARAMS_BAD) || defined(LIST_OPEN_PARAMS_FAIL)
const char* plugin_list_open_params(ss_plugin_t* st, ss_plugin_rc* rc) {
	(void)st;
#if defined(LIST_OPEN_PARAMS_FAIL)
	strcpy(((plugin_state*)st)->last_error, "list_open_params failed on purpose");
	*rc = SS_PLUGIN_FAILURE;
	return NULL;
#elif defined(LIST_OPEN_PARAMS_BAD)
	*rc = SS_PLUGIN_SUCCESS;
	return "not json";
#else
	*rc = SS_PLUGIN_SUCCESS;
	return LIST_OPEN_PARAMS;
#endif
}
#endif

#if defined(PROGRESS_NULL_STRING) || defined(PROGRESS_PCT)
const char* plugin_get_progress(ss_plugin_t* st, ss_instance_t* h, uint32_t* progress_pct) {
	(void)st;
	(void)h;
#ifdef PROGRESS_NULL_STRING
	*progress_pct = 5000;
	return NULL;
#else
	*progress_pct = (uint32_t)(PROGRESS_PCT);
	return STRINGIFY(PROGRESS_PCT);
#endif
}
#endif

#ifdef EVENT_TO_STRING
const char* plugin_event_to_string(ss_plugin_t* st, const ss_plugin_event_input* evt) {
	(void)st;
	(void)evt;
	return EVENT_TO_STRING;
}
#endif

#ifndef OMIT_next_batch
/* The event writers are unused in the variants that emit no events (ZERO_BATCH, NULL_EVTS, ...). */
#define MAYBE_UNUSED __attribute__((unused))

/* Event i: a PLUGINEVENT with payload "<i>", altered by the EVT_* macros. */
MAYBE_UNUSED static void write_plugin_event(ss_plugin_event* e, int i) {
	uint8_t* raw = (uint8_t*)e;
	char payload = (char)('0' + i);
	uint32_t lens[2] = {4, 1};
	uint32_t plugin_id = 0;
#if defined(EVT_WRONG_ID)
	plugin_id = 12345;
#elif defined(EVT_OWN_ID)
	plugin_id = PLUGIN_ID;
#endif
	e->ts = 1000 * (uint64_t)(i + 1);
	e->tid = 0;
	e->len = PLUGIN_EVENT_PAYLOAD_OFFSET + 1;
	e->type = 322;
	e->nparams = 2;
#ifdef EVT_WRONG_TYPE
	e->type = 323;
#endif
#ifdef EVT_NPARAMS3
	e->nparams = 3;
#endif
#if defined(EVT_BAD_LEN) && EVT_BAD_LEN == 2
	lens[1] += 100;
#elif defined(EVT_BAD_LEN)
	e->len = 20;
#endif
	memcpy(raw + 26, lens, sizeof(lens));
	memcpy(raw + 34, &plugin_id, sizeof(plugin_id));
	raw[PLUGIN_EVENT_PAYLOAD_OFFSET] = (uint8_t)payload;
}

#ifdef ZERO_ID_EMITS_GENERIC
/* PPME_GENERIC_E: 2 params with u16 lengths, ID (PT_SYSCALLID, u16) and nativeID (PT_UINT16). */
MAYBE_UNUSED static void write_generic_event(ss_plugin_event* e, int i) {
	uint8_t* raw = (uint8_t*)e;
	uint16_t lens[2] = {2, 2};
	uint16_t values[2] = {(uint16_t)(1 + i), (uint16_t)(100 + i)};
	e->ts = 1000 * (uint64_t)(i + 1);
	e->tid = 42;
	e->len = 26 + sizeof(lens) + sizeof(values);
	e->type = 0;
	e->nparams = 2;
	memcpy(raw + 26, lens, sizeof(lens));
	memcpy(raw + 26 + sizeof(lens), values, sizeof(values));
}
#endif

#if defined(WITH_ASYNC) && defined(ASYNC_EMIT)
/* Sends one 402 event through the handler; returns the handler's rc (err filled on failure). */
static ss_plugin_rc emit_async(plugin_state* s, char* err) {
	static const char name[] = "broken_async"; /* sent with its NUL */
	static const char data[] = "hello";        /* sent without a NUL */
	uint64_t storage[16] = {0};
	uint8_t* raw = (uint8_t*)storage;
	ss_plugin_event* e = (ss_plugin_event*)raw;
	uint32_t lens[3] = {4, sizeof(name), sizeof(data) - 1};
	uint32_t plugin_id = 0;
	e->ts = UINT64_MAX;
	e->tid = UINT64_MAX;
	e->len = 26 + sizeof(lens) + lens[0] + lens[1] + lens[2];
	e->type = 402;
	e->nparams = 3;
	memcpy(raw + 26, lens, sizeof(lens));
	memcpy(raw + 38, &plugin_id, 4);
	memcpy(raw + 42, name, lens[1]);
	memcpy(raw + 42 + lens[1], data, lens[2]);
	return s->async_handler(s->async_owner, e, err);
}
#endif

ss_plugin_rc plugin_next_batch(ss_plugin_t* st, ss_instance_t* h, uint32_t* nevts,
                               ss_plugin_event*** evts) {
	plugin_state* s = st;
	instance* inst = h;
	int call = ++inst->calls;
	s->next_calls++;
	*nevts = 0;
	*evts = inst->events;
#if defined(WITH_ASYNC) && defined(ASYNC_EMIT)
	if (call == 1 && s->async_handler) {
		char err[PLUGIN_MAX_ERRLEN] = {0};
		if (emit_async(s, err) != SS_PLUGIN_SUCCESS) {
			snprintf(s->last_error, sizeof(s->last_error), "async handler failed: %.900s", err);
			return SS_PLUGIN_FAILURE;
		}
	}
#endif
#if defined(ZERO_BATCH)
	(void)call;
	return SS_PLUGIN_SUCCESS;
#elif defined(NULL_EVTS)
	(void)call;
	*nevts = 1;
	*evts = NULL;
	return SS_PLUGIN_SUCCESS;
#else
	if (call == 1) {
		for (int i = 0; i < NEVENTS; i++) {
#ifdef ZERO_ID_EMITS_GENERIC
			write_generic_event(inst->events[i], i);
#else
			write_plugin_event(inst->events[i], i);
#endif
		}
		*nevts = NEVENTS;
		return SS_PLUGIN_SUCCESS;
	}
#ifdef NEXT_FAIL
	strcpy(s->last_error, "next failed on purpose");
	return SS_PLUGIN_FAILURE;
#else
	return SS_PLUGIN_EOF;
#endif
#endif
}
#endif /* OMIT_next_batch */

/* ---- extraction ---------------------------------------------------------------------------- */

#ifndef OMIT_get_fields
const char* plugin_get_fields(void) {
#ifdef FIELDS_NULL
	return NULL;
#else
	return FIELDS_JSON;
#endif
}
#endif

#if defined(EXTRACT_EVENT_TYPES) || defined(EXTRACT_EVENT_TYPES_NULL)
uint16_t* plugin_get_extract_event_types(uint32_t* numtypes, ss_plugin_t* s) {
	static uint16_t types[] = {322};
	(void)s;
#ifdef EXTRACT_EVENT_TYPES_NULL
	(void)types;
	*numtypes = 0;
	return NULL;
#else
	*numtypes = 1;
	return types;
#endif
}
#endif

#ifdef EXTRACT_EVENT_SOURCES
const char* plugin_get_extract_event_sources(void) { return EXTRACT_EVENT_SOURCES; }
#endif

#ifndef OMIT_extract_fields
/* Grows the result arrays to 3 values per field for n fields; -1 when out of memory. */
static int reserve_results(plugin_state* s, uint32_t n) {
	size_t values = (size_t)n * 3;
	if (n <= s->nres) return 0;
	free(s->u64);
	free(s->boolean);
	free(s->str);
	free(s->text);
	free(s->buf);
	s->u64 = calloc(values, sizeof(*s->u64));
	s->boolean = calloc(values, sizeof(*s->boolean));
	s->str = calloc(values, sizeof(*s->str));
	s->text = calloc(values, sizeof(*s->text));
	s->buf = calloc(values, sizeof(*s->buf));
	s->nres = s->u64 && s->boolean && s->str && s->text && s->buf ? n : 0;
	return s->nres ? 0 : -1;
}

ss_plugin_rc plugin_extract_fields(ss_plugin_t* st, const ss_plugin_event_input* evt,
                                   const ss_plugin_field_extract_input* in) {
	plugin_state* s = st;
	const ss_plugin_event* e = evt->evt;
	const char* payload;
	uint32_t plen;
	uint64_t number = 0;

#ifdef EXTRACT_FAIL
	strcpy(s->last_error, "extract failed on purpose");
	return SS_PLUGIN_FAILURE;
#endif
	if (reserve_results(s, in->num_fields) != 0) {
		strcpy(s->last_error, "out of memory");
		return SS_PLUGIN_FAILURE;
	}
	for (uint32_t i = 0; i < in->num_fields; i++) in->fields[i].res_len = 0;
	if (e->type != 322 || e->len < PLUGIN_EVENT_PAYLOAD_OFFSET) return SS_PLUGIN_SUCCESS;
	memcpy(&plen, (const uint8_t*)e + 30, sizeof(plen));
	if (plen > e->len - PLUGIN_EVENT_PAYLOAD_OFFSET || plen >= sizeof(s->text[0]))
		return SS_PLUGIN_SUCCESS;
	payload = (const char*)e + PLUGIN_EVENT_PAYLOAD_OFFSET;
	for (uint32_t i = 0; i < plen && payload[i] >= '0' && payload[i] <= '9'; i++)
		number = number * 10 + (uint64_t)(payload[i] - '0');

	s->addr[0] = 10;
	s->addr[1] = 0;
	s->addr[2] = 0;
	s->addr[3] = (uint8_t)number;
	for (uint32_t i = 0; i < in->num_fields; i++) {
		ss_plugin_extract_field* f = &in->fields[i];
		uint32_t nvals = 1;
#ifdef EXTRACT_WRONG_COUNT
		if (!f->flist) nvals = 3;
#endif
		for (uint32_t j = 0; j < nvals; j++) {
			size_t k = (size_t)i * 3 + j;
			s->u64[k] = number;
			s->boolean[k] = number % 2;
			memcpy(s->text[k], payload, plen);
			s->text[k][plen] = '\0';
			s->str[k] = s->text[k];
#if defined(EXTRACT_NULL_STRING)
			s->str[k] = NULL;
#elif defined(EXTRACT_NON_UTF8)
			s->str[k] = "\xff\xfe";
#endif
			s->buf[k].ptr = s->addr;
			s->buf[k].len = 4;
		}
		switch (f->ftype) {
		case FTYPE_STRING: f->res.str = &s->str[i * 3]; break;
		case FTYPE_BOOL: f->res.boolean = &s->boolean[i * 3]; break;
		case FTYPE_IPADDR:
		case FTYPE_IPNET: f->res.buf = &s->buf[i * 3]; break;
		default: f->res.u64 = &s->u64[i * 3]; break;
		}
		f->res_len = nvals;
	}
	return SS_PLUGIN_SUCCESS;
}
#endif /* OMIT_extract_fields */

/* ---- parsing, async, capture listening, metrics, set_config --------------------------------- */

#ifdef WITH_PARSE
ss_plugin_rc plugin_parse_event(ss_plugin_t* st, const ss_plugin_event_input* evt,
                                const ss_plugin_event_parse_input* in) {
	(void)evt;
	(void)in;
	((plugin_state*)st)->parsed++;
	return SS_PLUGIN_SUCCESS;
}
#endif

#ifdef WITH_ASYNC
const char* plugin_get_async_events(void) { return ASYNC_EVENTS; }
#endif

#if defined(WITH_ASYNC) || defined(WITH_ASYNC_HANDLER_ONLY)
ss_plugin_rc plugin_set_async_event_handler(ss_plugin_t* st, ss_plugin_owner_t* owner,
                                            const ss_plugin_async_event_handler_t handler) {
	plugin_state* s = st;
	s->async_owner = owner;
	s->async_handler = handler;
	return SS_PLUGIN_SUCCESS;
}
#endif

#if defined(WITH_CAPTURE) || defined(WITH_CAPTURE_OPEN_ONLY)
ss_plugin_rc plugin_capture_open(ss_plugin_t* st, const ss_plugin_capture_listen_input* i) {
	(void)st;
	(void)i;
	return SS_PLUGIN_SUCCESS;
}
#endif

#ifdef WITH_CAPTURE
ss_plugin_rc plugin_capture_close(ss_plugin_t* st, const ss_plugin_capture_listen_input* i) {
	(void)st;
	(void)i;
	return SS_PLUGIN_SUCCESS;
}
#endif

#ifdef WITH_METRICS
ss_plugin_metric* plugin_get_metrics(ss_plugin_t* st, uint32_t* num_metrics) {
	plugin_state* s = st;
	s->metrics[0].name = "next_calls";
	s->metrics[0].type = SS_PLUGIN_METRIC_TYPE_MONOTONIC;
	s->metrics[0].value_type = SS_PLUGIN_METRIC_VALUE_TYPE_U64;
	s->metrics[0].value.u64 = s->next_calls;
	s->metrics[1].name = "ratio";
	s->metrics[1].type = SS_PLUGIN_METRIC_TYPE_NON_MONOTONIC;
	s->metrics[1].value_type = SS_PLUGIN_METRIC_VALUE_TYPE_D;
	s->metrics[1].value.d = 0.5;
	*num_metrics = 2;
	return s->metrics;
}
#endif

#ifdef WITH_SET_CONFIG
ss_plugin_rc plugin_set_config(ss_plugin_t* st, const ss_plugin_set_config_input* in) {
	plugin_state* s = st;
#ifdef SET_CONFIG_FAIL
	(void)in;
	strcpy(s->last_error, "set_config failed on purpose");
	return SS_PLUGIN_FAILURE;
#else
	free(s->config);
	s->config = strdup(in && in->config ? in->config : "");
	return SS_PLUGIN_SUCCESS;
#endif
}
#endif

#ifdef REQUIRED_EVENT_SCHEMA
const char* plugin_get_required_event_schema_version(ss_plugin_t* st) {
	(void)st;
	return REQUIRED_EVENT_SCHEMA;
}
#endif
