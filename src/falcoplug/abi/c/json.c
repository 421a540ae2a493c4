/* A quick look at a JSON text (paired with abi/jsontext.py). */

/*
 * Whether a JSON text has only what orjson reads as the json plugin's standard decoding does (see
 * plugins/json.py): no number with a fraction or an exponent, none of 19 digits or more, no \u
 * escape in a string. 1 when so. The scan follows strings and escapes exactly for valid JSON; on
 * invalid JSON either answer is fine, since then orjson refuses the text and the standard decoder
 * decides.
 */
int fp_json_plain(const char* text, uint64_t n) {
	const uint8_t* p = (const uint8_t*)text;
	uint32_t digits = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (c == '"') {
			for (i++; i < n && p[i] != '"'; i++) {
				if (p[i] == '\\') {
					if (i + 1 < n && p[i + 1] == 'u') return 0;
					i++;
				}
			}
			digits = 0;
			continue;
		}
		if (c >= '0' && c <= '9') {
			if (++digits >= 19) return 0;
			continue;
		}
		if (digits && (c == '.' || c == 'e' || c == 'E')) return 0;
		digits = 0;
	}
	return 1;
}
