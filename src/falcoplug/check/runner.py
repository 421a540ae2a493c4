"""``falcoplug check``: every check, in order, on one plugin."""

from __future__ import annotations

import os
import random
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .memory import check_leak, check_shared_storage
from .registry import check_registry, load_registry
from .release import check_release, manifest, read_manifest
from .replay import check_replay
from .report import Report, Status
from .resilience import Budget, fuzz_extraction, fuzz_parsing, gist
from .sandbox import ChildFailure, Limits, Sandbox, WorkerError
from .session import Session
from .sourcing import check_open_params, check_sourcing, split_events


@dataclass
class WithPlugin:
    """``--with LIB[|CONFIG[|PARAMS]]``: a sourcing plugin whose real events the extractor meets."""

    location: str
    config: str = ""
    params: str = ""

    @classmethod
    def parse(cls, text: str) -> WithPlugin:
        # As sinsp-capture's -p: split on the first and the last "|".
        first = text.find("|")
        if first < 0:
            return cls(text)
        last = text.rfind("|")
        if last == first:
            return cls(text[:first], text[first + 1 :])
        return cls(text[:first], text[first + 1 : last], text[last + 1 :])


@dataclass
class CheckOptions:
    """What ``falcoplug check``'s options set (see ``docs/check.md``)."""

    config: str = ""
    open_params: str | None = None
    budget: Budget = field(default_factory=Budget)
    seed: int | None = None
    with_plugins: Sequence[WithPlugin] = ()
    against: str | None = None
    registry: str | None = None
    limits: Limits = field(default_factory=Limits)
    save_dir: Path | None = None
    replay_events: int = 100
    only: Sequence[str] = ()


def check_plugin(location: str, options: CheckOptions | None = None) -> Report:
    """Run every check on the plugin at ``location`` (a library, a Python plugin, a bundled name)."""
    options = options or CheckOptions()
    report = Report(plugin=os.path.basename(location), location=location)
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(1 << 32)
    report.info["seed"] = seed
    started = time.monotonic()
    session = Session(location, options.config, options.limits)
    try:
        _run(report, session, options, seed)
    except ChildFailure as exc:  # a plugin failure no check expected: still a finding, not a traceback
        report.add("isolation", Status.FAIL, f"{exc.kind} in {exc.op}", f"{exc.detail}; {gist(exc.output)}")
    except (WorkerError, OSError) as exc:
        report.could_not_run = f"the check stopped: {exc}"
    finally:
        session.close()
    report.info["seconds"] = round(time.monotonic() - started, 2)
    return report


@contextmanager
def _timed(report: Report, phase: str) -> Iterator[None]:
    """Record how long a phase took (``report.info["timings"]``), for --json and for tuning."""
    started = time.monotonic()
    try:
        yield
    finally:
        timings = report.info.setdefault("timings", {})
        timings[phase] = round(timings.get(phase, 0) + time.monotonic() - started, 2)


def _wanted(options: CheckOptions, check: str) -> bool:
    return not options.only or check in options.only


