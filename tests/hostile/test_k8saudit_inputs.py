"""Hostile input to the k8saudit file source (issue 13, items 1-3 and the inputs): nothing in a file,
a FIFO or standard input stops the stream; a bad payload is dropped with one warning naming the
input and line; memory is bounded by ``webhookMaxBatchSize`` whatever the line length; values print
as the official Go plugin prints them (checked against it when ``../shared/peers`` is there).

Every subprocess here is bounded in time and ended by the test."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from falcoplug.framework import Inspector

REPO = Path(__file__).resolve().parents[2]
PEERS = REPO.parent / "shared" / "peers"
FALCOPLUG = [sys.executable, "-m", "falcoplug"]
STAMP = "2024-05-01T08:00:00.000001Z"
STAMP_NS = 1714550400000001000


def event(audit_id: str, **extra: object) -> dict:
    return {"kind": "Event", "auditID": audit_id, "stage": "ResponseComplete", "verb": "get",
            "stageTimestamp": STAMP, **extra}  # fmt: skip


def line(audit_id: str, **extra: object) -> str:
    return json.dumps(event(audit_id, **extra))


def read(path: Path | str, config: str = "") -> list[tuple[int, dict]]:
    host = Inspector()
    host.load("k8saudit", config)
    host.open("k8saudit", str(path))
    try:
        return [(e.ts, json.loads(e.payload)) for e in host.events()]
    finally:
        host.destroy()


def ids(got: list[tuple[int, dict]]) -> list[str]:
    return [doc["auditID"] for _, doc in got]


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The plugin's warnings, without the ``k8saudit: `` its logger puts first."""
    return [r.getMessage().removeprefix("k8saudit: ") for r in caplog.records if r.levelno >= logging.WARNING]


def run_cli(args: list[str], stdin: bytes | None = None, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*FALCOPLUG, *args], input=stdin, capture_output=True, timeout=timeout, cwd=REPO)


# -- 1. deep nesting ---------------------------------------------------------------------------------------


def test_deeply_nested_json_is_dropped_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    deep_event = json.dumps(event("deep"))[:-1] + ', "x": ' + "[" * 400 + "]" * 400 + "}"
    path = tmp_path / "deep.log"
    path.write_text("\n".join([
        line("a"),
        "[" * 100_000 + "]" * 100_000,          # issue 13's payload: a RecursionError before
        deep_event,                              # over fastjson's 300 levels: Go drops it too
        json.dumps(event("ok-299", x=json.loads("[" * 298 + "]" * 298))),  # 299 levels: kept, as Go keeps it
        "{" * 50_000,                            # unterminated and deep
        line("b"),
    ]))  # fmt: skip
    with caplog.at_level(logging.WARNING):
        got = read(path)
    assert ids(got) == ["a", "ok-299", "b"]
    messages = warnings(caplog)
    assert any(f"{path}:2: cannot parse JSON: too big depth" in m for m in messages), messages
    assert any(f"{path}:3: cannot parse JSON: too big depth" in m for m in messages), messages
    assert any(f"{path}:5: cannot parse JSON" in m for m in messages), messages
    assert len(messages) == 3


# -- 2. timestamps out of Go's range ----------------------------------------------------------------------


def test_year_9999_keeps_the_batch_and_takes_gos_wrapped_time(tmp_path: Path) -> None:
    path = tmp_path / "far.log"
    path.write_text("\n".join([line("a"), line("far", stageTimestamp="9999-12-31T23:59:59Z"),
                               line("old", stageTimestamp="1600-01-01T00:00:00Z"), line("b")]))  # fmt: skip
    got = read(path)
    assert ids(got) == ["a", "far", "old", "b"]  # the events before it in the batch are kept
    # Go: time.UnixNano() wraps as an int64, then the SDK stores it as a uint64
    far = 253402300799 * 10**9
    old = -11676096000 * 10**9
    assert [ts for ts, _ in got] == [STAMP_NS, far % 2**64, old % 2**64, STAMP_NS]


def test_year_9999_prints_the_time_go_prints(tmp_path: Path) -> None:
    path = tmp_path / "far.log"
    path.write_text(line("far", stageTimestamp="9999-12-31T23:59:59Z") + "\n")
    out = run_cli(["run", "-p", f"k8saudit||{path}", "-o", "%evt.time %ka.auditid"])
    assert out.returncode == 0, out.stderr
    assert out.stdout == b"05:30:40.775828992 far\n"  # what sinsp-capture prints with the Go plugin


