"""Check 3: extraction and parsing fed every kind of event and argument, in a child process,
within a budget; a crash is narrowed down to a small input saved to a file. The values that come
back are held to the API's value rules (types, list lengths, UTF-8), reported under check 4."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .inputs import Case, Payload, Target, events_for, payloads, plugin_event, random_payload, request_text, requests_for
from .report import Report, Status
from .sandbox import ChildFailure, WorkerError
from .session import Failure, Session

CHUNK = 256
MAX_FAILURES = 10


@dataclass
class Budget:
    """How long the fuzzing may go on: seconds, or a number of calls."""

    seconds: float | None = 15.0
    calls: int | None = None

    @classmethod
    def parse(cls, text: str) -> Budget:
        text = text.strip().lower()
        try:
            if text.endswith("s"):
                budget = cls(seconds=float(text[:-1]))
            elif text.endswith("m"):
                budget = cls(seconds=float(text[:-1]) * 60)
            else:
                budget = cls(seconds=None, calls=int(text))
        except ValueError:
            raise ValueError(f"invalid budget '{text}': give seconds ('20s', '1m') or a number of calls ('5000')") from None
        if (budget.seconds is not None and not budget.seconds > 0) or (budget.calls is not None and budget.calls <= 0):
            raise ValueError(f"invalid budget '{text}': it must be more than zero")
        return budget

    def left(self, started: float, calls: int) -> bool:
        if self.calls is not None and calls >= self.calls:
            return False
        return self.seconds is None or time.monotonic() - started < self.seconds


@dataclass
class FuzzState:
    started: float = field(default_factory=time.monotonic)
    calls: int = 0
    values: int = 0
    no_value: int = 0
    crashed_fields: set[str] = field(default_factory=set)
    crashed_events: set[int] = field(default_factory=set)  # evtnums of events that crashed a call
    crashed_requests: dict[Any, int] = field(default_factory=dict)  # request -> crashes it caused
    bad: dict[str, tuple[str, Case]] = field(default_factory=dict)  # field -> first problem
    failures: int = 0
    systematic_total: int = 0
    systematic_done: int = 0


def targets(info: dict[str, Any], types: dict[str, Any], id_of_source: dict[str, int], kind: str) -> list[Target]:
    """The (source, plugin ID, event types) a plugin extracts from (``kind="extract"``) or parses."""
    sources = info["extract_event_sources" if kind == "extract" else "parse_event_sources"]
    accepted = types.get("extract_types" if kind == "extract" else "parse_types")
    own = info.get("event_source") or ""
    if not sources:  # compatible with every source: the plugin's own, or any plugin's and syscalls
        sources = [own] if own else ["syscall", "test"]
    out = []
    for source in sources:
        if source == "syscall":
            syscall_types = tuple(t for t in (accepted or (3, 5, 293, 307)) if t != 322)
            if syscall_types:
                out.append(Target("syscall", 0, syscall_types))
        elif not accepted or 322 in accepted:
            pid = info["id"] if source == own and info.get("id") else id_of_source.get(source, 999)
            out.append(Target(source, pid, (322,)))
    return out


def _cases(info: dict[str, Any], tgts: Sequence[Target], items: Sequence[Payload], rng: random.Random, first_num: int,
           syscalls: Sequence[bytes] = ()) -> Iterator[Case]:  # fmt: skip
    reqs = [rs for i, f in enumerate(info["fields"]) for rs in requests_for(i, f)]
    num = first_num
    for target in tgts:
        for event, what in events_for(rng, target, items, syscalls):
            num += 1
            for req, sent in reqs:
                yield Case(event, num, target.source, req, f"{what} ({target.source})", sent)


def fuzz_extraction(session: Session, report: Report, budget: Budget, seed: int, real: Sequence[bytes],
                    id_of_source: dict[str, int], save_dir: Path) -> FuzzState:  # fmt: skip
    info = session.info
    rng = random.Random(seed)
    state = FuzzState()
    tgts = targets(info, session.types, id_of_source, "extract")
    if not tgts:
        report.add("resilience", Status.SKIP, "extraction: no event type or source to feed",
                   "the plugin's extract event types exclude plugin events and it does not read syscalls")
        return state
    items = payloads(rng, real)
    systematic = list(_cases(info, tgts, items, rng, 0, session.syscall_events))
    state.systematic_total = len(systematic)
    _run_cases(session, report, iter(systematic), budget, state, save_dir, seed, count_systematic=True)
    num = len(systematic) + 1
    while budget.left(state.started, state.calls) and state.failures < MAX_FAILURES:
        extra = [random_payload(rng, real) for _ in range(8)]
        batch = list(_cases(info, tgts, extra, rng, num))
        num += len(batch)
        before = state.calls
        if not _run_cases(session, report, iter(batch), budget, state, save_dir, seed) or state.calls == before:
            break  # out of budget, or every field already failed
    _report_extraction(report, state, seed, tgts)
    return state


def _run_cases(session: Session, report: Report, cases: Iterator[Case], budget: Budget, state: FuzzState,
               save_dir: Path, seed: int, count_systematic: bool = False) -> bool:  # fmt: skip
    """Run cases in chunks until they or the budget run out; False when it should stop."""
    while budget.left(state.started, state.calls) and state.failures < MAX_FAILURES:
        chunk = _take(cases, CHUNK, state)
        if not chunk:
            return True
        try:
            results = session.call("extract", [c.args() for c in chunk], 0, count=len(chunk))
        except ChildFailure as exc:
            bad_at = min(max(exc.index, 0), len(chunk) - 1)
            done = bad_at
            state.calls += done + 1
            _count(state, chunk[:done], None)
            case = chunk[bad_at]
            _child_failure(session, report, exc, case, save_dir, seed)
            state.failures += 1
            # A hang is the field's doing; a crash is usually the event's, whichever field is asked.
            if exc.kind == "hang" or case.request.arg_key is not None or case.request.arg_index is not None:
                state.crashed_fields.add(case.request.name)  # the field (or its argument) is to blame
            state.crashed_events.add(case.evtnum)
            state.crashed_requests[case.request] = state.crashed_requests.get(case.request, 0) + 1
            session.reset()
            cases = iter([*chunk[bad_at + 1 :], *cases])
            if count_systematic:
                state.systematic_done += done + 1
            continue
        except WorkerError as exc:
            report.add("resilience", Status.FAIL, "the checker could not extract", str(exc))
            state.failures = MAX_FAILURES
            return False
        state.calls += len(chunk)
        if count_systematic:
            state.systematic_done += len(chunk)
        _count(state, chunk, results)
    return False


def _take(it: Iterator[Case], n: int, state: FuzzState) -> list[Case]:
    """The next ``n`` cases, leaving out the fields and events that already made a call fail."""
    out = []
    for case in it:
        if case.request.name in state.crashed_fields or case.evtnum in state.crashed_events:
            continue
        if case.request in state.crashed_requests:
            continue  # this field and argument crashed already: another event would say nothing new
        out.append(case)
        if len(out) == n:
            break
    return out


def _count(state: FuzzState, chunk: Sequence[Case], results: Sequence[tuple[str, Any]] | None) -> None:
    if results is None:
        return
    for case, (kind, value) in zip(chunk, results):
        if kind == "value":
            state.values += 1
        elif kind == "none":
            state.no_value += 1
        elif "not valid UTF-8" in value and not _utf8(case.request.arg_key):
            state.values += 1  # the plugin echoed the non-UTF-8 key the checker sent: not its fault
        elif case.request.name not in state.bad:
            state.bad[case.request.name] = (value, case)


def _utf8(key: bytes | None) -> bool:
    try:
        (key or b"").decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _child_failure(session: Session, report: Report, exc: ChildFailure, case: Case, save_dir: Path, seed: int) -> None:
    call = f"extract_fields({case.describe()})"
    session.failures.append(Failure("resilience", exc, call))
    if exc.kind in ("hang", "memory"):
        return  # reported by the isolation check, with the input
    # Narrow down the first few crashes; after that each costs restarts and says little more.
    first_ones = len(report.failures("resilience")) + len(report.warnings("resilience")) < 2
    small = minimize(session, case, exc.kind) if exc.kind in ("crash", "exit") and first_ones else case
    path = save_input(save_dir, session.info.get("name", "plugin"), exc, small, seed)
    unsent = "" if case.libsinsp_sends else ", without its required argument (libsinsp never asks that)"
    report.add(
        "resilience", Status.FAIL if case.libsinsp_sends else Status.WARN,
        f"{exc.detail.split(' (')[0]} in extract_fields on {case.what}{unsent}",
        f"field {request_text(case.request)}; smallest failing event: {len(small.event)} bytes, saved to {path}"
        + (f"; the plugin printed: {gist(exc.output)}" if exc.output else ""),
        "check arg_present before reading arg_key or arg_index: a host other than libsinsp may leave it out"
        if not case.libsinsp_sends else
        "an extractor receives arbitrary data (other plugins' events, truncated or random payloads, any "
        "argument a rule may hold): check lengths, types and ranges before reading, and return no value "
        "(res_len 0) for what it cannot read",
        field=case.request.name, input=str(path), kind=exc.kind,
    )  # fmt: skip


def gist(text: str) -> str:
    """The telling line of what a dying plugin printed: a Go panic or fatal error, else the last line."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for line in lines:
        if line.startswith(("panic:", "fatal error:", "runtime error:")):
            return line[:200]
    return lines[-1][:200] if lines else ""


