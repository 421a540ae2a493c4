/*
 * testsys: a sourcing test plugin for falcoplug (plugin API 3.12) that emits "syscall" events.
 *
 * Identity: name "testsys" (PLUGIN_NAME), version "0.1.0", ID PLUGIN_ID (default 0) and event
 * source EVENT_SOURCE (default ""). With ID 0 it is a syscall-source plugin: its events belong to
 * the "syscall" source. With -DPLUGIN_ID=N -DEVENT_SOURCE='"name"' it emits plugin events (322)
 * of its own source instead, with the same timing options.
 *
 * Open parameters, "key=value,..." (all optional):
 *   count=N      events to emit (default 10)
 *   batch=N      events per next_batch call (default 4)
 *   tids=A:B:C   thread ids used in turn (default 42); -1 is allowed (no thread)
 *   type=N       event type code of the syscall events (default 0, PPME_GENERIC_E)
 *   start_ts=N   ts of event 0 (default 1000000000000); event i has start_ts + i*step
 *   step=N       ts step (default 1000)
 *   tsnow=1      ts = UINT64_MAX (the host stamps the current time)
 *   idle=N       after the last event, answer SS_PLUGIN_TIMEOUT N times before EOF (default 0)
 *   sleep_us=N   sleep that long in each next_batch call (default 0)
 *   forever=1    never reach EOF: after count events, answer TIMEOUT (idle) forever
 *
 * Syscall event i: type `type`, 2 params with u16 lengths (ID u16 = i & 0xffff, nativeID u16 =
 * 7), len 34, tid = tids[i % ntids]. Plugin event i (ID != 0): type 322, payload the decimal i.
 */
#include "falcoplug/plugin_api.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef PLUGIN_NAME
#define PLUGIN_NAME "testsys"
#endif
#ifndef PLUGIN_ID
#define PLUGIN_ID 0
#endif
#ifndef EVENT_SOURCE
#define EVENT_SOURCE ""
#endif
#define MAX_TIDS 64
#define SLOT 64

typedef struct plugin_state {
	char last_error[PLUGIN_MAX_ERRLEN];
} plugin_state;

typedef struct instance {
	uint64_t count, batch, type, start_ts, step, idle, sleep_us;
	int tsnow, forever;
	int64_t tids[MAX_TIDS];
	int ntids;
	uint64_t next, idled;
	uint8_t* buffer;
	ss_plugin_event** events;
} instance;

const char* plugin_get_required_api_version(void) { return "3.12.0"; }
const char* plugin_get_version(void) { return "0.1.0"; }
const char* plugin_get_name(void) { return PLUGIN_NAME; }
const char* plugin_get_description(void) { return "falcoplug test plugin: syscall-like events with thread ids"; }
const char* plugin_get_contact(void) { return "falcoplug tests"; }
uint32_t plugin_get_id(void) { return PLUGIN_ID; }
const char* plugin_get_event_source(void) { return EVENT_SOURCE; }

ss_plugin_t* plugin_init(const ss_plugin_init_input* in, ss_plugin_rc* rc) {
	(void)in;
	*rc = SS_PLUGIN_SUCCESS;
	return calloc(1, sizeof(plugin_state));
}

void plugin_destroy(ss_plugin_t* s) { free(s); }

const char* plugin_get_last_error(ss_plugin_t* s) { return ((plugin_state*)s)->last_error; }

/* Finds "key=" in a "k=v,k=v" list; copies the value into out. Returns 1 when found. */
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

static uint64_t kv_u64(const char* list, const char* key, uint64_t def) {
	char buf[64];
	return kv_get(list, key, buf, sizeof(buf)) ? strtoull(buf, NULL, 10) : def;
}

