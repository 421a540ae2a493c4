/*
 * testasync: an async-events test plugin for falcoplug (plugin API 3.12).
 *
 * Identity: name PLUGIN_NAME (default "testasync"), version "0.1.0". Capabilities: async events
 * (names ASYNC_EVENTS, default ["tick","state"]; sources ASYNC_SOURCES when defined), plus
 * dump_state and get_metrics.
 *
 * When the host sets a handler, the plugin starts `threads` background threads, each sending
 * `count` async events through it, `rate` per second (0: as fast as it can), then stopping. When
 * the host resets the handler (NULL), the threads are stopped and joined before returning.
 *
 * Init config, "key=value,..." (all optional):
 *   threads=T (1)  count=N (10, per thread)  rate=R (0)  delay_us=D (0: wait before the first)
 *   name=NAME      the event name (default "tick"; an undeclared name is refused by the host)
 *   ts=MODE        now (default: the current time), none (UINT64_MAX: stamped by the host),
 *                  future (now + 60 s), fixed (base + seq * step, with base=N and step=N)
 *   tid=N          the event tid (default -1, i.e. UINT64_MAX)
 *   bad=KIND       type (send type 401) or nparams (send 2 params)
 *   refuse=1       set_async_event_handler fails (last error "refusing the handler")
 *   dump=N         dump_state sends N "state" events (data "S<i>", ts 1000 + i); default 0
 *   dumpbad=1      dump_state also sends an event named "bogus" (refused), then fails with
 *                  last error "dump: <the host's error>"
 *
 * Event data: "T<thread>:<seq>" (no NUL). Metrics: "sent" and "failed" (u64). The first five
 * handler failures are logged through log_fn (component "async") with the host's message.
 */
#include "falcoplug/plugin_api.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef PLUGIN_NAME
#define PLUGIN_NAME "testasync"
#endif
#ifndef ASYNC_EVENTS
#define ASYNC_EVENTS "[\"tick\",\"state\"]"
#endif
#define MAX_THREADS 32

struct plugin_state;

typedef struct worker {
	struct plugin_state* s;
	int index;
	pthread_t thread;
} worker;

typedef struct plugin_state {
	char last_error[PLUGIN_MAX_ERRLEN];
	ss_plugin_owner_t* owner;
	ss_plugin_log_fn_t log_fn;
	ss_plugin_async_event_handler_t handler;
	ss_plugin_owner_t* handler_owner;
	int threads, rate, refuse, dump, dumpbad, bad;
	uint64_t count, delay_us, base, step, tid;
	char name[64];
	char ts_mode[16];
	volatile int stop;
	worker workers[MAX_THREADS];
	int running;
	uint64_t sent, failed, logged;
	ss_plugin_metric metrics[2];
} plugin_state;

const char* plugin_get_required_api_version(void) { return "3.12.0"; }
const char* plugin_get_version(void) { return "0.1.0"; }
const char* plugin_get_name(void) { return PLUGIN_NAME; }
const char* plugin_get_description(void) { return "falcoplug test plugin: async events from threads"; }
const char* plugin_get_contact(void) { return "falcoplug tests"; }
const char* plugin_get_async_events(void) { return ASYNC_EVENTS; }
#ifdef ASYNC_SOURCES
const char* plugin_get_async_event_sources(void) { return ASYNC_SOURCES; }
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

static uint64_t kv_u64(const char* list, const char* key, uint64_t def) {
	char buf[64];
	return kv_get(list, key, buf, sizeof(buf)) ? strtoull(buf, NULL, 10) : def;
}

static uint64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void sleep_us(uint64_t us) {
	struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
	nanosleep(&ts, NULL);
}

ss_plugin_t* plugin_init(const ss_plugin_init_input* in, ss_plugin_rc* rc) {
	plugin_state* s = calloc(1, sizeof(*s));
	char buf[64];
	*rc = SS_PLUGIN_SUCCESS;
	if (!s) {
		*rc = SS_PLUGIN_FAILURE;
		return NULL;
	}
	s->owner = in->owner;
	s->log_fn = in->log_fn;
	s->threads = (int)kv_u64(in->config, "threads", 1);
	if (s->threads > MAX_THREADS) s->threads = MAX_THREADS;
	s->count = kv_u64(in->config, "count", 10);
	s->rate = (int)kv_u64(in->config, "rate", 0);
	s->delay_us = kv_u64(in->config, "delay_us", 0);
	s->refuse = (int)kv_u64(in->config, "refuse", 0);
	s->dump = (int)kv_u64(in->config, "dump", 0);
	s->dumpbad = (int)kv_u64(in->config, "dumpbad", 0);
	s->base = kv_u64(in->config, "base", 1000000000000ULL);
	s->step = kv_u64(in->config, "step", 1000);
	s->tid = kv_get(in->config, "tid", buf, sizeof(buf)) ? (uint64_t)strtoll(buf, NULL, 10) : UINT64_MAX;
	if (!kv_get(in->config, "name", s->name, sizeof(s->name))) strcpy(s->name, "tick");
	if (!kv_get(in->config, "ts", s->ts_mode, sizeof(s->ts_mode))) strcpy(s->ts_mode, "now");
	if (kv_get(in->config, "bad", buf, sizeof(buf))) s->bad = strcmp(buf, "type") == 0 ? 1 : 2;
	return s;
}

const char* plugin_get_last_error(ss_plugin_t* s) { return ((plugin_state*)s)->last_error; }

