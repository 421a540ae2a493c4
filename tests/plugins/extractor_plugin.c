/*
 * testext: an extraction-only test plugin for falcoplug (plugin API 3.12), with a field of every
 * type, list fields and every kind of field argument.
 *
 * Identity: name "testext", version "1.0.0". Extracts from the source "test" (testsrc's events),
 * event type 322 only. Init takes any config and ignores it (no init schema).
 *
 * Every value is computed from n, the number at the end of the event payload: the payload's
 * trailing run of ASCII digits (so testsrc's payload_prefix does not get in the way). An event
 * whose payload does not end with a digit gets no value for any field.
 *
 *   field           type      list  argument           value
 *   ext.u64         uint64          -                  n*2
 *   ext.str         string          -                  "v<n>"
 *   ext.rel         reltime         -                  n*1000
 *   ext.abs         abstime         -                  1700000000000000000+n
 *   ext.bool        bool            -                  n%3 == 0
 *   ext.ip4         ipaddr          -                  10.0.0.<n%256> (4 bytes)
 *   ext.ip6         ipaddr          -                  2001:db8::<n%65536> (16 bytes; hex in text)
 *   ext.net         ipnet           -                  192.168.<n%256>.0 (4 bytes)
 *   ext.list.u64    uint64    yes   -                  [n, n+1, n+2]
 *   ext.list.str    string    yes   -                  ["a<n>", "b<n>"]
 *   ext.list.empty  string    yes   -                  [] (res_len 0: no value)
 *   ext.list.ip     ipaddr    yes   -                  [10.0.0.<n%256> (4 bytes), 2001:db8::<n%65536> (16 bytes)]
 *   ext.key         string          key, required      "<key>=<n>"
 *   ext.idx         uint64          index, required    n+<index>
 *   ext.opt         string          key, optional      the key, or "none" without an argument
 *   ext.keyidx      string          key+index, opt.    "<key>/<index>", "-" for a missing part
 *   ext.odd         string          -                  "odd<n>" for odd n; no value (SUCCESS, res_len 0) for even n
 *   ext.fail        string          -                  "ok<n>"; for n%5 == 0 the whole extract_fields call
 *                                                      returns SS_PLUGIN_FAILURE ("ext.fail failed for n=<n>")
 *
 * extract_fields takes any number of fields per call; the results stay valid until the next call.
 * value_offsets are not supported: when the host asks for them they are left NULL.
 */
#include "falcoplug/plugin_api.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum field_id {
	F_U64, F_STR, F_REL, F_ABS, F_BOOL, F_IP4, F_IP6, F_NET,
	F_LIST_U64, F_LIST_STR, F_LIST_EMPTY, F_LIST_IP,
	F_KEY, F_IDX, F_OPT, F_KEYIDX, F_ODD, F_FAIL,
};

#define MAX_VALUES 3 /* the longest list has 3 values */

/* The storage behind one requested field's values (valid until the next extract_fields). */
typedef struct result_slot {
	uint64_t u64[MAX_VALUES];
	ss_plugin_bool boolean;
	const char* str[MAX_VALUES];
	char* text[MAX_VALUES]; /* owned, growable */
	size_t text_cap[MAX_VALUES];
	ss_plugin_byte_buffer buf[MAX_VALUES];
	uint8_t addr[MAX_VALUES][16];
} result_slot;

typedef struct plugin_state {
	char last_error[PLUGIN_MAX_ERRLEN];
	result_slot* slots;
	uint32_t nslots;
} plugin_state;

static void set_error(plugin_state* s, const char* fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->last_error, sizeof(s->last_error), fmt, ap);
	va_end(ap);
}

const char* plugin_get_required_api_version(void) { return "3.12.0"; }
const char* plugin_get_version(void) { return "1.0.0"; }
const char* plugin_get_name(void) { return "testext"; }
const char* plugin_get_description(void) { return "falcoplug test plugin: fields of every type"; }
const char* plugin_get_contact(void) { return "falcoplug tests"; }

ss_plugin_t* plugin_init(const ss_plugin_init_input* in, ss_plugin_rc* rc) {
	plugin_state* s = calloc(1, sizeof(*s));
	(void)in;
	*rc = s ? SS_PLUGIN_SUCCESS : SS_PLUGIN_FAILURE;
	return s;
}

