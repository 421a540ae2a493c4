/*
 * Async events (paired with abi/async_queue.py): the handler C plugins call from their threads,
 * a bounded queue ordered by timestamp, and the merge of queued events into a host batch.
 *
 * fp_async_handler() accepts an event only when every libsinsp check passes and the queue has
 * room: the owner is registered on a queue (its declared names and whether its async sources
 * match the open source, given by Python at the session's start), the event is a 402 with 3
 * params and a declared name, has no thread when the open source has a plugin ID, and is not
 * more than 10 s ahead. It is then copied with the open source's plugin ID. Anything else (a
 * refusal, a drop, an unknown owner) goes to the Python handler handed to fp_async_init(), which
 * decides again, words the message and counts the drop: C writes no text.
 *
 * One mutex guards the registry and every queue (a handful of owners; one lock per event).
 */
#include <pthread.h>

#define FP_ASYNC_HEAD_LEN 42u          /* header, three u32 lengths, plugin id: the name starts here */
#define FP_ASYNC_FUTURE_NS 10000000000ull
#define FP_ASYNC_MAX_OWNERS 256
#define FP_TS_NONE UINT64_MAX

typedef struct fp_async_item {
	uint64_t key;  /* 0: ts -1 (as early as possible), else ts + 1 */
	uint64_t seq;  /* FIFO among equal keys */
	uint8_t* raw;
} fp_async_item;

/*
 * The queue is a FIFO run plus a heap: an event whose key is not below the run's last one (the
 * usual case: ts -1, or a clock read by one thread) is appended to the run, any other goes into
 * the heap; the next event out is the earlier of the run's head and the heap's top. Both grow up
 * to the capacity as needed.
 */
typedef struct fp_async_queue {
	uint32_t capacity;
	uint32_t len;         /* run + heap */
	fp_async_item* run;   /* a ring of runcap items */
	uint64_t runcap;
	uint32_t runhead, runlen;
	fp_async_item* heap;
	uint64_t heapcap;
	uint32_t heaplen;
	uint64_t seq;
	uint64_t pushed, dropped_full, dropped_future;
	uint32_t open_plugin_id;
	fp_async_item* ready;  /* taken out by fp_async_merge, consumer side only */
	uint64_t readycap;
} fp_async_queue;

typedef struct fp_async_owner {
	void* owner;
	fp_async_queue* q;
	int32_t compatible;
	char* names;  /* the declared names, each NUL-terminated, back to back */
	uint32_t nnames;
} fp_async_owner;

static pthread_mutex_t fp_async_lock = PTHREAD_MUTEX_INITIALIZER;
static fp_async_owner fp_async_owners[FP_ASYNC_MAX_OWNERS];
static uint32_t fp_async_nowners = 0;
static ss_plugin_async_event_handler_t fp_async_fallback = NULL;

void fp_async_init(void* fallback) { fp_async_fallback = (ss_plugin_async_event_handler_t)fallback; }

fp_async_queue* fp_async_new(uint32_t capacity) {
	fp_async_queue* q = calloc(1, sizeof(*q));
	if (q) q->capacity = capacity;
	return q;
}

static int fp_item_before(const fp_async_item* a, const fp_async_item* b) {
	return a->key < b->key || (a->key == b->key && a->seq < b->seq);
}

static void fp_heap_push(fp_async_queue* q, fp_async_item it) {
	uint32_t i = q->heaplen++;
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (!fp_item_before(&it, &q->heap[parent])) break;
		q->heap[i] = q->heap[parent];
		i = parent;
	}
	q->heap[i] = it;
}

static fp_async_item fp_heap_pop(fp_async_queue* q) {
	fp_async_item top = q->heap[0], last = q->heap[--q->heaplen];
	uint32_t i = 0, n = q->heaplen;
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= n) break;
		if (c + 1 < n && fp_item_before(&q->heap[c + 1], &q->heap[c])) c++;
		if (!fp_item_before(&q->heap[c], &last)) break;
		q->heap[i] = q->heap[c];
		i = c;
	}
	if (n) q->heap[i] = last;
	return top;
}