# -- 3. lone surrogates ---------------------------------------------------------------------------------------

SURROGATES = "\n".join([
    '{"kind":"Event","auditID":"s-1","user":{"username":"a\\ud800b","groups":["x\\udc00","\\ud83d\\ude00"]},'
    f'"stageTimestamp":"{STAMP}"}}',
    '{"kind":"EventList","items":[{"kind":"Event","auditID":"s-2","user":{"username":"\\ud800"},'
    f'"stageTimestamp":"{STAMP}"}}]}}',
    '{"kind":"Event","auditID":"s-3","user":{"username":"\\ud800\\u0041"},' f'"stageTimestamp":"{STAMP}"}}',
]) + "\n"  # fmt: skip
SURROGATE_FORMAT = "%ka.auditid %ka.user.name %ka.user.groups %json.value[/user/username]"
# fastjson keeps a lone surrogate escape as its text; a broken pair is one U+FFFD
SURROGATE_LINES = [
    "s-1 a\\ud800b (x\\udc00,\U0001f600) a\\ud800b",
    "s-2 \\ud800 <NA> \\ud800",
    "s-3 \ufffd <NA> \ufffd",
]


def test_lone_surrogates_print_as_text_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "surrogates.log"
    path.write_text(SURROGATES)
    out = run_cli(["run", "-p", f"k8saudit||{path}", "-p", "json", "-o", "*" + SURROGATE_FORMAT])
    assert out.returncode == 0 and b"Traceback" not in out.stderr, out.stderr
    assert out.stdout.decode().splitlines() == SURROGATE_LINES
    as_json = run_cli(["run", "-p", f"k8saudit||{path}", "-o", "%ka.user.name", "--json"])
    assert as_json.returncode == 0 and b"Traceback" not in as_json.stderr, as_json.stderr
    names = [json.loads(text)["ka.user.name"] for text in as_json.stdout.decode().splitlines()]
    assert names == ["a\\ud800b", "\\ud800", "\ufffd"]


@pytest.mark.skipif(not (PEERS / "bin" / "sinsp-capture").exists(), reason="../shared/peers not found")
def test_lone_surrogates_and_far_times_match_the_go_plugin(tmp_path: Path) -> None:
    path = tmp_path / "surrogates.log"
    path.write_text(SURROGATES + line("far", stageTimestamp="9999-12-31T23:59:59Z") + "\n")
    fmt = "%evt.time " + SURROGATE_FORMAT
    go = subprocess.run(
        [str(PEERS / "bin" / "sinsp-capture"), "-p", f"{PEERS}/plugins/go/libk8saudit.so||{path}",
         "-p", f"{PEERS}/plugins/go/libjson.so", "-o", "*" + fmt],
        capture_output=True, timeout=60,
    )  # fmt: skip
    ours = run_cli(["run", "-p", f"k8saudit||{path}", "-p", "json", "-o", "*" + fmt])
    assert go.returncode == 0, go.stderr
    assert ours.stdout.splitlines() == go.stdout.splitlines()


# -- memory: long lines, /dev/zero, huge EventLists ---------------------------------------------------------


def test_a_line_over_the_batch_limit_is_skipped_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "long.log"
    items = [event(f"i{i}") for i in range(2000)]
    with path.open("w") as f:
        f.write(line("a") + "\n")
        f.write(json.dumps({"kind": "EventList", "items": items}) + "\n")  # ~230 kB: over the limit
        f.write("x" * 300_000 + "\n")
        f.write(json.dumps({"kind": "EventList", "items": items[:500]}) + "\n")  # ~57 kB: within
        f.write(line("b"))  # no final newline
    with caplog.at_level(logging.WARNING):
        got = read(path, '{"webhookMaxBatchSize": 100000}')
    assert ids(got) == ["a", *[f"i{i}" for i in range(500)], "b"]
    messages = warnings(caplog)
    assert messages == [
        f"{path}:2: line longer than webhookMaxBatchSize (100000 bytes)",
        f"{path}:3: line longer than webhookMaxBatchSize (100000 bytes)",
    ]