void plugin_destroy(ss_plugin_t* st) {
	plugin_state* s = st;
	if (!s) return;
	for (uint32_t i = 0; i < s->nslots; i++)
		for (int j = 0; j < MAX_VALUES; j++) free(s->slots[i].text[j]);
	free(s->slots);
	free(s);
}

const char* plugin_get_last_error(ss_plugin_t* st) {
	return ((plugin_state*)st)->last_error;
}

const char* plugin_get_extract_event_sources(void) { return "[\"test\"]"; }

uint16_t* plugin_get_extract_event_types(uint32_t* numtypes, ss_plugin_t* s) {
	static uint16_t types[] = {322};
	(void)s;
	*numtypes = 1;
	return types;
}

const char* plugin_get_fields(void) {
	return "["
	       "{\"type\":\"uint64\",\"name\":\"ext.u64\",\"display\":\"Doubled\","
	       "\"desc\":\"Twice the event number\",\"addOutput\":true},"
	       "{\"type\":\"string\",\"name\":\"ext.str\",\"display\":\"Label\","
	       "\"desc\":\"The event number after a 'v'\",\"properties\":[\"info\"],\"addOutput\":true},"
	       "{\"type\":\"reltime\",\"name\":\"ext.rel\",\"desc\":\"The number as microseconds\","
	       "\"properties\":[\"hidden\"]},"
	       "{\"type\":\"abstime\",\"name\":\"ext.abs\",\"desc\":\"A fixed time plus the number\","
	       "\"properties\":[\"conversation\"]},"
	       "{\"type\":\"bool\",\"name\":\"ext.bool\",\"desc\":\"Whether the number divides by 3\"},"
	       "{\"type\":\"ipaddr\",\"name\":\"ext.ip4\",\"desc\":\"An IPv4 address\"},"
	       "{\"type\":\"ipaddr\",\"name\":\"ext.ip6\",\"desc\":\"An IPv6 address\"},"
	       "{\"type\":\"ipnet\",\"name\":\"ext.net\",\"desc\":\"An IPv4 network\"},"
	       "{\"type\":\"uint64\",\"name\":\"ext.list.u64\",\"isList\":true,"
	       "\"desc\":\"The number and the two after it\"},"
	       "{\"type\":\"string\",\"name\":\"ext.list.str\",\"isList\":true,\"desc\":\"Two labels\"},"
	       "{\"type\":\"string\",\"name\":\"ext.list.empty\",\"isList\":true,\"desc\":\"Always empty\"},"
	       "{\"type\":\"ipaddr\",\"name\":\"ext.list.ip\",\"isList\":true,"
	       "\"desc\":\"An IPv4 and an IPv6 address\"},"
	       "{\"type\":\"string\",\"name\":\"ext.key\",\"desc\":\"The key and the number\","
	       "\"arg\":{\"isKey\":true,\"isRequired\":true}},"
	       "{\"type\":\"uint64\",\"name\":\"ext.idx\",\"desc\":\"The number plus the index\","
	       "\"arg\":{\"isIndex\":true,\"isRequired\":true}},"
	       "{\"type\":\"string\",\"name\":\"ext.opt\",\"desc\":\"The key, or none\","
	       "\"arg\":{\"isKey\":true}},"
	       "{\"type\":\"string\",\"name\":\"ext.keyidx\",\"desc\":\"The key and the index\","
	       "\"arg\":{\"isIndex\":true,\"isKey\":true}},"
	       "{\"type\":\"string\",\"name\":\"ext.odd\",\"desc\":\"Only for odd numbers\"},"
	       "{\"type\":\"string\",\"name\":\"ext.fail\",\"desc\":\"Fails for multiples of 5\","
	       "\"display\":\"Failing\"}"
	       "]";
}

