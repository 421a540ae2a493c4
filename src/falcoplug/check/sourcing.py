"""Check 8: a sourcing plugin's manners: batch capacity, timeouts that wait, EOF that stays EOF,
progress that only grows within 0..10000, open parameters listed as documented, and events that
``event_to_string`` can always render. The events it produced feed the other checks."""

from __future__ import annotations

import json
import struct
from typing import Any

from .report import Report, Status
from .sandbox import ChildFailure, WorkerError
from .session import Failure, Session

CALLS = 400
BUSY_CALL = 0.0005  # a TIMEOUT returned faster than this, over and over, is a busy loop
# Default of the SDKs that have one (Go sdk.DefaultBatchSize); a C plugin is not bound by it.
TYPICAL_CAPACITY = 128


def check_open_params(session: Session, report: Report) -> list[str]:
    """``list_open_params``: a JSON array of {value, desc, separator}; returns the values."""
    try:
        result = session.call("list_open_params")
    except WorkerError as exc:
        report.add("sourcing", Status.FAIL, "list_open_params failed", str(exc))
        return []
    except ChildFailure as exc:
        _failure(session, report, exc, "list_open_params")
        return []
    if result is None:
        return []
    rc, text = result
    if rc != 0:
        report.add("sourcing", Status.FAIL, f"list_open_params returned rc {rc}", "libsinsp throws on a failure",
                   "return SS_PLUGIN_SUCCESS and an empty array when there is nothing to suggest")  # fmt: skip
        return []
    if not text:
        report.add("sourcing", Status.PASS, "list_open_params: no suggestions")
        return []
    problem, values = _open_params_problem(text)
    if problem:
        report.add("sourcing", Status.FAIL, "list_open_params does not return the documented JSON", problem,
                   'return a JSON array of objects: {"value": "...", "desc": "...", "separator": ""}')  # fmt: skip
        return []
    report.add("sourcing", Status.PASS, f"list_open_params: {len(values)} valid suggestion(s)")
    return values


def _open_params_problem(text: str) -> tuple[str | None, list[str]]:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        return f"not valid JSON: {exc}", []
    if not isinstance(doc, list):
        return f"a JSON {type(doc).__name__}, not an array", []
    values = []
    for i, item in enumerate(doc):
        if not isinstance(item, dict):
            return f"entry {i} is not an object", []
        if not isinstance(item.get("value"), str) or not item["value"]:
            return f"entry {i} has no non-empty string 'value'", []
        for key in ("desc", "separator"):
            if key in item and not isinstance(item[key], str):
                return f"entry {i}: '{key}' is not a string", []
        values.append(item["value"])
    return None, values


def check_sourcing(session: Session, report: Report, params: str, capacity: int | None) -> list[bytes]:
    """Open, read until EOF (or enough calls), read past EOF, close; returns the events read."""
    name = session.info.get("name", "")
    try:
        session.call("open", params)
    except WorkerError as exc:
        report.add("sourcing", Status.WARN, f"could not open with open params '{params}'", str(exc),
                   "give working open parameters with --open-params")  # fmt: skip
        return []
    except ChildFailure as exc:
        _failure(session, report, exc, f"open('{params}')")
        return []
    events: list[bytes] = []
    try:
        results = session.call("next", CALLS, 5.0, total=30.0, count=CALLS)
        progress = session.call("progress")
    except ChildFailure as exc:
        _failure(session, report, exc, "next_batch")
        return []
    except WorkerError as exc:
        report.add("sourcing", Status.FAIL, "next_batch failed", str(exc))
        return []
    rcs = [rc for rc, _, _ in results]
    sizes = [len(evts) for _, evts, _ in results]
    for _, evts, _ in results:
        events.extend(evts)
    last = rcs[-1] if rcs else 0
    if last == -100:
        report.add("sourcing", Status.FAIL, "next_batch produced a malformed event", results[-1][1][0].decode(),
                   "emit PPME_PLUGINEVENT_E (322) events with 2 parameters and the plugin's ID (or 0)")  # fmt: skip
    elif last not in (0, -1, 2):
        text = _last_error(session)
        report.add("sourcing", Status.WARN if events else Status.FAIL, f"next_batch failed (rc {last})",
                   text or "no last error", "return SS_PLUGIN_EOF at the end of the data, FAILURE only on errors")  # fmt: skip
    empty_success = [i for i, (rc, n) in enumerate(zip(rcs, sizes)) if rc == 0 and n == 0]
    if empty_success:
        report.add("sourcing", Status.FAIL, "next_batch returned SUCCESS with no events",
                   f"call {empty_success[0] + 1}: libsinsp stops with 'unexpected 0 size event returned by plugin {name}'",
                   "return SS_PLUGIN_TIMEOUT when no event is ready")  # fmt: skip
    _check_capacity(report, sizes, capacity)
    _check_timeouts(report, results)
    if last == 2:
        _check_eof(session, report)
    _check_progress(session, report, progress, results)
    _check_event_to_string(session, report, events[:50], session.info.get("event_source") or "syscall")
    try:
        session.call("close")
    except (ChildFailure, WorkerError) as exc:
        report.add("sourcing", Status.FAIL, "close failed", str(exc))
        session.reset()
    report.add("sourcing", Status.PASS if not report.failures("sourcing") else Status.SKIP,
               f"read {len(events)} events in {len(results)} next_batch calls",
               "reached EOF" if last == 2 else "stopped before EOF")  # fmt: skip
    return events