/* Builds one async event in buf (at least 26 + 16 + name + data bytes); returns it. */
static ss_plugin_event* build_event(const char* name, const char* data, uint64_t ts, uint64_t tid, int bad, uint8_t* buf) {
	ss_plugin_event* e = (ss_plugin_event*)buf;
	uint32_t nlen = (uint32_t)strlen(name) + 1, dlen = (uint32_t)strlen(data), zero = 0;
	uint32_t lens[3] = {4, nlen, dlen};
	e->ts = ts;
	e->tid = tid;
	e->type = bad == 1 ? 401 : 402;
	e->nparams = bad == 2 ? 2 : 3;
	e->len = 26 + 12 + 4 + nlen + dlen;
	memcpy(buf + 26, lens, 12);
	memcpy(buf + 38, &zero, 4);
	memcpy(buf + 42, name, nlen);
	memcpy(buf + 42 + nlen, data, dlen);
	return e;
}

static void note_failure(plugin_state* s, const char* err) {
	uint64_t n = __atomic_add_fetch(&s->failed, 1, __ATOMIC_SEQ_CST);
	if (n <= 5 && s->log_fn) s->log_fn(s->owner, "async", err, SS_PLUGIN_LOG_SEV_WARNING);
}

static void* run(void* arg) {
	worker* w = arg;
	plugin_state* s = w->s;
	uint8_t buf[512];
	char data[64];
	uint64_t interval = s->rate > 0 ? 1000000ULL / (uint64_t)s->rate : 0;
	if (s->delay_us) sleep_us(s->delay_us);
	for (uint64_t i = 0; i < s->count && !s->stop; i++) {
		char err[PLUGIN_MAX_ERRLEN] = {0};
		uint64_t ts;
		if (strcmp(s->ts_mode, "none") == 0) ts = UINT64_MAX;
		else if (strcmp(s->ts_mode, "future") == 0) ts = now_ns() + 60ULL * 1000000000ULL;
		else if (strcmp(s->ts_mode, "fixed") == 0) ts = s->base + i * s->step;
		else ts = now_ns();
		snprintf(data, sizeof(data), "T%d:%" PRIu64, w->index, i);
		ss_plugin_event* e = build_event(s->name, data, ts, s->tid, s->bad, buf);
		if (s->handler(s->handler_owner, e, err) == SS_PLUGIN_SUCCESS) __atomic_add_fetch(&s->sent, 1, __ATOMIC_SEQ_CST);
		else note_failure(s, err);
		if (interval) sleep_us(interval);
	}
	return NULL;
}

static void stop_threads(plugin_state* s) {
	s->stop = 1;
	for (int i = 0; i < s->running; i++) pthread_join(s->workers[i].thread, NULL);
	s->running = 0;
	s->stop = 0;
}

ss_plugin_rc plugin_set_async_event_handler(ss_plugin_t* st, ss_plugin_owner_t* owner, const ss_plugin_async_event_handler_t handler) {
	plugin_state* s = st;
	if (!handler) {
		stop_threads(s);
		s->handler = NULL;
		return SS_PLUGIN_SUCCESS;
	}
	if (s->refuse) {
		strcpy(s->last_error, "refusing the handler");
		return SS_PLUGIN_FAILURE;
	}
	stop_threads(s);
	s->handler = handler;
	s->handler_owner = owner;
	for (int i = 0; i < s->threads; i++) {
		s->workers[i].s = s;
		s->workers[i].index = i;
		if (pthread_create(&s->workers[i].thread, NULL, run, &s->workers[i]) != 0) {
			strcpy(s->last_error, "cannot start a thread");
			stop_threads(s);
			return SS_PLUGIN_FAILURE;
		}
		s->running++;
	}
	return SS_PLUGIN_SUCCESS;
}

ss_plugin_rc plugin_dump_state(ss_plugin_t* st, ss_plugin_owner_t* owner, const ss_plugin_async_event_handler_t handler) {
	plugin_state* s = st;
	uint8_t buf[512];
	char data[32], err[PLUGIN_MAX_ERRLEN];
	for (int i = 0; i < s->dump; i++) {
		snprintf(data, sizeof(data), "S%d", i);
		err[0] = '\0';
		if (handler(owner, build_event("state", data, 1000 + (uint64_t)i, UINT64_MAX, 0, buf), err) != SS_PLUGIN_SUCCESS) {
			snprintf(s->last_error, sizeof(s->last_error), "dump: %s", err);
			return SS_PLUGIN_FAILURE;
		}
	}
	if (s->dumpbad) {
		err[0] = '\0';
		if (handler(owner, build_event("bogus", "x", 5000, UINT64_MAX, 0, buf), err) != SS_PLUGIN_SUCCESS) {
			snprintf(s->last_error, sizeof(s->last_error), "dump: %s", err);
			return SS_PLUGIN_FAILURE;
		}
	}
	return SS_PLUGIN_SUCCESS;
}

ss_plugin_metric* plugin_get_metrics(ss_plugin_t* st, uint32_t* n) {
	plugin_state* s = st;
	s->metrics[0].name = "sent";
	s->metrics[0].type = SS_PLUGIN_METRIC_TYPE_MONOTONIC;
	s->metrics[0].value_type = SS_PLUGIN_METRIC_VALUE_TYPE_U64;
	s->metrics[0].value.u64 = __atomic_load_n(&s->sent, __ATOMIC_SEQ_CST);
	s->metrics[1].name = "failed";
	s->metrics[1].type = SS_PLUGIN_METRIC_TYPE_MONOTONIC;
	s->metrics[1].value_type = SS_PLUGIN_METRIC_VALUE_TYPE_U64;
	s->metrics[1].value.u64 = __atomic_load_n(&s->failed, __ATOMIC_SEQ_CST);
	*n = 2;
	return s->metrics;
}

void plugin_destroy(ss_plugin_t* st) {
	plugin_state* s = st;
	stop_threads(s);
	free(s);
}