/* n from the payload's trailing digits; -1 when the event is not a 322 that ends with one. */
static int event_number(const ss_plugin_event* evt, uint64_t* n) {
	const uint8_t* raw = (const uint8_t*)evt;
	uint32_t lens[2];
	const char* data;
	uint32_t start, end;
	uint64_t v = 0;

	if (!evt || evt->type != 322 || evt->len < PLUGIN_EVENT_PAYLOAD_OFFSET) return -1;
	memcpy(lens, raw + sizeof(ss_plugin_event), sizeof(lens));
	if ((uint64_t)PLUGIN_EVENT_PAYLOAD_OFFSET + lens[1] > evt->len) return -1;
	data = (const char*)raw + PLUGIN_EVENT_PAYLOAD_OFFSET;
	end = lens[1];
	start = end;
	while (start > 0 && end - start < 20 && data[start - 1] >= '0' && data[start - 1] <= '9')
		start--;
	if (start == end) return -1;
	for (uint32_t i = start; i < end; i++) v = v * 10 + (uint64_t)(data[i] - '0');
	*n = v;
	return 0;
}

static int reserve_slots(plugin_state* s, uint32_t n) {
	result_slot* slots;
	if (n <= s->nslots) return 0;
	slots = realloc(s->slots, n * sizeof(*slots));
	if (!slots) return -1;
	memset(slots + s->nslots, 0, (n - s->nslots) * sizeof(*slots));
	s->slots = slots;
	s->nslots = n;
	return 0;
}

/* printf into value i of the slot (its own buffer, grown as needed) and point str[i] at it. */
__attribute__((format(printf, 3, 4)))
static int slot_printf(result_slot* slot, int i, const char* fmt, ...) {
	va_list ap;
	int len;
	va_start(ap, fmt);
	len = vsnprintf(slot->text[i], slot->text_cap[i], fmt, ap);
	va_end(ap);
	if (len < 0) return -1;
	if ((size_t)len + 1 > slot->text_cap[i]) {
		size_t cap = (size_t)len + 1 < 32 ? 32 : (size_t)len + 1;
		char* buf = realloc(slot->text[i], cap);
		if (!buf) return -1;
		slot->text[i] = buf;
		slot->text_cap[i] = cap;
		va_start(ap, fmt);
		vsnprintf(buf, cap, fmt, ap);
		va_end(ap);
	}
	slot->str[i] = slot->text[i];
	return 0;
}

static void set_ipv4(result_slot* slot, int i, uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
	uint8_t* addr = slot->addr[i];
	addr[0] = a;
	addr[1] = b;
	addr[2] = c;
	addr[3] = d;
	slot->buf[i].ptr = addr;
	slot->buf[i].len = 4;
}

/* 2001:db8::<low16> */
static void set_ipv6(result_slot* slot, int i, uint16_t low16) {
	uint8_t* addr = slot->addr[i];
	memset(addr, 0, 16);
	addr[0] = 0x20;
	addr[1] = 0x01;
	addr[2] = 0x0d;
	addr[3] = 0xb8;
	addr[14] = (uint8_t)(low16 >> 8);
	addr[15] = (uint8_t)low16;
	slot->buf[i].ptr = addr;
	slot->buf[i].len = 16;
}

