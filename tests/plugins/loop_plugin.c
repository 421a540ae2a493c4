/*
 * looptest: a source + extraction test plugin for the host's compiled event loop (plugin API 3.12).
 *
 * Open params (comma-separated key=value):
 *   count=N      events in all (default 10)
 *   batch=N      events per next_batch call (default 1, as plugins of the C++ SDK)
 *   bad_nevts=1  the first next_batch says nevts = 0xFFFFFFFF; its array holds 2 events then NULL
 *   fail_at=N    next_batch returns FAILURE ("failed at N") once N events were returned
 * Events: plugin events whose payload is the event index as 8 bytes, ts = UINT64_MAX.
 * Fields:
 *   loop.index   uint64   the event index
 *   loop.slow    uint64   the event index, after sleeping 300 ms (interrupted early by a signal);
 *                         the first time, the file named by $LOOPTEST_MARK is created
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "falcoplug/plugin_api.h"

#define MAX_BATCH 64
#define EVT_LEN (26 + 4 + 4 + 4 + 8)

typedef struct {
	char last_error[256];
	uint64_t value;
} plugin_state;

typedef struct {
	uint64_t count, batch, next, fail_at;
	int bad_nevts;
	uint64_t storage[MAX_BATCH + 1][8];
	ss_plugin_event* events[MAX_BATCH + 1];
} instance;

const char* plugin_get_required_api_version(void) { return "3.0.0"; }
const char* plugin_get_version(void) { return "0.1.0"; }
const char* plugin_get_name(void) { return "looptest"; }
const char* plugin_get_description(void) { return "falcoplug test plugin: the host's event loop"; }
const char* plugin_get_contact(void) { return "falcoplug tests"; }
uint32_t plugin_get_id(void) { return 998; }
const char* plugin_get_event_source(void) { return "looptest"; }

const char* plugin_get_fields(void) {
	return "[{\"type\":\"uint64\",\"name\":\"loop.index\",\"desc\":\"the event index\"},"
	       "{\"type\":\"uint64\",\"name\":\"loop.slow\",\"desc\":\"the event index, slowly\"}]";
}

ss_plugin_t* plugin_init(const ss_plugin_init_input* in, ss_plugin_rc* rc) {
	(void)in;
	*rc = SS_PLUGIN_SUCCESS;
	return calloc(1, sizeof(plugin_state));
}

void plugin_destroy(ss_plugin_t* s) { free(s); }

const char* plugin_get_last_error(ss_plugin_t* s) { return ((plugin_state*)s)->last_error; }

static uint64_t param(const char* params, const char* key, uint64_t dflt) {
	const char* p = strstr(params, key);
	size_t n = strlen(key);
	while (p && !(p[n] == '=' && (p == params || p[-1] == ','))) p = strstr(p + 1, key);
	return p ? strtoull(p + n + 1, NULL, 10) : dflt;
}

ss_instance_t* plugin_open(ss_plugin_t* s, const char* params, ss_plugin_rc* rc) {
	(void)s;
	instance* inst = calloc(1, sizeof(instance));
	inst->count = param(params, "count", 10);
	inst->batch = param(params, "batch", 1);
	if (inst->batch < 1) inst->batch = 1;
	if (inst->batch > MAX_BATCH) inst->batch = MAX_BATCH;
	inst->bad_nevts = (int)param(params, "bad_nevts", 0);
	inst->fail_at = param(params, "fail_at", UINT64_MAX);
	for (int i = 0; i <= MAX_BATCH; i++) inst->events[i] = (ss_plugin_event*)inst->storage[i];
	*rc = SS_PLUGIN_SUCCESS;
	return inst;
}

void plugin_close(ss_plugin_t* s, ss_instance_t* h) {
	(void)s;
	free(h);
}

static void write_event(ss_plugin_event* e, uint64_t index) {
	uint8_t* raw = (uint8_t*)e;
	uint32_t len = EVT_LEN, four = 4, eight = 8, id = 0;
	e->ts = UINT64_MAX;
	e->tid = UINT64_MAX;
	e->len = len;
	e->type = 322;
	e->nparams = 2;
	memcpy(raw + 26, &four, 4);
	memcpy(raw + 30, &eight, 4);
	memcpy(raw + 34, &id, 4);
	memcpy(raw + 38, &index, 8);
}

ss_plugin_rc plugin_next_batch(ss_plugin_t* st, ss_instance_t* h, uint32_t* nevts, ss_plugin_event*** evts) {
	plugin_state* s = st;
	instance* inst = h;
	*nevts = 0;
	*evts = inst->events;
	if (inst->bad_nevts) {
		write_event(inst->events[0], 0);
		write_event(inst->events[1], 1);
		inst->events[2] = NULL;
		*nevts = 0xFFFFFFFFu;
		return SS_PLUGIN_SUCCESS;
	}
	if (inst->next >= inst->fail_at) {
		snprintf(s->last_error, sizeof(s->last_error), "failed at %llu", (unsigned long long)inst->next);
		return SS_PLUGIN_FAILURE;
	}
	if (inst->next >= inst->count) return SS_PLUGIN_EOF;
	uint32_t n = 0;
	while (n < inst->batch && inst->next < inst->count && inst->next < inst->fail_at) write_event(inst->events[n++], inst->next++);
	*nevts = n;
	return SS_PLUGIN_SUCCESS;
}

ss_plugin_rc plugin_extract_fields(ss_plugin_t* st, const ss_plugin_event_input* in, const ss_plugin_field_extract_input* req) {
	plugin_state* s = st;
	const uint8_t* raw = (const uint8_t*)in->evt;
	for (uint32_t i = 0; i < req->num_fields; i++) {
		ss_plugin_extract_field* f = &req->fields[i];
		memcpy(&s->value, raw + 38, 8);
		if (f->field_id == 1) {
			const char* mark = getenv("LOOPTEST_MARK");
			FILE* fp = mark ? fopen(mark, "a") : NULL;
			if (fp) fclose(fp);
			struct timespec t = {0, 300 * 1000 * 1000};
			nanosleep(&t, NULL); /* returns early (EINTR) when a signal arrives */
		}
		f->res.u64 = &s->value; /* one storage slot for every field, as libsinsp's test plugins */
		f->res_len = 1;
	}
	return SS_PLUGIN_SUCCESS;
}