def minimize(session: Session, case: Case, kind: str, attempts: int = 8, seconds: float = 5.0) -> Case:
    """A smaller event that still fails the same way: halve the payload while it does."""
    started = time.monotonic()
    best = case
    header = 38 if int.from_bytes(case.event[20:22], "little") == 322 else None
    if header is None:
        return case
    pid = int.from_bytes(case.event[34:38], "little")
    tries = 0
    while tries < attempts and time.monotonic() - started < seconds:
        payload = best.event[header:]
        if len(payload) <= 1:
            break
        shrunk = False
        for part in (payload[: len(payload) // 2], payload[len(payload) // 2 :]):
            tries += 1
            candidate = Case(plugin_event(part, pid), best.evtnum, best.source, best.request, best.what, best.libsinsp_sends)
            if _fails(session, candidate, kind):
                best, shrunk = candidate, True
                break
        if not shrunk:
            break
    return best


def _fails(session: Session, case: Case, kind: str) -> bool:
    try:
        session.call("extract", [case.args()], 0)
    except ChildFailure as exc:
        session.reset()
        return exc.kind == kind
    except WorkerError:
        return False
    return False


def save_input(save_dir: Path, plugin: str, exc: ChildFailure, case: Case, seed: int) -> Path:
    save_dir.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in case.request.name)
    path = save_dir / f"{plugin}-{exc.kind}-{safe}.json"
    req = case.request
    path.write_text(json.dumps({
        "plugin": plugin, "failure": exc.kind, "detail": exc.detail, "call": "extract_fields",
        "field": req.name, "field_id": req.field_id,
        "arg_key": None if req.arg_key is None else req.arg_key.decode("utf-8", "backslashreplace"),
        "arg_index": req.arg_index, "source": case.source, "evtnum": case.evtnum, "seed": seed,
        "event_hex": case.event.hex(), "payload_hex": case.event[38:].hex() if len(case.event) >= 38 else "",
        "what": case.what,
    }, indent=2))  # fmt: skip
    return path


def _report_extraction(report: Report, state: FuzzState, seed: int, tgts: Sequence[Target]) -> None:
    sources = ", ".join(sorted({t.source for t in tgts}))
    coverage = f"{state.systematic_done} of {state.systematic_total} systematic calls"
    if state.failures >= MAX_FAILURES:
        report.add("resilience", Status.WARN, f"fuzzing stopped after {state.failures} failing calls",
                   f"{coverage}; seed {seed}", "fix the failures above, then check again")  # fmt: skip
    elif state.systematic_done < state.systematic_total:
        report.add("resilience", Status.WARN, "the budget ran out before every field met every kind of input",
                   f"{coverage}; seed {seed}", "give a larger --budget")  # fmt: skip
    if not report.failures("resilience"):
        report.add(
            "resilience", Status.PASS, "extraction survives arbitrary input",
            f"{state.calls} calls on {sources} events (seed {seed}; {coverage}): "
            f"{state.values} values, {state.no_value} without a value",
        )  # fmt: skip
    for name, (problem, case) in state.bad.items():
        report.add("memory", Status.FAIL, f"invalid result for {name}", f"{problem} (on {case.what})",
                   "return values of the declared type, one per non-list field, strings NUL-terminated UTF-8",
                   field=name)  # fmt: skip


def fuzz_parsing(session: Session, report: Report, budget: Budget, seed: int, real: Sequence[bytes],
                 id_of_source: dict[str, int]) -> None:  # fmt: skip
    if "event parsing" not in session.info.get("capabilities", []):
        return
    rng = random.Random(seed + 1)
    tgts = targets(session.info, session.types, id_of_source, "parse")
    events = [(e, what, t.source) for t in tgts for e, what in events_for(rng, t, payloads(rng, real), session.syscall_events)]
    started = time.monotonic()
    while time.monotonic() - started < (budget.seconds or 5) / 3 and len(events) < 2000:
        extra = random_payload(rng, real)
        events += [(e, what, t.source) for t in tgts for e, what in events_for(rng, t, [extra])]
    done = 0
    while done < len(events):
        chunk = events[done : done + CHUNK]
        try:
            # One source per call: group by source (the first event's decides for the chunk).
            session.call("parse", [e for e, _, s in chunk if s == chunk[0][2]], chunk[0][2], 0, count=len(chunk))
            done += len(chunk)
        except ChildFailure as exc:
            bad = [c for c in chunk if c[2] == chunk[0][2]][min(exc.index, len(chunk) - 1)]
            session.failures.append(Failure("resilience", exc, f"parse_event({bad[1]})"))
            session.reset()
            if exc.kind in ("crash", "exit"):
                report.add("resilience", Status.FAIL, f"{exc.detail} in parse_event on {bad[1]}",
                           f"event of {len(bad[0])} bytes ({bad[2]})",
                           "a parser receives every event of its sources: check before reading")  # fmt: skip
            return
        except WorkerError as exc:
            report.add("resilience", Status.FAIL, "parse_event failed in the checker", str(exc))
            return
    report.add("resilience", Status.PASS, "parsing survives arbitrary input", f"{len(events)} events parsed (seed {seed})")