/* Fills field f from n. Returns SUCCESS (with res_len 0 when there is no value) or FAILURE. */
static ss_plugin_rc extract_one(plugin_state* s, ss_plugin_extract_field* f, result_slot* slot,
                                uint64_t n) {
	int err = 0;
	f->res_len = 1;
	switch (f->field_id) {
	case F_U64:
		slot->u64[0] = n * 2;
		f->res.u64 = slot->u64;
		break;
	case F_STR:
		err = slot_printf(slot, 0, "v%" PRIu64, n);
		f->res.str = slot->str;
		break;
	case F_REL:
		slot->u64[0] = n * 1000;
		f->res.u64 = slot->u64;
		break;
	case F_ABS:
		slot->u64[0] = 1700000000000000000ULL + n;
		f->res.u64 = slot->u64;
		break;
	case F_BOOL:
		slot->boolean = n % 3 == 0;
		f->res.boolean = &slot->boolean;
		break;
	case F_IP4:
		set_ipv4(slot, 0, 10, 0, 0, (uint8_t)(n % 256));
		f->res.buf = slot->buf;
		break;
	case F_IP6:
		set_ipv6(slot, 0, (uint16_t)(n % 65536));
		f->res.buf = slot->buf;
		break;
	case F_NET:
		set_ipv4(slot, 0, 192, 168, (uint8_t)(n % 256), 0);
		f->res.buf = slot->buf;
		break;
	case F_LIST_U64:
		for (int i = 0; i < 3; i++) slot->u64[i] = n + (uint64_t)i;
		f->res.u64 = slot->u64;
		f->res_len = 3;
		break;
	case F_LIST_STR:
		err = slot_printf(slot, 0, "a%" PRIu64, n) || slot_printf(slot, 1, "b%" PRIu64, n);
		f->res.str = slot->str;
		f->res_len = 2;
		break;
	case F_LIST_EMPTY:
		f->res.str = slot->str;
		f->res_len = 0;
		break;
	case F_LIST_IP:
		set_ipv4(slot, 0, 10, 0, 0, (uint8_t)(n % 256));
		set_ipv6(slot, 1, (uint16_t)(n % 65536));
		f->res.buf = slot->buf;
		f->res_len = 2;
		break;
	case F_KEY:
		if (!f->arg_present || !f->arg_key) {
			set_error(s, "ext.key requires a key argument");
			return SS_PLUGIN_FAILURE;
		}
		err = slot_printf(slot, 0, "%s=%" PRIu64, f->arg_key, n);
		f->res.str = slot->str;
		break;
	case F_IDX:
		if (!f->arg_present || f->arg_index == UINT64_MAX) {
			set_error(s, "ext.idx requires an index argument");
			return SS_PLUGIN_FAILURE;
		}
		slot->u64[0] = n + f->arg_index;
		f->res.u64 = slot->u64;
		break;
	case F_OPT:
		if (f->arg_present && f->arg_key)
			err = slot_printf(slot, 0, "%s", f->arg_key);
		else
			err = slot_printf(slot, 0, "none");
		f->res.str = slot->str;
		break;
	case F_KEYIDX: {
		const char* key = f->arg_present && f->arg_key ? f->arg_key : "-";
		if (f->arg_present && f->arg_index != UINT64_MAX)
			err = slot_printf(slot, 0, "%s/%" PRIu64, key, f->arg_index);
		else
			err = slot_printf(slot, 0, "%s/-", key);
		f->res.str = slot->str;
		break;
	}
	case F_ODD:
		if (n % 2 == 0) {
			f->res_len = 0;
			break;
		}
		err = slot_printf(slot, 0, "odd%" PRIu64, n);
		f->res.str = slot->str;
		break;
	case F_FAIL:
		if (n % 5 == 0) {
			f->res_len = 0;
			set_error(s, "ext.fail failed for n=%" PRIu64, n);
			return SS_PLUGIN_FAILURE;
		}
		err = slot_printf(slot, 0, "ok%" PRIu64, n);
		f->res.str = slot->str;
		break;
	default:
		f->res_len = 0;
		set_error(s, "unknown field id %u (%s)", f->field_id, f->field ? f->field : "?");
		return SS_PLUGIN_FAILURE;
	}
	if (err) {
		f->res_len = 0;
		set_error(s, "out of memory");
		return SS_PLUGIN_FAILURE;
	}
	return SS_PLUGIN_SUCCESS;
}

ss_plugin_rc plugin_extract_fields(ss_plugin_t* st, const ss_plugin_event_input* evt,
                                   const ss_plugin_field_extract_input* in) {
	plugin_state* s = st;
	uint64_t n;
	int has_number = event_number(evt->evt, &n) == 0;
	ss_plugin_rc rc = SS_PLUGIN_SUCCESS;

	if (reserve_slots(s, in->num_fields) != 0) {
		set_error(s, "out of memory");
		return SS_PLUGIN_FAILURE;
	}
	for (uint32_t i = 0; i < in->num_fields; i++) {
		ss_plugin_extract_field* f = &in->fields[i];
		f->res_len = 0;
		if (!has_number) continue;
		/* Keep filling the other fields after a failure: the call still fails as a whole. */
		if (extract_one(s, f, &s->slots[i], n) != SS_PLUGIN_SUCCESS) rc = SS_PLUGIN_FAILURE;
	}
	return rc;
}
