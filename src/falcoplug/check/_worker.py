"""The child process that runs the plugin under test (``falcoplug check``'s isolation).

The parent (:mod:`falcoplug.check.sandbox`) sends ``(operation, arguments)`` over a pipe and
reads ``(status, value)`` back. Before each plugin call the child writes, into memory shared with
the parent, which input it is on and when the call started: when the child dies (a signal, an
``exit()`` in plugin code) or a call runs past its time limit, the parent knows the call to blame.
The child's address space is limited (``RLIMIT_AS``) and its stdout and stderr go to a file, so
that what a plugin prints ends up in the report instead of in the checker's output.
"""

from __future__ import annotations

import os
import pickle
import resource
import time
from collections.abc import Sequence
from typing import Any

from ..backend import FieldRequest, PluginBackend
from ..errors import FalcoplugError
from ..framework.inspector import Inspector
from ..framework.loading import load_backend
from ..framework.plugin import Plugin
from .loading import Rule, metadata_rules, registration_rules

# Slots of the shared array: the input being processed, the monotonic start time of the plugin call
# in progress (0 when none), and the child's address-space size in bytes.
SLOT_INDEX, SLOT_STARTED, SLOT_VMSIZE, SLOT_BASE = 0, 1, 2, 3
ADDRESS_SPACE_SLACK = 16 << 30
_PAGE = os.sysconf("SC_PAGE_SIZE")


def vm_sizes() -> tuple[int, int]:
    """(address space, resident set) of this process, in bytes."""
    with open("/proc/self/statm") as f:
        size, resident = f.read().split()[:2]
    return int(size) * _PAGE, int(resident) * _PAGE


def serve(conn: Any, shared: Any, output: str, memory_limit: int) -> None:
    """The child's main loop (the target of the multiprocessing process)."""
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    size, resident = vm_sizes()
    shared[SLOT_BASE] = float(resident)
    if memory_limit > 0:
        # The parent watches resident memory against ``memory_limit``; the address-space limit is
        # only a backstop, far above it, because Go runtimes reserve gigabytes they never touch.
        limit = size + memory_limit + ADDRESS_SPACE_SLACK
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    worker = Worker(shared)
    while True:
        try:
            op, args = conn.recv()
        except (EOFError, OSError):
            return
        if op == "quit":
            worker.quit()
            conn.send(("ok", None))
            return
        try:
            reply: tuple[str, Any] = ("ok", getattr(worker, f"op_{op}")(*args))
        except MemoryError:
            reply = ("memory", f"MemoryError in {op} (the memory limit was reached)")
        except FalcoplugError as exc:
            reply = ("error", str(exc))
        except Exception as exc:  # noqa: BLE001 - anything the plugin code raised is a finding
            reply = ("error", f"{type(exc).__name__}: {exc}")
        finally:
            shared[SLOT_STARTED] = 0.0
        try:
            conn.send(reply)
        except (pickle.PicklingError, TypeError, AttributeError, ValueError) as exc:  # a value that does not pickle
            conn.send(("error", f"{op} returned what cannot be sent back: {exc}"))