def _run(report: Report, session: Session, options: CheckOptions, seed: int) -> None:
    with _timed(report, "loading"):
        info = _loading(report, session, options)
    if info is None:
        return
    registry = load_registry(options.registry)
    id_of_source = registry.id_of_source()
    if _wanted(options, "registry"):
        check_registry(report, info, registry)
    if _wanted(options, "release"):
        _release(report, info, options)
    real: list[bytes] = []
    sourcing = "event sourcing" in info["capabilities"]
    params = options.open_params
    if sourcing:
        suggestions = check_open_params(session, report) if _wanted(options, "sourcing") else []
        if params is None:
            params = suggestions[0] if suggestions else ""
        # The plugin's own events feed the other checks even when the sourcing check is not wanted.
        into = report if _wanted(options, "sourcing") else Report(report.plugin, report.location)
        with _timed(report, "sourcing"):
            own = check_sourcing(session, into, params, info.get("batch_capacity"))
        payloads, syscalls = split_events(own)
        real += payloads
        session.syscall_events += syscalls
        session.reset()  # the other checks start from a freshly initialized plugin
    elif _wanted(options, "sourcing"):
        report.add("sourcing", Status.SKIP, "no event sourcing capability")
    for other in options.with_plugins:
        payloads, syscalls = split_events(_foreign_events(report, other, options.limits))
        real += payloads
        session.syscall_events += syscalls
    extraction = "field extraction" in info["capabilities"]
    if extraction and _wanted(options, "resilience"):
        with _timed(report, "resilience"):
            fuzz_extraction(session, report, options.budget, seed, real, id_of_source, _save_dir(options, info))
    elif _wanted(options, "resilience") and not extraction:
        report.add("resilience", Status.SKIP, "no field extraction capability")
    if _wanted(options, "resilience"):
        with _timed(report, "parsing"):
            fuzz_parsing(session, report, options.budget, seed, real, id_of_source)
    if extraction and _wanted(options, "memory"):
        with _timed(report, "memory"):
            check_shared_storage(session, report, real, id_of_source)
    if extraction and _wanted(options, "isolation"):
        with _timed(report, "leak"):
            check_leak(session, report, real, id_of_source)
    if _wanted(options, "replay"):
        with _timed(report, "replay"):
            _replay(report, info, options, params)
    _isolation(report, session)


def _loading(report: Report, session: Session, options: CheckOptions) -> dict[str, Any] | None:
    try:
        box = session.sandbox_for_load()
        session.adopt(box)
        loaded = box.call("load", session.location)
    except ChildFailure as exc:
        report.add("loading", Status.FAIL, f"{exc.detail} while loading", gist(exc.output))
        report.add("isolation", Status.FAIL, f"{exc.kind} while loading the plugin", exc.detail)
        session.reset()
        return None
    except WorkerError as exc:
        report.could_not_run = str(exc)
        report.add("loading", Status.FAIL, "the plugin could not be loaded", str(exc))
        session.reset()
        return None
    info = loaded["info"]
    report.info.update({k: info.get(k) for k in ("name", "version", "id", "event_source", "capabilities", "kind")})
    report.plugin = info.get("name") or report.plugin
    for name, ok, message, severity in loaded["rules"]:
        status = Status.PASS if ok else (Status.WARN if severity == "warn" else Status.FAIL)
        report.add("loading", status, name, message,
                   "" if ok else _LOAD_FIXES.get(name, ""))  # fmt: skip
    if "fields" not in info:  # libsinsp refuses it: nothing else can run
        session.reset()
        return None
    try:
        session.types = box.call("init", options.config)
        report.add("loading", Status.PASS, "init", f"with config {options.config!r}" if options.config else "with an empty config")
    except WorkerError as exc:
        report.add("loading", Status.FAIL, "init", str(exc), "init must succeed with the documented default config "
                   "(or give one with --config)")  # fmt: skip
        session.reset()
        return None
    except ChildFailure as exc:
        report.add("loading", Status.FAIL, "init", f"{exc.detail}: {gist(exc.output)}")
        report.add("isolation", Status.FAIL, f"{exc.kind} in init", exc.detail)
        session.reset()
        return None
    session.info = info
    return info


_LOAD_FIXES = {
    "required API version": "return the plugin API version the plugin was built for (3.x up to 3.12.0)",
    "required symbols": "export every required plugin_* function",
    "version": "return MAJOR.MINOR.PATCH from plugin_get_version",
    "capabilities": "implement each capability's functions together",
    "event source": "choose an event source other than the reserved 'syscall'",
    "fields": "fix the JSON returned by plugin_get_fields",
    "semver version": "use a semver version: MAJOR.MINOR.PATCH",
    "description": "describe the plugin in plugin_get_description",
    "contact": "give a URL or an address in plugin_get_contact",
    "init schema": "return a valid JSON Schema from plugin_get_init_schema",
    "field descriptions": "describe every field (the desc property)",
    "field prefix": "name fields <prefix>.<name> with a prefix of the plugin's own",
    "field names": "use a prefix of the plugin's own, not one of libsinsp's field classes",
    "unique field names": "declare each field once",
}