/* Grows the ring to hold one more item, keeping its order. */
static int fp_run_reserve(fp_async_queue* q) {
	if (q->runlen < q->runcap) return 0;
	uint64_t ncap = q->runcap ? q->runcap * 2 : 64;
	fp_async_item* nrun = malloc(ncap * sizeof(fp_async_item));
	if (!nrun) return -1;
	for (uint32_t i = 0; i < q->runlen; i++) nrun[i] = q->run[(q->runhead + i) % q->runcap];
	free(q->run);
	q->run = nrun;
	q->runcap = ncap;
	q->runhead = 0;
	return 0;
}

/* Queues an item (the caller checked the capacity); -1 out of memory. */
static int fp_queue_put(fp_async_queue* q, fp_async_item it) {
	if (q->runlen == 0 || !fp_item_before(&it, &q->run[(q->runhead + q->runlen - 1) % q->runcap])) {
		if (fp_run_reserve(q) != 0) return -1;
		q->run[(q->runhead + q->runlen++) % q->runcap] = it;
	} else {
		uint64_t need = (uint64_t)q->heaplen + 1;
		if (fp_reserve((void**)&q->heap, &q->heapcap, need, sizeof(fp_async_item)) != 0) return -1;
		fp_heap_push(q, it);
	}
	q->len++;
	return 0;
}

/* The earliest queued item (q->len > 0), left in place. */
static const fp_async_item* fp_queue_peek(const fp_async_queue* q) {
	if (q->runlen == 0) return &q->heap[0];
	const fp_async_item* head = &q->run[q->runhead];
	return q->heaplen && fp_item_before(&q->heap[0], head) ? &q->heap[0] : head;
}

static fp_async_item fp_queue_pop(fp_async_queue* q) {
	q->len--;
	if (q->runlen && (q->heaplen == 0 || !fp_item_before(&q->heap[0], &q->run[q->runhead]))) {
		fp_async_item it = q->run[q->runhead];
		q->runhead = (uint32_t)((q->runhead + 1) % q->runcap);
		q->runlen--;
		return it;
	}
	return fp_heap_pop(q);
}

static void fp_async_clear_locked(fp_async_queue* q) {
	for (uint32_t i = 0; i < q->runlen; i++) free(q->run[(q->runhead + i) % q->runcap].raw);
	for (uint32_t i = 0; i < q->heaplen; i++) free(q->heap[i].raw);
	q->len = q->runlen = q->heaplen = q->runhead = 0;
}

void fp_async_clear(fp_async_queue* q) {
	pthread_mutex_lock(&fp_async_lock);
	fp_async_clear_locked(q);
	pthread_mutex_unlock(&fp_async_lock);
}

/* Removes every owner registered on q (all of them when q is NULL). */
void fp_async_unregister(fp_async_queue* q) {
	pthread_mutex_lock(&fp_async_lock);
	uint32_t kept = 0;
	for (uint32_t i = 0; i < fp_async_nowners; i++) {
		if (q == NULL || fp_async_owners[i].q == q) {
			free(fp_async_owners[i].names);
		} else {
			fp_async_owners[kept++] = fp_async_owners[i];
		}
	}
	fp_async_nowners = kept;
	pthread_mutex_unlock(&fp_async_lock);
}

void fp_async_free(fp_async_queue* q) {
	if (!q) return;
	fp_async_unregister(q);
	fp_async_clear(q);
	free(q->run);
	free(q->heap);
	free(q->ready);
	free(q);
}

/* Registers (or updates) `owner` on q; names: nnames NUL-terminated names back to back, size
 * bytes in all. Returns 0, or -1 when the registry is full or memory is short (the owner's
 * events then all go through the Python handler). */
int fp_async_register(fp_async_queue* q, void* owner, const char* names, uint32_t size, uint32_t nnames,
                      int32_t compatible, uint32_t open_plugin_id) {
	char* copy = malloc(size ? size : 1);
	if (!copy) return -1;
	memcpy(copy, names, size);
	int rc = 0;
	pthread_mutex_lock(&fp_async_lock);
	q->open_plugin_id = open_plugin_id;
	uint32_t i = 0;
	while (i < fp_async_nowners && fp_async_owners[i].owner != owner) i++;
	if (i == fp_async_nowners) {
		if (i == FP_ASYNC_MAX_OWNERS) rc = -1;
		else fp_async_nowners++;
	} else {
		free(fp_async_owners[i].names);
	}
	if (rc == 0) {
		fp_async_owners[i] = (fp_async_owner){owner, q, compatible, copy, nnames};
	} else {
		free(copy);
	}
	pthread_mutex_unlock(&fp_async_lock);
	return rc;
}