class Worker:
    """The plugin under test, and the operations the parent may ask for."""

    def __init__(self, shared: Any) -> None:
        self.shared = shared
        self.backend: PluginBackend | None = None
        self.plugin: Plugin | None = None
        self.host: Inspector | None = None
        self.handle: Any = None
        self.extractors: dict[Any, Any] = {}
        self.listening = False

    def _begin(self, index: int) -> None:
        self.shared[SLOT_INDEX] = float(index)
        self.shared[SLOT_STARTED] = time.monotonic()

    def _end(self) -> None:
        self.shared[SLOT_STARTED] = 0.0

    @property
    def is_c(self) -> bool:
        from ..abi.loader import CPluginBackend

        return isinstance(self.backend, CPluginBackend)

    # -- loading ------------------------------------------------------------------------------
    def op_load(self, location: str) -> dict[str, Any]:
        self._begin(0)
        self.backend = load_backend(location)
        rules = registration_rules(self.backend)
        info: dict[str, Any] = {"location": location, "kind": "c" if self.is_c else "python"}
        if all(r.ok for r in rules):
            try:
                # Registered with an inspector, as in a real run: tables and routines are there.
                self.host = Inspector()
                self.plugin = self.host.register(Plugin(self.backend))
            except FalcoplugError as exc:
                rules.append(Rule("registration", False, str(exc)))
            else:
                rules += metadata_rules(self.plugin)
                info.update(describe(self.plugin))
                sourcing = getattr(getattr(self.backend, "description", None), "sourcing", None)
                info["batch_capacity"] = getattr(sourcing, "batch_capacity", None)
        self._end()
        return {"rules": [r.as_tuple() for r in rules], "info": info}

    def op_init(self, config: str) -> dict[str, Any]:
        assert self.plugin is not None
        self._begin(0)
        self.plugin.init(config)
        self._end()
        return {
            "extract_types": _types(self.plugin.extract_event_types),
            "parse_types": _types(self.plugin.parse_event_types),
        }

    # -- sourcing -----------------------------------------------------------------------------
    def op_list_open_params(self) -> tuple[int, str | None] | None:
        """``(rc, text)``, or None when the plugin has no ``list_open_params``."""
        assert self.backend is not None
        if not self.backend.has("list_open_params"):
            return None
        self._begin(0)
        return self.backend.list_open_params()

    def op_open(self, params: str) -> None:
        assert self.plugin is not None
        self._begin(0)
        handle, rc = self.plugin.backend.open(params)
        if rc != 0 or handle is None:
            raise FalcoplugError(f"could not open plugin {self.plugin.name}: {self.plugin.last_error()}")
        self.handle = handle

    def op_next(self, calls: int, stop_after: float) -> list[tuple[int, list[bytes], float]]:
        """Up to ``calls`` next_batch calls (stopping at a result other than SUCCESS and TIMEOUT, or
        after ``stop_after`` seconds): each call's rc, events and duration."""
        assert self.plugin is not None
        out: list[tuple[int, list[bytes], float]] = []
        deadline = time.monotonic() + stop_after
        for i in range(calls):
            self._begin(i)
            t0 = time.perf_counter()
            try:
                rc, batch = self.plugin.backend.next_batch(self.handle, self.plugin.id, self.plugin.name)
            except FalcoplugError as exc:
                out.append((-100, [str(exc).encode()], time.perf_counter() - t0))
                break
            events = [batch.event_bytes(j) for j in range(len(batch))]
            out.append((rc, events, time.perf_counter() - t0))
            if rc not in (0, -1) or time.monotonic() > deadline:
                break
        self._end()
        return out

    def op_progress(self) -> tuple[int, str | None] | None:
        assert self.plugin is not None
        if not self.plugin.backend.has("get_progress"):
            return None
        self._begin(0)
        return self.plugin.backend.get_progress(self.handle)

    def op_close(self) -> None:
        assert self.plugin is not None
        self._begin(0)
        self.plugin.backend.close(self.handle)
        self.handle = None

    def op_last_error(self) -> str:
        assert self.plugin is not None
        return self.plugin.last_error()

    def op_event_to_string(self, events: Sequence[bytes], source: str) -> list[tuple[bool, str]]:
        assert self.plugin is not None
        if not self.plugin.backend.has("event_to_string"):
            return []
        out = []
        for i, raw in enumerate(events):
            self._begin(i)
            try:
                text = self.plugin.backend.event_to_string(raw, i + 1, source)
                out.append((text is not None, text if text is not None else self.plugin.last_error()))
            except FalcoplugError as exc:
                out.append((False, str(exc)))
        return out

    # -- extraction and parsing ---------------------------------------------------------------
    def op_extract(self, cases: Sequence[tuple[bytes, int, str | None, Any]], first: int) -> list[tuple[str, Any]]:
        """One field per call, as libsinsp asks: ``("value", values)``, ``("none", last error)`` or
        ``("bad", problem)`` per case; ``first`` numbers the cases for crash reports."""
        out = []
        for i, (event, evtnum, source, req) in enumerate(cases):
            self._begin(first + i)
            out.append(self._extract_one(event, evtnum, source, req))
        self._end()
        self.shared[SLOT_VMSIZE] = float(vm_sizes()[0])
        return out

    def _extract_one(self, event: bytes, evtnum: int, source: str | None, req: Any) -> tuple[str, Any]:
        if self.is_c:
            from ..abi import probe

            result = probe.extract(self.backend, event, evtnum, source, [req], recheck=True)
            value = result.fields[0]
            if value.problem:
                return ("bad", value.problem)
            if value.values is None:
                return ("none", None)
            return ("value", value.values if req.is_list else value.values[0])
        key = None if req.arg_key is None else req.arg_key.decode("utf-8", "replace")
        request = FieldRequest(req.field_id, req.name, req.ftype, req.is_list, key, req.arg_index)
        extractor = self.extractors.get(request)
        if extractor is None:
            assert self.backend is not None
            try:
                extractor = self.extractors[request] = self.backend.extractor([request])
            except (FalcoplugError, ValueError) as exc:  # the in-process host refuses the request itself
                return ("none", str(exc))
        try:
            value = extractor.extract_event(event, 0, evtnum, source)[0]
        except FalcoplugError as exc:
            return ("bad", str(exc))
        if value is None:
            return ("none", None)
        problem = value_problem(req, value)
        return ("bad", problem) if problem else ("value", value)

    def op_extract_together(self, event: bytes, evtnum: int, source: str | None, requests: Sequence[Any]) -> Any:
        """Every request in one call, then each alone (C plugins only): ``(together, alone)``, each
        value with the addresses of its storage."""
        from ..abi import probe

        self._begin(0)
        together = probe.extract(self.backend, event, evtnum, source, list(requests)).fields
        alone = [probe.extract(self.backend, event, evtnum, source, [r]).fields[0] for r in requests]
        self._end()
        return [[(v.values, v.problem, v.array, v.storage) for v in values] for values in (together, alone)]

    def op_parse(self, events: Sequence[bytes], source: str, first: int) -> int:
        assert self.plugin is not None
        if self.plugin.has_capture_listening and not self.listening:
            self.plugin.capture_open()  # libsinsp opens the capture before any event is parsed
            self.listening = True
        parser = self.plugin.parser()
        for i, event in enumerate(events):
            self._begin(first + i)
            parser.parse_event(event, 0, i + 1, source)
        self._end()
        return len(events)

    def op_leak(self, cases: Sequence[tuple[bytes, int, str | None, Any]], rounds: int) -> tuple[int, int, int]:
        """Resident memory before and after ``rounds`` passes over ``cases`` (after a warm-up pass).
        Each pass numbers the event anew, as the next event of a stream would be, so that no
        per-event cache answers in the plugin's place."""
        for case in cases:
            self._extract_one(*case)
        before = vm_sizes()[1]
        for r in range(rounds):
            for i, (event, evtnum, source, req) in enumerate(cases):
                self._begin(r * len(cases) + i)
                self._extract_one(event, evtnum + 1 + r, source, req)
        self._end()
        return before, vm_sizes()[1], rounds * len(cases)

    # -- replay ---------------------------------------------------------------------------------
    def op_record(self, spec: dict[str, Any], fields: Sequence[str], path: str | None) -> dict[str, Any]:
        """A live run (``path``: recorded there with the framework's recorder) or a replay of
        ``spec["capture"]``: every listed field of every event of the tested plugin's sources."""
        from ..framework.capture_io import Recorder

        host = Inspector()
        tested = host.register(spec["location"])
        tested.init(spec["config"])
        for location, config in spec["others"]:
            host.load(location, config)
        self._begin(0)
        recorder = None
        if spec.get("capture"):
            host.open_capture(spec["capture"])
        else:
            host.open(host.plugin(spec["input"]), spec["params"])
            if path:
                recorder = Recorder(path, hostname=host.hostname)
                recorder.write_initial(host.dump_state_events())
        rows: list[list[Any]] = []
        limit = spec["max_events"]
        try:
            for batch in host.batches():
                if recorder is not None:
                    recorder.write(batch)
                for event in batch:
                    self._begin(len(rows))
                    if event.source is None or not tested.is_extract_compatible(event.source):
                        rows.append([])
                        continue
                    rows.append([_plain(host.field_value(event, f)) for f in fields])
                if len(rows) >= limit:
                    break
        finally:
            if recorder is not None:
                recorder.close()
            host.destroy()
        self._end()
        return {"rows": rows[:limit], "parses": tested.has_parsing, "async": tested.has_async}

    def quit(self) -> None:
        if self.plugin is not None and self.plugin.initialized:
            try:
                if self.handle is not None:
                    self.plugin.backend.close(self.handle)
                if self.listening:
                    self.plugin.capture_close()
                self.plugin.destroy()
            except Exception:  # noqa: BLE001, S110 - leaving anyway
                pass


