/*
 * The event loop of a plugin source (paired with abi/loop.py): next_batch is called until a host
 * batch is full, the plugin stops (EOF, TIMEOUT, an error), or a time budget is spent; every event
 * is checked and fixed as libscap's source-plugin engine does, time-stamped when the plugin left
 * ts = UINT64_MAX (one clock reading per event, in microseconds times 1000, as libscap), and copied (plugin memory is only
 * valid until its next call). Events received before a problem stay in the batch: the host hands
 * them out before it reports the problem, in libsinsp's order.
 */

typedef struct fp_batch {
	uint8_t* data;
	uint64_t len;
	uint64_t cap;
	uint64_t* offs;
	uint32_t n;
	uint64_t ocap;
} fp_batch;

/* What ended a fill (fp_loop.status). */
enum fp_loop_status {
	FP_LOOP_OK = 0,            /* the batch is full, or the plugin returned rc != SUCCESS */
	FP_LOOP_EMPTY_SUCCESS,     /* SUCCESS with 0 events */
	FP_LOOP_NULL_ARRAY,        /* nevts > 0 and a NULL array (detail: nevts) */
	FP_LOOP_NULL_EVENT,        /* event `index` of the plugin batch is NULL */
	FP_LOOP_BAD_LENGTH,        /* detail: the length */
	FP_LOOP_NOT_PLUGIN_EVENT,  /* a plugin with an ID returned another event type */
	FP_LOOP_BAD_PARAMS,        /* detail: the length */
	FP_LOOP_BAD_PLUGIN_ID,     /* detail: the event's plugin ID */
	FP_LOOP_NO_PLUGIN_ID,      /* an ID-0 plugin returned a plugin event without an ID */
	FP_LOOP_NOMEM,
	FP_LOOP_INTERRUPTED        /* a watched signal arrived: stopped after the plugin's call */
};

typedef struct fp_loop {
	void* next_batch;
	ss_plugin_t* state;
	ss_instance_t* inst;
	uint32_t plugin_id;
	uint32_t max_events;      /* host batch capacity */
	uint64_t max_bytes;
	uint64_t max_wait_ns;     /* stop asking once this long has passed since the first call */
	fp_batch* out;
	/* results */
	int32_t rc;               /* the plugin's last ss_plugin_rc */
	int32_t status;           /* an fp_loop_status */
	uint32_t index;           /* the bad event's index in the plugin's batch */
	uint64_t detail;          /* a number for the message (a length, an ID, a count) */
	uint32_t calls;           /* next_batch calls made */
} fp_loop;

void fp_batch_free(fp_batch* b) {
	free(b->data);
	free(b->offs);
	memset(b, 0, sizeof(*b));
}

/* Check and fix one event in place; 0 or an fp_loop_status. */
static int fp_fix_event(fp_loop* L, ss_plugin_event* e) {
	uint32_t len = e->len;
	uint8_t* raw = (uint8_t*)e;
	if (len < FP_HDR_LEN || len > FP_MAX_EVENT_LEN) {
		L->detail = len;
		return FP_LOOP_BAD_LENGTH;
	}
	if (L->plugin_id != 0 && (e->type != FP_PLUGINEVENT_E || e->nparams != 2)) return FP_LOOP_NOT_PLUGIN_EVENT;
	if (e->type == FP_PLUGINEVENT_E) {
		if (e->nparams != 2 || len < 38 || rd32(raw + 26) != 4 || (uint64_t)38 + rd32(raw + 30) != len) {
			L->detail = len;
			return FP_LOOP_BAD_PARAMS;
		}
		uint32_t id = rd32(raw + 34);
		if (L->plugin_id != 0) {
			if (id == 0) {
				wr32(raw + 34, L->plugin_id);
			} else if (id != L->plugin_id) {
				L->detail = id;
				return FP_LOOP_BAD_PLUGIN_ID;
			}
		} else if (id == 0) {
			return FP_LOOP_NO_PLUGIN_ID;
		}
		e->tid = (uint64_t)-1;
	}
	/* libscap stamps it with gettimeofday(): the wall clock in microseconds, times 1000 */
	if (e->ts == (uint64_t)-1) e->ts = fp_clock_ns(CLOCK_REALTIME) / 1000u * 1000u;
	return 0;
}

/* Append the events of one plugin batch; stops at the first bad one (the ones before it stay). */
static int fp_take(fp_loop* L, ss_plugin_event** evts, uint32_t nevts) {
	fp_batch* out = L->out;
	for (uint32_t i = 0; i < nevts; i++) {
		ss_plugin_event* e = evts[i];
		L->index = i;
		if (e == NULL) return FP_LOOP_NULL_EVENT;
		int bad = fp_fix_event(L, e);
		if (bad) return bad;
		uint32_t len = e->len;
		/* grown per event, not for nevts at once: a wrong nevts (0xFFFFFFFF) meets a NULL or
		 * malformed event, as in the ABI path, instead of a huge allocation */
		if (fp_reserve((void**)&out->offs, &out->ocap, (uint64_t)out->n + 1, sizeof(uint64_t)) != 0) return FP_LOOP_NOMEM;
		if (fp_reserve((void**)&out->data, &out->cap, out->len + len, 1) != 0) return FP_LOOP_NOMEM;
		memcpy(out->data + out->len, e, len);
		out->offs[out->n++] = out->len;
		out->len += len;
	}
	return 0;
}

/*
 * Fill L->out (cleared first) from the plugin. Returns L->status; L->rc is the plugin's last rc.
 * Python hands out the events in the batch, then acts on the status and rc.
 */
int fp_fill_batch(fp_loop* L) {
	ss_plugin_rc (*next_batch)(ss_plugin_t*, ss_instance_t*, uint32_t*, ss_plugin_event***) = L->next_batch;
	fp_batch* out = L->out;
	out->len = 0;
	out->n = 0;
	L->status = FP_LOOP_OK;
	L->calls = 0;
	fp_clear_stop();
	uint64_t start = L->max_wait_ns ? fp_clock_ns(CLOCK_MONOTONIC) : 0;
	for (;;) {
		uint32_t nevts = 0;
		ss_plugin_event** evts = NULL;
		L->rc = next_batch(L->state, L->inst, &nevts, &evts);
		L->calls++;
		if (nevts > 0) {
			if (evts == NULL) {
				L->detail = nevts;
				return L->status = FP_LOOP_NULL_ARRAY;
			}
			int bad = fp_take(L, evts, nevts);
			if (bad) return L->status = bad;
		} else if (L->rc == SS_PLUGIN_SUCCESS) {
			return L->status = FP_LOOP_EMPTY_SUCCESS;
		}
		if (L->rc != SS_PLUGIN_SUCCESS) return L->status;
		if (fp_stop) return L->status = FP_LOOP_INTERRUPTED;
		if (out->n >= L->max_events || out->len >= L->max_bytes) return L->status;
		if (L->max_wait_ns && fp_clock_ns(CLOCK_MONOTONIC) - start >= L->max_wait_ns) return L->status;
	}
}
