/*
 * Text output of a batch (paired with abi/render.py): a format of literals, evt.num and plain
 * fields of one C plugin, written for every event straight from the extracted value streams into
 * one buffer, so that a batch costs one write. Python decides which formats qualify and checks the
 * result (valid UTF-8); the texts are those of filter/render.py: <NA> for no value, "true"/"false",
 * decimal numbers, strings as they are, a width pads with spaces or cuts, counting characters.
 * With require_all (a format without a leading '*'), an event where a printed field has no value
 * gets no line at all, as libsinsp's formatter returns false for it.
 */

enum fp_part_kind { FP_PART_LITERAL = 0, FP_PART_EVTNUM = 1, FP_PART_FIELD = 2 };

typedef struct fp_render_part {
	int32_t kind;
	uint32_t column;      /* FP_PART_FIELD: the field's index in the request */
	uint32_t ftype;
	uint32_t width;       /* 0: natural */
	const char* literal;  /* FP_PART_LITERAL */
	uint32_t literal_len;
} fp_render_part;

void fp_stream_free(fp_stream* s) {
	free(s->data);
	memset(s, 0, sizeof(*s));
}

/* Characters in UTF-8 text: bytes that do not continue a sequence. */
static uint64_t fp_utf8_chars(const char* s, uint64_t len) {
	uint64_t n = 0;
	for (uint64_t i = 0; i < len; i++) n += ((uint8_t)s[i] & 0xC0) != 0x80;
	return n;
}

/* Bytes of the first `chars` characters of UTF-8 text. */
static uint64_t fp_utf8_prefix(const char* s, uint64_t len, uint64_t chars) {
	uint64_t i = 0, n = 0;
	for (; i < len; i++) {
		if (((uint8_t)s[i] & 0xC0) != 0x80) {
			if (n == chars) break;
			n++;
		}
	}
	return i;
}

static int fp_put(fp_stream* out, const char* s, uint64_t len, uint32_t width) {
	if (width == 0) return fp_append(out, s, len);
	uint64_t chars = fp_utf8_chars(s, len);
	if (chars >= width) return fp_append(out, s, fp_utf8_prefix(s, len, width));
	if (fp_append(out, s, len) != 0) return -1;
	static const char spaces[64] = "                                                               ";
	for (uint64_t pad = width - chars; pad > 0;) {
		uint64_t k = pad < 63 ? pad : 63;
		if (fp_append(out, spaces, k) != 0) return -1;
		pad -= k;
	}
	return 0;
}

static int fp_put_u64(fp_stream* out, uint64_t v, uint32_t width) {
	char tmp[24];
	int len = 0;
	do {
		tmp[sizeof(tmp) - 1 - len++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return fp_put(out, tmp + sizeof(tmp) - len, (uint64_t)len, width);
}

/* Whether a field the parts print has no value for this event. */
static int fp_missing_value(const fp_render_part* parts, uint32_t nparts, const uint32_t* counts) {
	for (uint32_t p = 0; p < nparts; p++)
		if (parts[p].kind == FP_PART_FIELD && counts[parts[p].column] == FP_NO_VALUE) return 1;
	return 0;
}

/*
 * Render n events: line i from the parts, values[i] taken from `values` (as fp_extract_batch left
 * it; ftypes[j]: the type of request field j), each line ending with '\n'; with require_all, no line
 * for an event with a missing value. Returns 0, or -1 (out of memory). `cursor` holds one position
 * per field (scratch space of nfields entries).
 */
int fp_render_batch(const fp_render_part* parts, uint32_t nparts, const fp_values* values, const uint32_t* ftypes,
                    uint32_t nfields, uint32_t n, uint64_t first_num, int require_all, uint64_t* cursor,
                    fp_stream* out) {
	out->len = 0;
	for (uint32_t j = 0; j < nfields; j++) cursor[j] = 0;
	for (uint32_t i = 0; i < n; i++) {
		const uint32_t* counts = values->counts + (uint64_t)i * nfields;
		int print = !(require_all && fp_missing_value(parts, nparts, counts));
		for (uint32_t p = 0; print && p < nparts; p++) {
			const fp_render_part* part = &parts[p];
			int r = 0;
			if (part->kind == FP_PART_LITERAL) {
				r = fp_append(out, part->literal, part->literal_len);
			} else if (part->kind == FP_PART_EVTNUM) {
				r = fp_put_u64(out, first_num + i, part->width);
			} else {
				uint32_t j = part->column;
				const fp_stream* st = &values->streams[j];
				if (counts[j] == FP_NO_VALUE) {
					r = fp_put(out, "<NA>", 4, part->width);
				} else if (part->ftype == FTYPE_STRING) {
					const char* s = (const char*)st->data + cursor[j];
					uint64_t len = strlen(s);
					r = fp_put(out, s, len, part->width);
				} else {
					uint64_t v;
					memcpy(&v, st->data + cursor[j], 8);
					if (part->ftype == FTYPE_BOOL) r = v ? fp_put(out, "true", 4, part->width) : fp_put(out, "false", 5, part->width);
					else r = fp_put_u64(out, v, part->width);
				}
			}
			if (r != 0) return -1;
		}
		/* every field advances past this event's value, printed or not (a field may be printed twice) */
		for (uint32_t j = 0; j < nfields; j++) {
			if (counts[j] == FP_NO_VALUE) continue;
			const fp_stream* st = &values->streams[j];
			cursor[j] += ftypes[j] == FTYPE_STRING ? strlen((const char*)st->data + cursor[j]) + 1 : 8;
		}
		if (print && fp_append(out, "\n", 1) != 0) return -1;
	}
	return 0;
}
