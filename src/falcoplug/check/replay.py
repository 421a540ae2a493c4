"""Check 5: a live run recorded to a capture, then replayed: every field of every event must be equal.

Both runs use the framework's own pieces (``Inspector``, the recorder behind ``-w``,
``open_capture`` behind ``-R``), each in a fresh child process, so that no state survives from the
live run into the replay except what the capture holds.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from .report import Report, Status
from .resilience import gist
from .sandbox import ChildFailure, Limits, Sandbox, WorkerError


def field_refs(fields: list[dict[str, Any]]) -> list[str]:
    """Every field as an output names it; required arguments get a plain one (index 1, key 'a')."""
    refs = []
    for f in fields:
        arg = f.get("arg") or {}
        if arg.get("isRequired"):
            refs.append(f"{f['name']}[1]" if arg.get("isIndex") else f"{f['name']}[a]")
        else:
            refs.append(f["name"])
    return refs


def check_replay(report: Report, spec: dict[str, Any], fields: list[dict[str, Any]], limits: Limits, *, timeout: float = 60.0) -> None:
    refs = field_refs(fields)
    fd, path = tempfile.mkstemp(prefix="falcoplug-check-", suffix=".scap")
    os.close(fd)
    try:
        live = _run(report, limits, spec, refs, path, "the live run", timeout)
        if live is None:
            return
        replayed = _run(report, limits, {**spec, "capture": path}, refs, None, "the replay", timeout)
        if replayed is None:
            return
    finally:
        os.unlink(path)
    _compare(report, live, replayed, refs, spec)


def _run(report: Report, limits: Limits, spec: dict[str, Any], refs: list[str], path: str | None, what: str, timeout: float) -> Any:
    with Sandbox(limits) as box:
        try:
            return box.call("record", spec, refs, path, total=timeout)
        except ChildFailure as exc:
            report.add("replay", Status.FAIL, f"{exc.kind} during {what}", f"{exc.detail} in {exc.op}: {gist(exc.output)}")
        except WorkerError as exc:
            report.add("replay", Status.WARN, f"{what} could not run", str(exc),
                       "give a working source: --open-params, or --with SOURCE_PLUGIN")  # fmt: skip
    return None


def _compare(report: Report, live: dict[str, Any], replayed: dict[str, Any], refs: list[str], spec: dict[str, Any]) -> None:
    a, b = live["rows"], replayed["rows"]
    if not a:
        report.add("replay", Status.SKIP, "the live run produced no event", f"input {spec['input']} with '{spec['params']}'")
        return
    if len(a) != len(b):
        report.add("replay", Status.FAIL, f"the replay gave {len(b)} events, the live run {len(a)}", "",
                   "every event the plugin delivers must be in the capture")  # fmt: skip
    differing: dict[str, tuple[int, Any, Any]] = {}
    for n, (ra, rb) in enumerate(zip(a, b), start=1):
        for ref, va, vb in zip(refs, ra, rb):
            if va != vb and ref not in differing:
                differing[ref] = (n, va, vb)
    if live["parses"] or live["async"]:
        remedy = ("the plugin parses events or sends async events, yet this field still differs: "
                  "build its state only from events (parse_event, async events), never from the clock or outside")  # fmt: skip
    else:
        remedy = ("compute the field from the event alone, or rebuild the state it needs from events: "
                  "parse events (parse capability) or inject async events, which captures record")  # fmt: skip
    for ref, (n, va, vb) in differing.items():
        report.add("replay", Status.FAIL, f"{ref} differs on replay", f"first at event {n}: live {va!r}, replay {vb!r}",
                   remedy, field=ref, event=n)  # fmt: skip
    if not differing and len(a) == len(b):
        report.add("replay", Status.PASS, "every field equal on replay",
                   f"{len(a)} events x {len(refs)} fields, recorded with the framework's -w and replayed with -R")  # fmt: skip