def split_events(events: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    """(payloads of plugin events, whole syscall events): how the other checks reuse real events."""
    payloads, syscalls = [], []
    for event in events:
        if len(event) >= 38 and struct.unpack_from("<H", event, 20)[0] == 322:
            payloads.append(event[38:])
        else:
            syscalls.append(event)
    return payloads, syscalls


def _failure(session: Session, report: Report, exc: ChildFailure, call: str) -> None:
    session.failures.append(Failure("sourcing", exc, call))
    session.reset()
    report.add("sourcing", Status.FAIL, f"{exc.kind} in {call}", exc.detail)


def _last_error(session: Session) -> str:
    try:
        return session.call("last_error")
    except (ChildFailure, WorkerError):
        return ""


def _check_capacity(report: Report, sizes: list[int], capacity: int | None) -> None:
    biggest = max(sizes, default=0)
    if capacity is not None and biggest > capacity:
        report.add("sourcing", Status.FAIL, f"a batch of {biggest} events exceeds the batch capacity {capacity}",
                   "", "stop adding events when the batch is full")  # fmt: skip
    elif capacity is not None:
        report.add("sourcing", Status.PASS, f"batches within capacity ({biggest} <= {capacity})")
    elif biggest > 64 * TYPICAL_CAPACITY:
        report.add("sourcing", Status.WARN, f"a batch of {biggest} events", "very large batches delay every other source",
                   f"keep batches to a few hundred events (the Go SDK's default is {TYPICAL_CAPACITY})")  # fmt: skip


def _check_timeouts(report: Report, results: list[tuple[int, list[bytes], float]]) -> None:
    timeouts = [dt for rc, evts, dt in results if rc == -1 and not evts]
    if len(timeouts) >= 20 and sum(dt < BUSY_CALL for dt in timeouts) > 0.9 * len(timeouts):
        report.add("sourcing", Status.WARN, f"{len(timeouts)} timeouts returned at once (a busy loop)",
                   f"median {sorted(timeouts)[len(timeouts) // 2] * 1000:.3f} ms per call",
                   "wait a little (the Go SDK waits up to 30 ms) for an event before returning SS_PLUGIN_TIMEOUT")  # fmt: skip
    elif timeouts:
        report.add("sourcing", Status.PASS, f"{len(timeouts)} timeouts, none a busy loop")


def _check_eof(session: Session, report: Report) -> None:
    try:
        after = session.call("next", 2, 2.0)
    except (ChildFailure, WorkerError) as exc:
        report.add("sourcing", Status.FAIL, "next_batch after EOF failed", str(exc), "keep returning SS_PLUGIN_EOF")
        session.reset()
        return
    bad = [(rc, len(evts)) for rc, evts, _ in after if rc != 2 or evts]
    if bad:
        report.add("sourcing", Status.FAIL, "EOF is not final",
                   f"after EOF next_batch returned rc {bad[0][0]} with {bad[0][1]} events",
                   "once SS_PLUGIN_EOF is returned, return it on every later call")  # fmt: skip
    else:
        report.add("sourcing", Status.PASS, "EOF is final")


def _check_progress(session: Session, report: Report, progress: Any, results: list[Any]) -> None:
    if progress is None:
        return
    try:
        values = [session.call("progress")[0] for _ in range(3)]
    except (ChildFailure, WorkerError):
        return
    values = [progress[0], *values]
    out_of_range = [v for v in values if not 0 <= v <= 10000]
    backwards = any(b < a for a, b in zip(values, values[1:]))
    if out_of_range or backwards:
        report.add("sourcing", Status.FAIL, "get_progress is not monotonic within 0..10000", f"values {values}",
                   "report progress in hundredths of a percent, never going back")  # fmt: skip
    else:
        report.add("sourcing", Status.PASS, "get_progress within 0..10000 and monotonic", f"last {values[-1]}")


def _check_event_to_string(session: Session, report: Report, events: list[bytes], source: str) -> None:
    if not events:
        return
    try:
        results = session.call("event_to_string", events, source, count=len(events))
    except ChildFailure as exc:
        _failure(session, report, exc, "event_to_string")
        return
    except WorkerError as exc:
        report.add("sourcing", Status.FAIL, "event_to_string failed", str(exc))
        return
    if not results:
        report.add("sourcing", Status.PASS, "no event_to_string: libsinsp shows 'datalen=N data=...'")
        return
    failed = [(i, text) for i, (ok, text) in enumerate(results) if not ok]
    if failed:
        i, text = failed[0]
        report.add("sourcing", Status.FAIL, f"event_to_string failed on {len(failed)} of the plugin's own events",
                   f"event {i + 1}: {text or 'NULL with no last error'}",
                   "event_to_string must render every event the plugin produced")  # fmt: skip
    else:
        report.add("sourcing", Status.PASS, f"event_to_string renders the plugin's events ({len(events)} tried)")