static int fp_name_declared(const fp_async_owner* w, const uint8_t* name, size_t len) {
	const char* p = w->names;
	for (uint32_t i = 0; i < w->nnames; i++) {
		size_t n = strlen(p);
		if (n == len && memcmp(p, name, len) == 0) return 1;
		p += n + 1;
	}
	return 0;
}

/* Queues evt when it passes every check and fits (under the lock); 1 when queued. */
static int fp_async_accept(const fp_async_owner* w, const ss_plugin_event* evt) {
	const uint8_t* e = (const uint8_t*)evt;
	uint32_t len = evt->len;
	if (len < FP_ASYNC_HEAD_LEN || len > FP_MAX_EVENT_LEN) return 0;
	if (evt->type != FP_ASYNCEVENT_E || evt->nparams != 3 || !w->compatible) return 0;
	const uint8_t* name = e + FP_ASYNC_HEAD_LEN;
	const uint8_t* end = memchr(name, 0, len - FP_ASYNC_HEAD_LEN);
	if (!fp_name_declared(w, name, end ? (size_t)(end - name) : len - FP_ASYNC_HEAD_LEN)) return 0;
	fp_async_queue* q = w->q;
	if (q->open_plugin_id != 0 && evt->tid != FP_TS_NONE) return 0;
	uint64_t ts = evt->ts;
	if (ts != FP_TS_NONE && ts > fp_clock_ns(CLOCK_REALTIME) + FP_ASYNC_FUTURE_NS) return 0;
	if (q->len >= q->capacity) return 0;
	uint8_t* raw = malloc(len);
	if (!raw) return 0;
	memcpy(raw, e, len);
	wr32(raw + 38, q->open_plugin_id);
	if (fp_queue_put(q, (fp_async_item){ts == FP_TS_NONE ? 0 : ts + 1, q->seq++, raw}) != 0) {
		free(raw);
		return 0;
	}
	q->pushed++;
	return 1;
}

ss_plugin_rc fp_async_handler(ss_plugin_owner_t* o, const ss_plugin_event* evt, char* err) {
	if (o != NULL && evt != NULL) {
		int queued = 0;
		pthread_mutex_lock(&fp_async_lock);
		for (uint32_t i = 0; i < fp_async_nowners; i++) {
			if (fp_async_owners[i].owner == (void*)o) {
				queued = fp_async_accept(&fp_async_owners[i], evt);
				break;
			}
		}
		pthread_mutex_unlock(&fp_async_lock);
		if (queued) return SS_PLUGIN_SUCCESS;
	}
	return fp_async_fallback ? fp_async_fallback(o, evt, err) : SS_PLUGIN_FAILURE;
}

/* Queues an event already checked by Python (SDK plugins, fallbacks): 0 queued, 1 dropped as
 * too far in the future, 2 dropped because the queue is full, -1 out of memory. The plugin ID
 * is left as given. now_ns: the clock to compare with (0: read it). */
int fp_async_push(fp_async_queue* q, const uint8_t* raw, uint32_t len, uint64_t now_ns) {
	uint64_t ts;
	memcpy(&ts, raw, 8);
	if (ts != FP_TS_NONE && ts > (now_ns ? now_ns : fp_clock_ns(CLOCK_REALTIME)) + FP_ASYNC_FUTURE_NS) {
		pthread_mutex_lock(&fp_async_lock);
		q->dropped_future++;
		pthread_mutex_unlock(&fp_async_lock);
		return 1;
	}
	uint8_t* copy = malloc(len ? len : 1);
	if (!copy) return -1;
	memcpy(copy, raw, len);
	int rc = 0;
	pthread_mutex_lock(&fp_async_lock);
	if (q->len >= q->capacity) {
		q->dropped_full++;
		rc = 2;
	} else if (fp_queue_put(q, (fp_async_item){ts == FP_TS_NONE ? 0 : ts + 1, q->seq++, copy}) != 0) {
		rc = -1;
	} else {
		q->pushed++;
	}
	pthread_mutex_unlock(&fp_async_lock);
	if (rc) free(copy);
	return rc;
}