def _release(report: Report, info: dict[str, Any], options: CheckOptions) -> None:
    if not options.against:
        report.add("release", Status.SKIP, "no older release given", "", "pass --against OLD (a library, a Python plugin or a manifest)")
        return
    old = read_manifest(options.against)
    if old is None:
        try:
            with Sandbox(options.limits) as box:
                loaded = box.call("load", options.against)
        except (ChildFailure, WorkerError) as exc:
            report.add("release", Status.FAIL, f"the older release {options.against} could not be loaded", str(exc))
            return
        if "fields" not in loaded["info"]:
            report.add("release", Status.FAIL, f"the older release {options.against} does not load", "")
            return
        old = manifest(loaded["info"])
    check_release(report, old, manifest(info), options.against)


def _foreign_events(report: Report, other: WithPlugin, limits: Limits) -> list[bytes]:
    """Real events of a sourcing plugin given with --with."""
    session = Session(other.location, other.config, limits)
    try:
        session.sandbox()
        session.call("open", other.params)
        results = session.call("next", 200, 5.0, total=30.0)
    except (ChildFailure, WorkerError) as exc:
        report.add("resilience", Status.WARN, f"--with {other.location}: no events", str(exc))
        return []
    finally:
        session.close()
    events = [e for _, evts, _ in results for e in evts]
    report.add("resilience", Status.PASS, f"{len(events)} real events from {other.location} added to the inputs")
    return events


def _replay(report: Report, info: dict[str, Any], options: CheckOptions, params: str | None) -> None:
    others = [(w.location, w.config) for w in options.with_plugins]
    if "event sourcing" in info["capabilities"]:
        spec = {"input": info["name"], "params": params or ""}
    elif options.with_plugins and "field extraction" in info["capabilities"]:
        names = _names(options)
        if not names:
            report.add("replay", Status.SKIP, "the --with plugin could not be loaded")
            return
        spec = {"input": names[0], "params": options.with_plugins[0].params}
    else:
        report.add("replay", Status.SKIP, "no live source to record", "", "give --with SOURCE_PLUGIN to record its events")
        return
    spec.update({"location": report.location, "config": options.config, "others": others,
                 "max_events": options.replay_events})  # fmt: skip
    check_replay(report, spec, info.get("fields") or [], options.limits)


def _names(options: CheckOptions) -> list[str]:
    names = []
    for other in options.with_plugins:
        try:
            with Sandbox(options.limits) as box:
                names.append(box.call("load", other.location)["info"]["name"])
        except (ChildFailure, WorkerError, KeyError):
            return []
    return names


def _isolation(report: Report, session: Session) -> None:
    for failure in session.failures:
        exc = failure.error
        if failure.check == "resilience" and exc.kind in ("crash", "exit"):
            continue  # reported by the resilience check, with the saved input
        title = {"hang": f"{failure.call} does not return", "memory": f"runaway memory in {failure.call}"}.get(
            exc.kind, f"{exc.detail} in {failure.call}"
        )
        fix = {
            "hang": "every call must return promptly; wait with a time limit and return (no value, or TIMEOUT)",
            "memory": "bound what one call may allocate",
        }.get(exc.kind, "")
        report.add("isolation", Status.FAIL, title, exc.detail + (f"; the plugin printed: {gist(exc.output)}" if exc.output else ""),
                   fix, kind=exc.kind)  # fmt: skip
    report.add("isolation", Status.PASS if not report.failures("isolation") else Status.SKIP,
               f"{session.calls} plugin calls ran in a separate process",
               f"limits: {session.limits.call_timeout:g} s per call, {session.limits.memory >> 20} MiB of memory; "
               f"{len(session.failures)} failures, the checker survived each")  # fmt: skip


def _save_dir(options: CheckOptions, info: dict[str, Any]) -> Path:
    return Path(options.save_dir) if options.save_dir else Path(tempfile.gettempdir()) / "falcoplug-check"
