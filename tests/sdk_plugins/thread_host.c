/*
 * thread_host: drives a plugin library from threads Python never saw (as Falco does), to test
 * that a built Python plugin starts and runs from any thread.
 *
 *   thread_host LIB CONFIG PARAMS FIELD
 *
 * init and open run in one new thread; each batch is then read, and FIELD (a string field
 * without argument) extracted from each of its events, in another new thread. Prints
 * "<evtnum> <payload> <value>" per event; any failure prints "error: ..." and exits 1.
 */
#include "falcoplug/plugin_api.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct run {
	void* lib;
	const char *config, *params, *field;
	ss_plugin_t* state;
	ss_instance_t* inst;
	uint32_t field_id;
	uint64_t evtnum;
	int eof;
} run;

static void* sym(void* lib, const char* name) {
	void* p = dlsym(lib, name);
	if (p == NULL) {
		fprintf(stderr, "error: missing %s\n", name);
		exit(1);
	}
	return p;
}

static void* start(void* arg) {
	run* r = arg;
	ss_plugin_t* (*init)(const ss_plugin_init_input*, ss_plugin_rc*) = sym(r->lib, "plugin_init");
	const char* (*last_error)(ss_plugin_t*) = sym(r->lib, "plugin_get_last_error");
	ss_instance_t* (*open)(ss_plugin_t*, const char*, ss_plugin_rc*) = sym(r->lib, "plugin_open");
	ss_plugin_init_input in;
	memset(&in, 0, sizeof in);
	in.config = r->config;
	ss_plugin_rc rc;
	r->state = init(&in, &rc);
	if (rc != SS_PLUGIN_SUCCESS) {
		fprintf(stderr, "error: init: %s\n", r->state ? last_error(r->state) : "no state");
		exit(1);
	}
	r->inst = open(r->state, r->params, &rc);
	if (rc != SS_PLUGIN_SUCCESS) {
		fprintf(stderr, "error: open: %s\n", last_error(r->state));
		exit(1);
	}
	return NULL;
}

static void* batch(void* arg) {
	run* r = arg;
	ss_plugin_rc (*next)(ss_plugin_t*, ss_instance_t*, uint32_t*, ss_plugin_event***) = sym(r->lib, "plugin_next_batch");
	ss_plugin_rc (*extract)(ss_plugin_t*, const ss_plugin_event_input*, const ss_plugin_field_extract_input*) =
	    sym(r->lib, "plugin_extract_fields");
	uint32_t n = 0;
	ss_plugin_event** evts = NULL;
	ss_plugin_rc rc = next(r->state, r->inst, &n, &evts);
	if (rc != SS_PLUGIN_SUCCESS && rc != SS_PLUGIN_EOF && rc != SS_PLUGIN_TIMEOUT) {
		fprintf(stderr, "error: next_batch rc %d\n", rc);
		exit(1);
	}
	r->eof = rc == SS_PLUGIN_EOF;
	for (uint32_t i = 0; i < n; i++) {
		ss_plugin_extract_field f;
		memset(&f, 0, sizeof f);
		f.field_id = r->field_id;
		f.field = r->field;
		f.arg_index = (uint64_t)-1;
		f.ftype = FTYPE_STRING;
		ss_plugin_field_extract_input in;
		memset(&in, 0, sizeof in);
		in.num_fields = 1;
		in.fields = &f;
		ss_plugin_event_input ei = {evts[i], ++r->evtnum, "src"};
		rc = extract(r->state, &ei, &in);
		const char* payload = (const char*)evts[i] + 38;
		printf("%llu %.*s %s\n", (unsigned long long)r->evtnum, (int)(evts[i]->len - 38), payload,
		       rc == SS_PLUGIN_SUCCESS && f.res_len == 1 ? f.res.str[0] : "<NA>");
	}
	return NULL;
}

static void in_thread(void* (*fn)(void*), run* r) {
	pthread_t t;
	if (pthread_create(&t, NULL, fn, r) != 0 || pthread_join(t, NULL) != 0) {
		fprintf(stderr, "error: thread\n");
		exit(1);
	}
}

int main(int argc, char** argv) {
	if (argc != 6) {
		fprintf(stderr, "usage: thread_host LIB CONFIG PARAMS FIELD FIELD_ID\n");
		return 2;
	}
	run r;
	memset(&r, 0, sizeof r);
	r.lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (r.lib == NULL) {
		fprintf(stderr, "error: %s\n", dlerror());
		return 1;
	}
	r.config = argv[2];
	r.params = argv[3];
	r.field = argv[4];
	r.field_id = (uint32_t)atoi(argv[5]);
	in_thread(start, &r);
	for (int guard = 0; !r.eof && guard < 100000; guard++) in_thread(batch, &r);
	void (*close_)(ss_plugin_t*, ss_instance_t*) = sym(r.lib, "plugin_close");
	void (*destroy)(ss_plugin_t*) = sym(r.lib, "plugin_destroy");
	close_(r.state, r.inst);
	destroy(r.state);
	return 0;
}
