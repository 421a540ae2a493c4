"""The API's memory rules at run time (check 4) and leaks (check 2): several fields asked in one
``extract_fields`` call must not share storage, and repeated extraction must not keep memory."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..abi.probe import ProbeRequest
from .inputs import k8s_sample, plugin_event, request_text, valid_request
from .report import Report, Status
from .resilience import targets
from .sandbox import ChildFailure, WorkerError
from .session import Failure, Session

LEAK_LIMIT = 16 << 20  # resident growth that is a leak...
LEAK_PER_CALL = 1024  # ...when it is also this much per call on average


def check_leak(session: Session, report: Report, real: Sequence[bytes], id_of_source: dict[str, int]) -> None:
    """Extract every field of one event over and over: resident memory must not keep growing."""
    info = session.info
    tgts = [t for t in targets(info, session.types, id_of_source, "extract") if t.source != "syscall"]
    if not tgts or not info["fields"]:
        return
    event = plugin_event(real[0] if real else k8s_sample(), tgts[0].plugin_id)
    reqs = [valid_request(i, f) for i, f in enumerate(info["fields"])][:100]
    cases = [(event, 1, tgts[0].source, r) for r in reqs]
    rounds = max(10, 1000 // len(cases))
    try:
        before, after, calls = session.call("leak", cases, rounds, count=rounds * len(cases))
    except ChildFailure as exc:
        session.failures.append(Failure("isolation", exc, "extract_fields, repeated on one event"))
        session.reset()
        return
    except WorkerError as exc:
        report.add("isolation", Status.WARN, "the leak check could not run", str(exc))
        return
    growth = after - before
    per_call = growth / calls
    if growth > LEAK_LIMIT and per_call > LEAK_PER_CALL:
        report.add("isolation", Status.FAIL, f"memory grows by about {per_call / 1024:.1f} KiB per extract_fields call",
                   f"resident memory {before >> 20} MiB -> {after >> 20} MiB over {calls} calls on one event",
                   "free what each call allocates, or reuse one buffer (values need only last until the next call)")  # fmt: skip
    else:
        report.add("isolation", Status.PASS, "no memory growth across repeated extraction",
                   f"{calls} calls: resident memory {before >> 20} MiB -> {after >> 20} MiB")


def check_shared_storage(session: Session, report: Report, real: Sequence[bytes], id_of_source: dict[str, int]) -> None:
    """Several fields in one call (the API allows it; libsinsp sends one): does any result share
    storage with another, so that reading them after the call gives another field's value?"""
    info = session.info
    if info.get("kind") != "c":
        report.add("memory", Status.PASS, "results are Python objects, copied by the host",
                   "storage sharing across fields cannot happen in-process; it is checked on the built library")
        return
    tgts = targets(info, session.types, id_of_source, "extract")
    if not tgts:
        return
    fields = info["fields"]
    reqs = [valid_request(i, f) for i, f in enumerate(fields)]
    pairs = [(ProbeRequest(i, f["name"], f["ftype"], bool(f.get("isList")), arg_key=k), ProbeRequest(i, f["name"], f["ftype"], bool(f.get("isList")), arg_key=k2))
             for i, f in enumerate(fields) if (f.get("arg") or {}).get("isKey") for k, k2 in [(b"/kind", b"/verb")]]  # fmt: skip
    pairs += [(ProbeRequest(i, f["name"], f["ftype"], bool(f.get("isList")), arg_index=1), ProbeRequest(i, f["name"], f["ftype"], bool(f.get("isList")), arg_index=2))
              for i, f in enumerate(fields) if (f.get("arg") or {}).get("isIndex") and not (f.get("arg") or {}).get("isKey")]  # fmt: skip
    pairs += [(r, r) for r, f in zip(reqs, fields) if not (f.get("arg") or {}).get("isRequired")][:3]
    samples = [*real[:2], k8s_sample(), b'{"kind":"Event","verb":"get","a":"x"}'][:3]
    across: dict[tuple[str, str], str] = {}
    same: dict[str, str] = {}
    for t in tgts[:1]:
        if t.source == "syscall":
            events = [e for e in session.syscall_events if int.from_bytes(e[20:22], "little") in t.types][:8]
        else:
            events = [plugin_event(payload, t.plugin_id) for payload in samples]
        for n, event in enumerate(events):
            try:
                _compare(session, event, 1000 + n, t.source, reqs, across, same=False)
                for a, b in pairs:
                    _compare(session, event, 1000 + n, t.source, [a, b], same, same=True)
            except ChildFailure as exc:
                session.failures.append(Failure("memory", exc, "extract_fields with several fields in one call"))
                session.reset()
                report.add("memory", Status.FAIL, f"{exc.detail} when asked several fields in one call",
                           "extract_fields must accept num_fields > 1", "handle every entry of the fields array")
                return
            except WorkerError as exc:
                report.add("memory", Status.WARN, "several fields in one call could not be checked", str(exc))
                return
    corrupt = {k: t for k, (lvl, t) in across.items() if lvl == "differ"}
    slots = {k: t for k, (lvl, t) in across.items() if lvl == "slot"}
    for (a, b), text in list(corrupt.items())[:5]:
        report.add("memory", Status.FAIL, f"{a} and {b} share storage in one extract_fields call", text,
                   "give each field of a call its own result storage: libsinsp asks one field per call, so this "
                   "works in Falco today, but the API allows several and other hosts ask them together",
                   fields=[a, b])  # fmt: skip
    if len(corrupt) > 5:
        report.add("memory", Status.FAIL, f"{len(corrupt) - 5} more pairs of fields share storage", "")
    for (a, b), text in list(slots.items())[:3]:
        report.add("memory", Status.WARN, f"{a} and {b} get one storage slot in one extract_fields call", text,
                   "keep one result slot per requested field: the values agree now only because they are equal",
                   fields=[a, b])  # fmt: skip
    twins = {name: text for name, (lvl, text) in same.items() if lvl == "slot" and "[" not in text.split(" reads ")[0]}
    if twins and len(fields) == 1:
        # With one field, asking for it twice is the only way to see how results are stored.
        report.add("memory", Status.WARN, f"{next(iter(twins))} asked twice in one call gets one storage slot",
                   next(iter(twins.values())),
                   "keep one result slot per requested field: a second field would overwrite this one's value "
                   "when a host asks them together")  # fmt: skip
    for name, (lvl, text) in same.items():
        if name in twins:
            continue
        report.add("memory", Status.WARN,
                   f"two requests of {name} in one call share storage" + ("" if lvl == "differ" else " (one slot)"), text,
                   "keep one result per requested field, not one per field id or per plugin (for example the Go "
                   "SDK's ExtractRequestPool)", field=name)  # fmt: skip
    if not across and not (set(same) - set(twins)) and not (twins and len(fields) == 1):
        report.add("memory", Status.PASS, "fields asked together keep their own storage",
                   f"{len(reqs)} fields in one call, and two requests of one field, match one-per-call values")