def _plain(value: Any) -> Any:
    """A value the parent can receive and compare (addresses as text)."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, bool, bytes, float)):
        return value
    return str(value)


def _types(table: bytes) -> list[int] | None:
    """The accepted event types, or None for all of them."""
    if all(table):
        return None
    return [i for i, ok in enumerate(table) if ok]


_PY_TYPES: dict[int, tuple[type, ...]] = {8: (int,), 20: (int,), 21: (int,), 9: (str,), 25: (bool,)}


def value_problem(req: Any, value: Any) -> str | None:
    """Whether an in-process value matches its declared type and list-ness."""
    values = value if req.is_list else [value]
    if req.is_list and not isinstance(value, list):
        return f"{req.name} is a list field but a {type(value).__name__} came back"
    expected = _PY_TYPES.get(req.ftype)
    for v in values:
        if expected is None:
            if not hasattr(v, "version"):  # ipaddress objects
                return f"{req.name} gave {v!r}, not an address"
        elif not isinstance(v, expected) or (expected == (int,) and (isinstance(v, bool) or not 0 <= v < 1 << 64)):
            return f"{req.name} gave {v!r} ({type(v).__name__}) for a field of type {req.ftype}"
        elif isinstance(v, str) and "\0" in v:
            return f"{req.name} gave a string with a NUL byte: {v[:48]!r}"
    return None


def describe(plugin: Plugin) -> dict[str, Any]:
    """What the parent needs to know of the plugin (and what a release manifest holds)."""
    kind, schema = plugin.init_schema
    return {
        "name": plugin.name,
        "version": plugin.version,
        "description": plugin.description,
        "contact": plugin.contact,
        "required_api_version": plugin.required_api_version,
        "capabilities": plugin.capability_names(),
        "id": plugin.id,
        "event_source": plugin.event_source,
        "extract_event_sources": sorted(plugin.extract_sources),
        "parse_event_sources": sorted(plugin.parse_sources),
        "async_events": sorted(plugin.async_events),
        "init_schema": schema if kind == 1 else None,
        "fields": [
            {
                "name": f.name, "type": f.type_name, "ftype": f.ftype, "isList": f.is_list, "desc": f.desc,
                "arg": {"isRequired": f.arg_required, "isIndex": f.arg_index, "isKey": f.arg_key},
                "properties": list(f.properties),
            }
            for f in plugin.fields
        ],
    }  # fmt: skip
