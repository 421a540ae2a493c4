"""RFC 3339 times as Go's ``time.Parse(time.RFC3339Nano, ...)`` reads them, in nanoseconds."""

from __future__ import annotations

import re
from typing import Final

_RFC3339: Final = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)\Z")
_LAYOUT: Final = "2006-01-02T15:04:05.999999999Z07:00"
_DAYS: Final = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_seconds_cache: dict[str, int] = {}


def _days_from_civil(y: int, m: int, d: int) -> int:
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def parse_time(text: str) -> int:
    """An RFC 3339 time (Go's ``time.RFC3339Nano`` layout) as nanoseconds since the epoch;
    raises ``ValueError`` with a Go-like message."""
    m = _RFC3339.match(text)
    if m is None:
        raise ValueError(f'parsing time "{text}" as "{_LAYOUT}": cannot parse "{text}" as RFC 3339')
    head = text[:19]
    secs = _seconds_cache.get(head)
    if secs is None:
        y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
        leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
        if not 1 <= mo <= 12:
            raise ValueError(f'parsing time "{text}": month out of range')
        if not 1 <= d <= _DAYS[mo - 1] + (mo == 2 and leap):
            raise ValueError(f'parsing time "{text}": day out of range')
        if h > 23 or mi > 59 or s > 59:
            raise ValueError(f'parsing time "{text}": hour, minute or second out of range')
        secs = _days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s
        if len(_seconds_cache) > 65536:
            _seconds_cache.clear()
        _seconds_cache[head] = secs
    frac, zone = m.group(7), m.group(8)
    ns = secs * 1_000_000_000 + (int(frac[:9].ljust(9, "0")) if frac else 0)
    if zone != "Z":
        zh, zm = int(zone[1:3]), int(zone[4:6])
        if zh > 23 or zm > 59:
            raise ValueError(f'parsing time "{text}": time zone offset out of range')
        offset = (zh * 3600 + zm * 60) * 1_000_000_000
        ns = ns - offset if zone[0] == "+" else ns + offset
    return ns