def _compare(session: Session, event: bytes, num: int, source: str, reqs: Sequence[ProbeRequest],
             found: dict[Any, str], *, same: bool) -> None:  # fmt: skip
    together, singles = session.call("extract_together", event, num, source, list(reqs), count=1 + len(reqs))
    owners: dict[int, int] = {}
    for j, (values, problem, array, storage) in enumerate(together):
        if values is None or problem:
            continue
        for addr in [array, *storage]:
            i = owners.setdefault(addr, j) if addr else j
            if i == j:
                continue
            differ = together[i][0] != singles[i][0] or values != singles[j][0]
            if not differ and addr != array:
                continue  # one constant string for both: nothing a later write could change
            a, b = reqs[i], reqs[j]
            text = (f"asked together, {request_text(a)} reads {_short(together[i][0])} and {request_text(b)} reads "
                    f"{_short(values)}; asked alone: {_short(singles[i][0])} and {_short(singles[j][0])}")  # fmt: skip
            if not differ:
                text = f"both results point to one array at 0x{addr:x}; " + text
            key: Any = a.name if same else (a.name, b.name)
            if key not in found or (differ and found[key][0] != "differ"):
                found[key] = ("differ" if differ else "slot", text)
            break


def _short(values: Any) -> str:
    text = repr(values[0] if isinstance(values, list) and len(values) == 1 else values)
    return text if len(text) < 60 else text[:57] + "..."
