/*
 * check_broken: a sourcing + extraction plugin for `falcoplug check`, with one misbehaviour per
 * -D macro, so that each check is shown to catch the fault it is meant for.
 *
 * Without any macro it is well behaved: name "chkplug", version PLUGIN_VERSION (default "1.2.0"),
 * ID PLUGIN_ID (default 999, the registry's development ID), source "chksrc". open takes a number of
 * events (default 20); each next_batch returns one event whose payload is "n=<i>" (i from 1), then
 * SS_PLUGIN_EOF for ever. Fields:
 *   chk.n      uint64  the number after "n=" (no value for any other payload)
 *   chk.text   string  the payload, when it is printable ASCII
 *   chk.extra  string  "extra-<n>" (left out with DROP_FIELD)
 *   chk.seen   uint64  (NONDET only) how many events next_batch had produced: state kept aside,
 *                      so a replay, which calls no next_batch, sees 0
 *
 * Misbehaviours
 *   CRASH_ON_RANDOM  extract_fields writes through NULL on a payload that is not "n=..." text
 *   HANG             extract_fields never returns on an empty payload
 *   LEAK             every extract_fields call allocates 32 KiB and never frees it
 *   NONDET           adds chk.seen
 *   SHARED_STORAGE   every string result of a call points to one slot in the plugin state
 *   STACK_VALUE      chk.text's string lives on extract_fields' stack (gone once it returns)
 *   DROP_FIELD       no chk.extra
 *   PLUGIN_ID=N, PLUGIN_VERSION="x.y.z", PLUGIN_NAME="..."
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "falcoplug/plugin_api.h"

#ifndef PLUGIN_ID
#define PLUGIN_ID 999
#endif
#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "1.2.0"
#endif
#ifndef PLUGIN_NAME
#define PLUGIN_NAME "chkplug"
#endif

typedef struct {
    char lasterr[256];
    uint64_t produced;
    uint64_t u64[4];
    char text[4][300];
    const char* strs[4];
    const char* slot;
} state_t;

typedef struct {
    uint64_t total, next;
    uint8_t evt[64 + 38];
    ss_plugin_event* batch[1];
} inst_t;

const char* plugin_get_required_api_version(void) { return "3.12.0"; }
const char* plugin_get_version(void) { return PLUGIN_VERSION; }
const char* plugin_get_name(void) { return PLUGIN_NAME; }
const char* plugin_get_description(void) { return "a plugin for falcoplug check's tests"; }
const char* plugin_get_contact(void) { return "https://example.com/chkplug"; }
uint32_t plugin_get_id(void) { return PLUGIN_ID; }
const char* plugin_get_event_source(void) { return "chksrc"; }

const char* plugin_get_fields(void) {
    return "["
           "{\"type\":\"uint64\",\"name\":\"chk.n\",\"desc\":\"the number after n=\"},"
           "{\"type\":\"string\",\"name\":\"chk.text\",\"desc\":\"the payload as text\"}"
#ifndef DROP_FIELD
           ",{\"type\":\"string\",\"name\":\"chk.extra\",\"desc\":\"extra-<n>\"}"
#endif
#ifdef NONDET
           ",{\"type\":\"uint64\",\"name\":\"chk.seen\",\"desc\":\"events produced so far\"}"
#endif
           "]";
}

ss_plugin_t* plugin_init(const ss_plugin_init_input* in, ss_plugin_rc* rc) {
    state_t* s = calloc(1, sizeof(state_t));
    *rc = SS_PLUGIN_SUCCESS;
    return s;
}

void plugin_destroy(ss_plugin_t* s) { free(s); }
const char* plugin_get_last_error(ss_plugin_t* s) { return ((state_t*)s)->lasterr; }

ss_instance_t* plugin_open(ss_plugin_t* s, const char* params, ss_plugin_rc* rc) {
    inst_t* i = calloc(1, sizeof(inst_t));
    long n = params && *params ? atol(params) : 20;
    i->total = n > 0 ? (uint64_t)n : 20;
    *rc = SS_PLUGIN_SUCCESS;
    return i;
}

void plugin_close(ss_plugin_t* s, ss_instance_t* h) { free(h); }

ss_plugin_rc plugin_next_batch(ss_plugin_t* s, ss_instance_t* h, uint32_t* nevts, ss_plugin_event*** evts) {
    inst_t* i = (inst_t*)h;
    state_t* st = (state_t*)s;
    *nevts = 0;
    if (i->next >= i->total) return SS_PLUGIN_EOF;
    char payload[64];
    int len = snprintf(payload, sizeof payload, "n=%llu", (unsigned long long)++i->next);
    ss_plugin_event* e = (ss_plugin_event*)i->evt;
    e->ts = (uint64_t)-1;
    e->tid = (uint64_t)-1;
    e->len = 38 + len;
    e->type = 322;
    e->nparams = 2;
    uint32_t lens[2] = {4, (uint32_t)len};
    uint32_t pid = 0;
    memcpy(i->evt + 26, lens, 8);
    memcpy(i->evt + 34, &pid, 4);
    memcpy(i->evt + 38, payload, len);
    i->batch[0] = e;
    *evts = i->batch;
    *nevts = 1;
    st->produced++;
    return SS_PLUGIN_SUCCESS;
}

const char* plugin_event_to_string(ss_plugin_t* s, const ss_plugin_event_input* evt) {
    state_t* st = (state_t*)s;
    uint32_t len = evt->evt->len - 38;
    snprintf(st->text[3], sizeof st->text[3], "payload=%.*s", (int)(len < 200 ? len : 200), (const char*)evt->evt + 38);
    return st->text[3];
}

static int read_n(const uint8_t* p, uint32_t len, uint64_t* out) {
    if (len < 3 || p[0] != 'n' || p[1] != '=') return 0;
    uint64_t v = 0;
    for (uint32_t k = 2; k < len; k++) {
        if (p[k] < '0' || p[k] > '9') return 0;
        v = v * 10 + (p[k] - '0');
    }
    *out = v;
    return 1;
}

#ifdef STACK_VALUE
__attribute__((noinline)) static void stack_string(state_t* s, ss_plugin_extract_field* f, const char* text) {
    char local[256];
    snprintf(local, sizeof local, "%s", text);
    s->strs[0] = local; /* wrong on purpose: the buffer is gone when the function returns */
    f->res.str = &s->strs[0];
    f->res_len = 1;
    __asm__ volatile("" : : "r"(local) : "memory");
}
#endif