/* Takes out, in order, every queued event whose key is <= limit_key into q->ready. */
static int64_t fp_async_take(fp_async_queue* q, uint64_t limit_key) {
	pthread_mutex_lock(&fp_async_lock);
	int64_t n = 0;
	if (fp_reserve((void**)&q->ready, &q->readycap, q->len, sizeof(fp_async_item)) != 0) n = -1;
	while (n >= 0 && q->len && fp_queue_peek(q)->key <= limit_key) q->ready[n++] = fp_queue_pop(q);
	pthread_mutex_unlock(&fp_async_lock);
	return n;
}

static int fp_async_append(fp_batch* out, const uint8_t* raw, uint32_t len) {
	if (fp_reserve((void**)&out->data, &out->cap, out->len + len, 1) != 0) return -1;
	if (fp_reserve((void**)&out->offs, &out->ocap, (uint64_t)out->n + 1, 8) != 0) return -1;
	memcpy(out->data + out->len, raw, len);
	out->offs[out->n++] = out->len;
	out->len += len;
	return 0;
}

/* Appends a taken event, its ts -1 replaced by libsinsp's get_new_ts() (the last ts delivered,
 * or now); frees it. */
static int fp_async_emit(fp_batch* out, fp_async_item* it, uint64_t* last_ts) {
	uint32_t len = rd32(it->raw + 16);
	if (it->key == 0) {
		uint64_t ts = *last_ts ? *last_ts : fp_clock_ns(CLOCK_REALTIME);
		memcpy(it->raw, &ts, 8);
	}
	memcpy(last_ts, it->raw, 8);
	int rc = fp_async_append(out, it->raw, len);
	free(it->raw);
	it->raw = NULL;
	return rc;
}

/*
 * Merges the queued events into the n events of data/offs (out: the merged batch): every queued
 * event not later than an event, or with ts -1, goes in front of it. n == 0: everything queued
 * (what an input timeout lets out). Returns how many queued events went in (0: out untouched,
 * the batch stands as it is), or -1 out of memory. *last_ts: the ts of the last event delivered.
 */
int64_t fp_async_merge(fp_async_queue* q, const uint8_t* data, const uint64_t* offs, uint32_t n,
                       uint64_t* last_ts, fp_batch* out) {
	uint64_t max_key = UINT64_MAX, ts;
	if (n) {
		uint64_t max_ts = 0;
		for (uint32_t i = 0; i < n; i++) {
			memcpy(&ts, data + offs[i], 8);
			if (ts > max_ts) max_ts = ts;
		}
		max_key = max_ts == UINT64_MAX ? UINT64_MAX : max_ts + 1;
	}
	int64_t taken = fp_async_take(q, max_key);
	if (taken <= 0) {
		if (n) memcpy(last_ts, data + offs[n - 1], 8);
		return taken;
	}
	out->len = 0;
	out->n = 0;
	int rc = 0;
	int64_t j = 0;
	fp_async_item* ready = q->ready;
	for (uint32_t i = 0; i < n && rc == 0; i++) {
		memcpy(&ts, data + offs[i], 8);
		while (rc == 0 && j < taken && (ready[j].key == 0 || ready[j].key - 1 <= ts))
			rc = fp_async_emit(out, &ready[j++], last_ts);
		if (rc == 0) rc = fp_async_append(out, data + offs[i], rd32(data + offs[i] + 16));
		*last_ts = ts;
	}
	while (rc == 0 && j < taken) rc = fp_async_emit(out, &ready[j++], last_ts);
	for (; j < taken; j++) free(ready[j].raw);
	return rc ? -1 : taken;
}

/* The queue's length and counters, read under the lock: len, pushed, dropped_full, dropped_future. */
void fp_async_stats(fp_async_queue* q, uint64_t* out) {
	pthread_mutex_lock(&fp_async_lock);
	out[0] = q->len;
	out[1] = q->pushed;
	out[2] = q->dropped_full;
	out[3] = q->dropped_future;
	pthread_mutex_unlock(&fp_async_lock);
}
