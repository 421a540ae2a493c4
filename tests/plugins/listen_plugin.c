/*
 * testlisten: a capture-listening test plugin for falcoplug (plugin API 3.12).
 *
 * Identity: name "testlisten", version "0.1.0". Capabilities: capture listening, plus metrics.
 *
 * capture_open subscribes `routines` routines on the host's thread pool. Routine i counts its
 * runs; it returns 0 (done) after `steps` runs (0: never, it runs until unsubscribed), sleeping
 * `sleep_us` per run. With `unsub=1`, capture_open also calls unsubscribe with a pointer the host
 * never gave and logs the rc and get_owner_last_error(). capture_close unsubscribes every routine
 * not done yet and logs how many unsubscribe calls succeeded.
 *
 * Init config, "key=value,..." (all optional): routines=N (1), steps=K (0), sleep_us=U (0),
 * unsub=1, fail_open=1 (capture_open fails with last error "cannot open on purpose").
 *
 * Metrics (u64): open_calls, close_calls, runs (all routines), done (routines that returned 0),
 * unsubscribed (successful unsubscribe calls at close). Log lines: component "listen".
 */
#include "falcoplug/plugin_api.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_ROUTINES 16

struct plugin_state;

typedef struct routine_state {
	struct plugin_state* s;
	uint64_t runs;
	int done;
	ss_plugin_routine_t* handle;
} routine_state;

typedef struct plugin_state {
	char last_error[PLUGIN_MAX_ERRLEN];
	ss_plugin_owner_t* owner;
	ss_plugin_log_fn_t log_fn;
	int nroutines, unsub, fail_open;
	uint64_t steps, sleep_us;
	routine_state routines[MAX_ROUTINES];
	uint64_t open_calls, close_calls, runs, done, unsubscribed;
	ss_plugin_metric metrics[5];
} plugin_state;

const char* plugin_get_required_api_version(void) { return "3.12.0"; }
const char* plugin_get_version(void) { return "0.1.0"; }
const char* plugin_get_name(void) { return "testlisten"; }
const char* plugin_get_description(void) { return "falcoplug test plugin: routines on the host's thread pool"; }
const char* plugin_get_contact(void) { return "falcoplug tests"; }

static uint64_t kv_u64(const char* list, const char* key, uint64_t def) {
	size_t klen = strlen(key);
	const char* p = list ? list : "";
	while (*p) {
		const char* end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') return strtoull(p + klen + 1, NULL, 10);
		p += len + (end ? 1 : 0);
	}
	return def;
}

static void logf_(plugin_state* s, const char* fmt, ...) {
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (s->log_fn) s->log_fn(s->owner, "listen", line, SS_PLUGIN_LOG_SEV_INFO);
}

ss_plugin_t* plugin_init(const ss_plugin_init_input* in, ss_plugin_rc* rc) {
	plugin_state* s = calloc(1, sizeof(*s));
	*rc = s ? SS_PLUGIN_SUCCESS : SS_PLUGIN_FAILURE;
	if (!s) return NULL;
	s->owner = in->owner;
	s->log_fn = in->log_fn;
	s->nroutines = (int)kv_u64(in->config, "routines", 1);
	if (s->nroutines > MAX_ROUTINES) s->nroutines = MAX_ROUTINES;
	s->steps = kv_u64(in->config, "steps", 0);
	s->sleep_us = kv_u64(in->config, "sleep_us", 0);
	s->unsub = (int)kv_u64(in->config, "unsub", 0);
	s->fail_open = (int)kv_u64(in->config, "fail_open", 0);
	return s;
}

void plugin_destroy(ss_plugin_t* s) { free(s); }
const char* plugin_get_last_error(ss_plugin_t* s) { return ((plugin_state*)s)->last_error; }

static ss_plugin_bool routine(ss_plugin_t* st, ss_plugin_routine_state_t* rs) {
	plugin_state* s = st;
	routine_state* r = rs;
	uint64_t runs = __atomic_add_fetch(&r->runs, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&s->runs, 1, __ATOMIC_SEQ_CST);
	if (s->sleep_us) {
		struct timespec ts = {(time_t)(s->sleep_us / 1000000), (long)(s->sleep_us % 1000000) * 1000};
		nanosleep(&ts, NULL);
	}
	if (s->steps && runs >= s->steps) {
		__atomic_store_n(&r->done, 1, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&s->done, 1, __ATOMIC_SEQ_CST);
		return 0;
	}
	return 1;
}

ss_plugin_rc plugin_capture_open(ss_plugin_t* st, const ss_plugin_capture_listen_input* in) {
	plugin_state* s = st;
	s->open_calls++;
	if (s->fail_open) {
		strcpy(s->last_error, "cannot open on purpose");
		return SS_PLUGIN_FAILURE;
	}
	for (int i = 0; i < s->nroutines; i++) {
		routine_state* r = &s->routines[i];
		memset(r, 0, sizeof(*r));
		r->s = s;
		r->handle = in->routine->subscribe(in->owner, routine, r);
		if (!r->handle) {
			const char* e = in->get_owner_last_error(in->owner);
			logf_(s, "subscribe failed: %s", e ? e : "(null)");
		}
	}
	if (s->unsub) {
		int bogus;
		ss_plugin_rc rc = in->routine->unsubscribe(in->owner, (ss_plugin_routine_t*)&bogus);
		const char* e = in->get_owner_last_error(in->owner);
		logf_(s, "bogus unsubscribe rc=%d err=%s", (int)rc, e ? e : "(null)");
	}
	logf_(s, "open: %d routines", s->nroutines);
	return SS_PLUGIN_SUCCESS;
}

ss_plugin_rc plugin_capture_close(ss_plugin_t* st, const ss_plugin_capture_listen_input* in) {
	plugin_state* s = st;
	s->close_calls++;
	for (int i = 0; i < s->nroutines; i++) {
		routine_state* r = &s->routines[i];
		if (r->handle && !__atomic_load_n(&r->done, __ATOMIC_SEQ_CST)) {
			if (in->routine->unsubscribe(in->owner, r->handle) == SS_PLUGIN_SUCCESS) s->unsubscribed++;
		}
		r->handle = NULL;
	}
	logf_(s, "close: unsubscribed %" PRIu64, s->unsubscribed);
	return SS_PLUGIN_SUCCESS;
}

ss_plugin_metric* plugin_get_metrics(ss_plugin_t* st, uint32_t* n) {
	plugin_state* s = st;
	const char* names[5] = {"open_calls", "close_calls", "runs", "done", "unsubscribed"};
	uint64_t values[5] = {s->open_calls, s->close_calls, __atomic_load_n(&s->runs, __ATOMIC_SEQ_CST),
	                      __atomic_load_n(&s->done, __ATOMIC_SEQ_CST), s->unsubscribed};
	for (int i = 0; i < 5; i++) {
		s->metrics[i].name = names[i];
		s->metrics[i].type = SS_PLUGIN_METRIC_TYPE_MONOTONIC;
		s->metrics[i].value_type = SS_PLUGIN_METRIC_VALUE_TYPE_U64;
		s->metrics[i].value.u64 = values[i];
	}
	*n = 5;
	return s->metrics;
}
