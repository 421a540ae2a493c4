/* Quick looks over a batch's event headers (paired with abi/scan.py). */

/*
 * Whether every event of a batch has the same type and, for plugin (322) and async (402) events,
 * the same plugin ID: then the whole batch belongs to one event source. Returns 1 and the key, or 0.
 */
int fp_uniform_source(const uint8_t* data, const uint64_t* offs, uint32_t n, uint16_t* type_out, uint32_t* id_out) {
	if (n == 0) return 0;
	const ss_plugin_event* first = (const ss_plugin_event*)(data + offs[0]);
	uint16_t type = first->type;
	uint32_t id_at = type == FP_PLUGINEVENT_E ? 34 : type == FP_ASYNCEVENT_E ? 38 : 0;
	uint32_t id = id_at ? rd32(data + offs[0] + id_at) : 0;
	for (uint32_t i = 1; i < n; i++) {
		const uint8_t* e = data + offs[i];
		if (((const ss_plugin_event*)e)->type != type) return 0;
		if (id_at && rd32(e + id_at) != id) return 0;
	}
	*type_out = type;
	*id_out = id;
	return 1;
}

/*
 * The thread IDs of a batch's events, tid -1 left out and a repeat of the previous one skipped
 * (out has room for n): what the host's threads table needs to see. Returns how many.
 */
uint32_t fp_event_tids(const uint8_t* data, const uint64_t* offs, uint32_t n, int64_t* out) {
	uint32_t count = 0;
	for (uint32_t i = 0; i < n; i++) {
		int64_t tid = (int64_t)((const ss_plugin_event*)(data + offs[i]))->tid;
		if (tid != -1 && (count == 0 || out[count - 1] != tid)) out[count++] = tid;
	}
	return count;
}

/*
 * A capture's plugin events in LARGE event blocks (0x221), from *pos on: the common blocks of a
 * plugin capture, checked as capture/reader.py checks them (event type 322, two params, the first
 * of 4 bytes, the lengths consistent, the block whole in the buffer and at most max_blen long).
 * Writes each event's offset (the block's + 10: header and cpuid) to out, at most room of them, and
 * stops at the first other block: the reader reads that one itself. Returns how many; *pos is then
 * the position after the last block taken.
 */
uint32_t fp_scan_plugin_blocks(const uint8_t* buf, uint64_t end, uint64_t* pos, uint32_t max_blen, uint64_t* out,
                               uint32_t room) {
	uint64_t at = *pos;
	uint32_t n = 0;
	while (n < room && end >= 44 && at <= end - 44) {
		const uint8_t* b = buf + at;
		uint32_t btype = rd32(b), blen = rd32(b + 4), elen = rd32(b + 26);
		uint16_t etype;
		memcpy(&etype, b + 30, 2);
		if (btype != 0x221 || etype != FP_PLUGINEVENT_E || rd32(b + 32) != 2 || rd32(b + 36) != 4 ||
		    (uint64_t)elen != 38 + (uint64_t)rd32(b + 40) || (uint64_t)elen + 14 > blen ||
		    blen > max_blen || blen > end - at)
			break;
		out[n++] = at + 10;
		at += blen;
	}
	*pos = at;
	return n;
}