static void set_string(state_t* s, ss_plugin_extract_field* f, int slot, const char* text) {
#ifdef STACK_VALUE
    if (slot == 0) {
        stack_string(s, f, text);
        return;
    }
#endif
    snprintf(s->text[slot], sizeof s->text[slot], "%s", text);
#ifdef SHARED_STORAGE
    s->slot = s->text[slot];
    f->res.str = &s->slot;
#else
    s->strs[slot] = s->text[slot];
    f->res.str = &s->strs[slot];
#endif
    f->res_len = 1;
}

ss_plugin_rc plugin_extract_fields(ss_plugin_t* s, const ss_plugin_event_input* evt, const ss_plugin_field_extract_input* in) {
    state_t* st = (state_t*)s;
    const uint8_t* payload = (const uint8_t*)evt->evt + 38;
    uint32_t len = evt->evt->len >= 38 ? evt->evt->len - 38 : 0;
#ifdef LEAK
    memset(malloc(32 * 1024), 1, 32 * 1024);
#endif
#ifdef HANG
    while (len == 0) sleep(1);
#endif
    uint64_t n = 0;
    int is_n = read_n(payload, len, &n);
#ifdef CRASH_ON_RANDOM
    if (!is_n && len > 0) *(volatile int*)0 = 1;
#endif
    for (uint32_t k = 0; k < in->num_fields; k++) {
        ss_plugin_extract_field* f = &in->fields[k];
        f->res_len = 0;
        const char* name = f->field;
        if (strcmp(name, "chk.n") == 0 && is_n) {
            st->u64[k % 4] = n;
            f->res.u64 = &st->u64[k % 4];
            f->res_len = 1;
        } else if (strcmp(name, "chk.text") == 0) {
            uint32_t j = 0;
            while (j < len && j < 200 && payload[j] >= 0x20 && payload[j] < 0x7f) j++;
            if (j == len && len < 200) {
                char buf[256];
                memcpy(buf, payload, len);
                buf[len] = 0;
                set_string(st, f, 0, buf);
            }
        } else if (strcmp(name, "chk.extra") == 0 && is_n) {
            char buf[64];
            snprintf(buf, sizeof buf, "extra-%llu", (unsigned long long)n);
            set_string(st, f, 1, buf);
        } else if (strcmp(name, "chk.seen") == 0) {
            st->u64[3] = st->produced;
            f->res.u64 = &st->u64[3];
            f->res_len = 1;
        }
    }
    return SS_PLUGIN_SUCCESS;
}
