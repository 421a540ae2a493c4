"""``rules validate`` on syscall rules: Falco's verdicts and messages, byte for byte.

Each file of ``tests/data/syscall_rules`` is validated by falcoplug and, when ``../shared/peers``
is there, by Falco 0.44.1 (``falco -V``, run from the same folder so both print the same names);
stdout, stderr and the exit status must be identical. Without the peers, the checks that do not
need them still run.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from falcoplug.cli.main import main

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "data" / "syscall_rules"
PEERS = Path(os.environ.get("FALCOPLUG_SHARED_PEERS") or REPO.parent / "shared" / "peers")
FALCO = PEERS / "bin" / "falco"
MINIMAL = PEERS / "falco" / "minimal.yaml"
needs_falco = pytest.mark.skipif(not FALCO.exists(), reason="../shared/peers (the real Falco) is absent")
FILES = sorted(p.name for p in FIXTURES.glob("*.yaml"))


def falcoplug_validate(name: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str, int]:
    monkeypatch.chdir(FIXTURES)
    result = CliRunner().invoke(main, ["rules", "validate", "-r", name])
    return result.stdout, result.stderr, result.exit_code


def falco_validate(name: str) -> tuple[str, str, int]:
    done = subprocess.run(
        [str(FALCO), "-c", str(MINIMAL), "-V", name], cwd=FIXTURES, capture_output=True, text=True, timeout=60
    )
    return done.stdout, done.stderr, done.returncode


@needs_falco
@pytest.mark.parametrize("name", FILES)
def test_same_output_as_falco(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    out, err, code = falcoplug_validate(name, monkeypatch)
    f_out, f_err, f_code = falco_validate(name)
    assert (out, code) == (f_out, f_code)
    if code:  # Falco prints its warnings only through its logger; an error is "Error: <summary>"
        assert err == f_err


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bad_evttype.yaml", "LOAD_ERR_COMPILE_CONDITION (Error compiling condition): unknown event type opne"),
        ("bad_argument.yaml", "unknown event argument nosuchparam"),
        ("bad_ancestor.yaml", "filter_check called with nonexistent field proc.aname[parent]"),
        ("bad_operator.yaml", "filter error: 'contains' operator not supported for numeric filters"),
        ("bad_number.yaml", "three is not a valid number"),
        ("bad_port.yaml", "unrecognized protocol nosuchservice"),
        ("bad_rhs.yaml", "field 'proc.aname' can't be used as a right-hand side field"),
        ("bad_transformer.yaml", "field 'proc.aname' does not support transformers"),
        ("bad_required_arg.yaml", "filter syntax error: thread.cgroup"),
        ("bad_container.yaml", "filter_check called with nonexistent field container.id"),
        ("bad_list_op.yaml", "filter error: '=' operator not supported list filters"),
        ("bad_evttype_transformer.yaml", "unknown event type OPEN"),
    ],
)
def test_libsinsp_messages(name: str, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    out, err, code = falcoplug_validate(name, monkeypatch)
    assert code == 1 and out.startswith(f"{name}: Invalid\n") and message in out
    assert err == f"Error: {out}"


def test_rules_that_need_no_plugin_are_ok(monkeypatch: pytest.MonkeyPatch) -> None:
    out, err, code = falcoplug_validate("ok_plain.yaml", monkeypatch)
    assert (out, err, code) == ("ok_plain.yaml: Ok\n", "", 0)


def test_falco_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    out, err, code = falcoplug_validate("ok_warnings.yaml", monkeypatch)
    assert code == 0 and out == "ok_warnings.yaml: Ok, with warnings\n"
    assert "LOAD_DEPRECATED_ITEM (Used deprecated item: field 'evt.dir'): due to the drop of enter events" in err
    assert "(Used deprecated item: field 'evt.latency'): field is not available due to the drop of enter events." in err
    assert "usage of deprecated field 'evt.latency.s' has been detected in the rule output" in err
    assert err.count("LOAD_NO_EVTTYPE (Condition has no event-type restriction)") == 1  # warn_evttypes: false


def test_plugin_requirement_stops_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    out, err, code = falcoplug_validate("requires_container.yaml", monkeypatch)
    assert (out, err, code) == ("", "Error: Plugin requirement not satisfied, must load one of: container (>= 0.4.0)\n", 1)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("runtime_evttype_rhs.yaml", "right-hand field comparisons on `evt.type`/`syscall.type` checks are not supported by event code search"),
        ("runtime_evttype_transformer.yaml", "event code search does not support `evt.type` checks with transformers"),
    ],
)  # fmt: skip
def test_event_code_search_failures_stop_falco(name: str, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    out, err, code = falcoplug_validate(name, monkeypatch)
    assert (out, err, code) == ("", f"Runtime error: {message}. Exiting.\n", 1)