ss_instance_t* plugin_open(ss_plugin_t* st, const char* params, ss_plugin_rc* rc) {
	plugin_state* s = st;
	instance* inst = calloc(1, sizeof(*inst));
	char tids[512];
	*rc = SS_PLUGIN_FAILURE;
	if (!inst) return NULL;
	inst->count = kv_u64(params, "count", 10);
	inst->batch = kv_u64(params, "batch", 4);
	inst->type = kv_u64(params, "type", 0);
	inst->start_ts = kv_u64(params, "start_ts", 1000000000000ULL);
	inst->step = kv_u64(params, "step", 1000);
	inst->idle = kv_u64(params, "idle", 0);
	inst->sleep_us = kv_u64(params, "sleep_us", 0);
	inst->tsnow = (int)kv_u64(params, "tsnow", 0);
	inst->forever = (int)kv_u64(params, "forever", 0);
	if (inst->batch == 0) inst->batch = 1;
	if (kv_get(params, "tids", tids, sizeof(tids))) {
		char* p = tids;
		while (*p && inst->ntids < MAX_TIDS) {
			inst->tids[inst->ntids++] = strtoll(p, &p, 10);
			if (*p == ':') p++;
			else break;
		}
	}
	if (inst->ntids == 0) inst->tids[inst->ntids++] = 42;
	inst->buffer = calloc(inst->batch, SLOT);
	inst->events = calloc(inst->batch, sizeof(*inst->events));
	if (!inst->buffer || !inst->events) {
		snprintf(s->last_error, sizeof(s->last_error), "open: out of memory");
		free(inst->buffer);
		free(inst->events);
		free(inst);
		return NULL;
	}
	*rc = SS_PLUGIN_SUCCESS;
	return inst;
}

void plugin_close(ss_plugin_t* s, ss_instance_t* h) {
	instance* inst = h;
	(void)s;
	if (!inst) return;
	free(inst->buffer);
	free(inst->events);
	free(inst);
}

static void write_event(instance* inst, uint8_t* raw, uint64_t i) {
	ss_plugin_event* e = (ss_plugin_event*)raw;
	e->ts = inst->tsnow ? UINT64_MAX : inst->start_ts + i * inst->step;
	if (PLUGIN_ID != 0) {
		char payload[24];
		uint32_t lens[2], zero = 0;
		int n = snprintf(payload, sizeof(payload), "%" PRIu64, i);
		lens[0] = 4;
		lens[1] = (uint32_t)n;
		e->tid = UINT64_MAX;
		e->type = 322;
		e->nparams = 2;
		e->len = 38 + (uint32_t)n;
		memcpy(raw + 26, lens, 8);
		memcpy(raw + 34, &zero, 4);
		memcpy(raw + 38, payload, (size_t)n);
	} else {
		uint16_t lens[2] = {2, 2};
		uint16_t vals[2] = {(uint16_t)(i & 0xffff), 7};
		e->tid = (uint64_t)inst->tids[i % (uint64_t)inst->ntids];
		e->type = (uint16_t)inst->type;
		e->nparams = 2;
		e->len = 34;
		memcpy(raw + 26, lens, 4);
		memcpy(raw + 30, vals, 4);
	}
}

ss_plugin_rc plugin_next_batch(ss_plugin_t* s, ss_instance_t* h, uint32_t* nevts, ss_plugin_event*** evts) {
	instance* inst = h;
	uint32_t n = 0;
	(void)s;
	*nevts = 0;
	*evts = inst->events;
	if (inst->sleep_us) {
		struct timespec ts = {(time_t)(inst->sleep_us / 1000000), (long)(inst->sleep_us % 1000000) * 1000};
		nanosleep(&ts, NULL);
	}
	while (n < inst->batch && inst->next < inst->count) {
		uint8_t* raw = inst->buffer + (size_t)n * SLOT;
		write_event(inst, raw, inst->next++);
		inst->events[n++] = (ss_plugin_event*)raw;
	}
	if (n > 0) {
		*nevts = n;
		return SS_PLUGIN_SUCCESS;
	}
	if (inst->forever || inst->idled < inst->idle) {
		inst->idled++;
		return SS_PLUGIN_TIMEOUT;
	}
	return SS_PLUGIN_EOF;
}
