/*
 * falcoplug's compiled core, shared part: growable buffers and small readers. Compiled first by
 * abi/_fastpath_build.py, before loop.c, extract.c and scan.c (one C file per concern, each paired
 * with one Python module). C writes no message text: every function returns a status code with
 * the numbers a message needs, and the Python side words it.
 */
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>
#include <dlfcn.h>
#include "falcoplug/plugin_api.h"

#define FP_PLUGINEVENT_E 322
#define FP_ASYNCEVENT_E 402
#define FP_HDR_LEN 26
#define FP_MAX_EVENT_LEN (64u * 1024u * 1024u)
#define FP_NO_VALUE 0xFFFFFFFFu

/* The stack below the caller overwritten with a pattern: what a plugin left there in the call
 * before (a value it wrongly returned from its own frame) is then gone for sure, not only when the
 * next calls happen to reach as deep. The checker's probe calls it between two reads of a value. */
void fp_clobber_stack(void) {
	char scratch[64 * 1024];
	memset(scratch, 0xA5, sizeof scratch);
	__asm__ volatile("" : : "r"(scratch) : "memory");
}

static int fp_reserve(void** p, uint64_t* cap, uint64_t need, size_t elem) {
	if (need <= *cap) return 0;
	uint64_t ncap = *cap ? *cap : 256;
	while (ncap < need) ncap *= 2;
	void* np = realloc(*p, ncap * elem);
	if (!np) return -1;
	*p = np;
	*cap = ncap;
	return 0;
}

static uint32_t rd32(const uint8_t* p) { uint32_t v; memcpy(&v, p, 4); return v; }
static void wr32(uint8_t* p, uint32_t v) { memcpy(p, &v, 4); }

static uint64_t fp_clock_ns(clockid_t clock) {
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Ctrl-C and SIGTERM while a plugin is blocked in a call made from a C loop: Python's own handler
 * only runs once the loop returns, and a loop of many calls would block again at the next call.
 * fp_watch_signals() puts a handler in front of the current one (Python's): it raises a flag
 * and calls the previous handler, and every C loop stops after the plugin call it is in.
 */
static volatile sig_atomic_t fp_stop = 0;
static struct sigaction fp_prev_int, fp_prev_term;

static void fp_on_signal(int signum, siginfo_t* info, void* ctx) {
	fp_stop = 1;
	struct sigaction* prev = signum == SIGINT ? &fp_prev_int : &fp_prev_term;
	if (prev->sa_flags & SA_SIGINFO) {
		if (prev->sa_sigaction) prev->sa_sigaction(signum, info, ctx);
	} else if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN && prev->sa_handler) {
		prev->sa_handler(signum);
	}
}

static int fp_chain(int signum, struct sigaction* prev) {
	struct sigaction cur;
	if (sigaction(signum, NULL, &cur) != 0) return 0;
	if (!(cur.sa_flags & SA_SIGINFO) && (cur.sa_handler == SIG_DFL || cur.sa_handler == SIG_IGN)) return 0;
	if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == fp_on_signal) return 1;  /* already in front */
	struct sigaction mine = cur;
	mine.sa_flags = (cur.sa_flags | SA_SIGINFO) & ~SA_RESETHAND;
	mine.sa_sigaction = fp_on_signal;
	*prev = cur;
	return sigaction(signum, &mine, NULL) == 0;
}

/* Returns how many of SIGINT and SIGTERM are now watched (those with a handler of their own). */
int fp_watch_signals(void) {
	return fp_chain(SIGINT, &fp_prev_int) + fp_chain(SIGTERM, &fp_prev_term);
}

/* Whether a watched signal arrived since the last fp_clear_stop(). */
int fp_stopped(void) { return fp_stop != 0; }
void fp_clear_stop(void) { fp_stop = 0; }
