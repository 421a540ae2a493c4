/*
 * bench_host: times the two hot entry points of a plugin library from C, without Python in the
 * host (the benchmark of falcoplug's SDK exports, and the C baseline with the same program).
 *
 *   bench_host extract LIB CONFIG PARAMS FIELD FIELD_ID CALLS
 *       one next_batch, then CALLS extract_fields calls of one string field (no argument), cycling
 *       over the batch's events; prints {"calls": N, "ns_per_call": X}
 *   bench_host source LIB CONFIG PARAMS
 *       next_batch until EOF; prints {"events": N, "batches": B, "events_per_sec": R}
 */
#include "falcoplug/plugin_api.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void* sym(void* lib, const char* name) {
	void* p = dlsym(lib, name);
	if (p == NULL) {
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

int main(int argc, char** argv) {
	if (argc < 5) {
		fprintf(stderr, "usage: bench_host extract|source LIB CONFIG PARAMS [FIELD FIELD_ID CALLS]\n");
		return 2;
	}
	void* lib = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) {
		fprintf(stderr, "error: %s\n", dlerror());
		return 1;
	}
	ss_plugin_t* (*init)(const ss_plugin_init_input*, ss_plugin_rc*) = sym(lib, "plugin_init");
	ss_instance_t* (*open)(ss_plugin_t*, const char*, ss_plugin_rc*) = sym(lib, "plugin_open");
	ss_plugin_rc (*next)(ss_plugin_t*, ss_instance_t*, uint32_t*, ss_plugin_event***) = sym(lib, "plugin_next_batch");
	const char* (*last_error)(ss_plugin_t*) = sym(lib, "plugin_get_last_error");
	ss_plugin_init_input in;
	memset(&in, 0, sizeof in);
	in.config = argv[3];
	ss_plugin_rc rc;
	ss_plugin_t* s = init(&in, &rc);
	if (rc != SS_PLUGIN_SUCCESS) {
		fprintf(stderr, "error: init: %s\n", s ? last_error(s) : "");
		return 1;
	}
	ss_instance_t* h = open(s, argv[4], &rc);
	if (rc != SS_PLUGIN_SUCCESS) {
		fprintf(stderr, "error: open: %s\n", last_error(s));
		return 1;
	}
	uint32_t n = 0;
	ss_plugin_event** evts = NULL;
	if (strcmp(argv[1], "source") == 0) {
		uint64_t events = 0, batches = 0;
		double t0 = now();
		do {
			rc = next(s, h, &n, &evts);
			events += n;
			batches++;
		} while (rc == SS_PLUGIN_SUCCESS || rc == SS_PLUGIN_TIMEOUT);
		double dt = now() - t0;
		if (rc != SS_PLUGIN_EOF) {
			fprintf(stderr, "error: next_batch rc %d: %s\n", rc, last_error(s));
			return 1;
		}
		printf("{\"events\": %llu, \"batches\": %llu, \"events_per_sec\": %.1f}\n", (unsigned long long)events,
		       (unsigned long long)batches, events / dt);
		return 0;
	}
	if (argc != 8) return 2;
	ss_plugin_rc (*extract)(ss_plugin_t*, const ss_plugin_event_input*, const ss_plugin_field_extract_input*) =
	    sym(lib, "plugin_extract_fields");
	rc = next(s, h, &n, &evts);
	if (n == 0) {
		fprintf(stderr, "error: no events\n");
		return 1;
	}
	/* libsinsp fills one field per call, on its stack; so does this loop. */
	long calls = atol(argv[7]);
	size_t total = 0;
	double t0 = now();
	for (long i = 0; i < calls; i++) {
		ss_plugin_extract_field f;
		memset(&f, 0, sizeof f);
		f.field_id = (uint32_t)atoi(argv[6]);
		f.field = argv[5];
		f.arg_index = (uint64_t)-1;
		f.ftype = FTYPE_STRING;
		ss_plugin_field_extract_input ein;
		memset(&ein, 0, sizeof ein);
		ein.num_fields = 1;
		ein.fields = &f;
		ss_plugin_event_input ei = {evts[i % n], (uint64_t)i + 1, "bench"};
		if (extract(s, &ei, &ein) != SS_PLUGIN_SUCCESS || f.res_len != 1) {
			fprintf(stderr, "error: extract: %s\n", last_error(s));
			return 1;
		}
		total += strlen(f.res.str[0]);
	}
	double dt = now() - t0;
	printf("{\"calls\": %ld, \"ns_per_call\": %.1f, \"bytes\": %zu}\n", calls, dt * 1e9 / calls, total);
	return 0;
}