def test_many_bad_items_of_one_payload_are_counted_not_flooded(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "bad-items.log"
    items = [{"kind": "Event", "auditID": f"n{i}"} for i in range(5000)] + [event("good")]
    path.write_text(json.dumps({"kind": "EventList", "items": items}) + "\n" + line("after") + "\n")
    with caplog.at_level(logging.WARNING):
        got = read(path)
    assert ids(got) == ["good", "after"]
    messages = warnings(caplog)
    assert len(messages) == 11
    assert messages[0] == f"{path}:1: can't read stageTimestamp"
    assert messages[-1] == f"{path}:1: 4990 more events of this payload dropped"


def _peak_rss_kib(pid: int) -> int:
    for text in Path(f"/proc/{pid}/status").read_text().splitlines():
        if text.startswith("VmHWM:"):
            return int(text.split()[1])
    raise AssertionError("no VmHWM")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_dev_zero_runs_in_bounded_memory_and_stops_on_sigterm() -> None:
    cmd = [*FALCOPLUG, "run", "-p", 'k8saudit|{"webhookMaxBatchSize": 1048576}|/dev/zero', "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO)
    assert proc.stderr is not None
    watchdog = threading.Timer(60, proc.kill)  # bounds the blocking readline below
    watchdog.start()
    try:
        warning = proc.stderr.readline()  # written once the reading has started
        assert b"/dev/zero:1: line longer than webhookMaxBatchSize" in warning, warning
        time.sleep(1.5)  # gigabytes of zeros go by
        assert proc.poll() is None
        peak = _peak_rss_kib(proc.pid)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert peak < 200 * 1024, f"peak RSS {peak} KiB"
    assert b"Traceback" not in err and b"line longer" not in err, err  # warned once, not per chunk


# -- FIFOs and standard input ---------------------------------------------------------------------------------


def test_a_fifo_is_read_as_lines_arrive(tmp_path: Path) -> None:
    fifo = tmp_path / "audit.fifo"
    os.mkfifo(fifo)
    host = Inspector()
    host.load("k8saudit")
    host.open("k8saudit", str(fifo))  # no writer yet: the open does not block
    got: list[str] = []

    def writer() -> None:
        time.sleep(0.2)
        with fifo.open("w") as f:
            f.write(line("f1") + "\n")
            f.flush()
            time.sleep(0.3)  # the first event comes out before the writer is done
            f.write(line("f2") + "\n" + line("f3"))

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    timer = threading.Timer(20, host.interrupt)
    timer.start()
    try:
        for batch in host.batches():
            got += [json.loads(e.payload)["auditID"] for e in batch]
    finally:
        timer.cancel()
        host.destroy()
        thread.join(timeout=5)
    assert got == ["f1", "f2", "f3"]


def test_stdin_is_read_with_dash(tmp_path: Path) -> None:
    pretty = json.dumps({"kind": "EventList", "items": [event("p1"), event("p2")]}, indent=2)
    data = "\n".join([line("s1"), "not json", line("s2")]).encode()
    out = run_cli(["run", "-p", "k8saudit||-", "-o", "%ka.auditid"], stdin=data)
    assert out.returncode == 0, out.stderr
    assert out.stdout == b"s1\ns2\n"
    assert b"<stdin>:2: cannot parse JSON" in out.stderr
    out = run_cli(["run", "-p", "k8saudit||-", "-o", "%ka.auditid"], stdin=pretty.encode())
    assert out.stdout == b"p1\np2\n", out.stderr


def test_pretty_printed_documents_and_a_broken_first_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    two = "\n".join(json.dumps({"kind": "EventList", "items": [event(f"d{i}")]}, indent=2) for i in (1, 2))
    (tmp_path / "two.json").write_text(two + "\n")
    assert ids(read(tmp_path / "two.json")) == ["d1", "d2"]
    # a first line that starts a document but never ends one: the following lines are JSON lines
    (tmp_path / "broken.log").write_text('{"kind": "Event", "auditID": \n' + line("l2") + "\n" + line("l3") + "\n")
    with caplog.at_level(logging.WARNING):
        assert ids(read(tmp_path / "broken.log")) == ["l2", "l3"]
    assert [m.split(": cannot")[0] for m in warnings(caplog)] == [f"{tmp_path / 'broken.log'}:1"]


def test_not_an_audit_event_names_file_and_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "mixed.log"
    path.write_text(line("a") + "\n\n" + json.dumps({"kind": "Pod"}) + "\n" + line("b") + "\n")
    with caplog.at_level(logging.WARNING):
        assert ids(read(path)) == ["a", "b"]
    assert warnings(caplog) == [f"{path}:3: data not recognized as a k8s audit event"]
