"""``falcoplug check`` on every real plugin in ``../shared/peers/plugins`` (libsinsp's test plugins,
the official Go and C++ plugins), and on falcoplug's bundled and example plugins, which must pass.

What a careful reviewer would say about the real plugins is asserted where it is known: the libs
test extractor keeps one storage slot for every request of a call, the Go SDK shares storage
between two arguments of one field, the Go dummy divides by a zero argument, and
libtest_syscall_tables exits when run outside libsinsp's unit tests.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from falcoplug.check import Budget, CheckOptions, Limits, Report, Status, check_plugin

REPO = Path(__file__).resolve().parent.parent
PEERS = Path(os.environ.get("FALCOPLUG_SHARED_PEERS") or REPO.parent / "shared" / "peers")
SHARED_DATA = Path(os.environ.get("FALCOPLUG_SHARED_DATA") or REPO.parent / "shared" / "data")
PEER_PLUGINS = sorted(p.relative_to(PEERS / "plugins").as_posix() for p in (PEERS / "plugins").rglob("*.so")) if PEERS.exists() else []
LIMITS = Limits(call_timeout=3.0, memory=1 << 30)

# (check, status, words of a title): what the report must say about each peer
EXPECTED: dict[str, list[tuple[str, Status, str]]] = {
    "libs-test/libtest_plugin_extract.so": [("memory", Status.WARN, "sample.hello asked twice in one call gets one storage slot")],
    "libs-test/libtest_syscall_tables.so": [("resilience", Status.FAIL, "exited with status 1")],
    "libs-test/libtest_plugin_source.so": [("registry", Status.WARN, "ID 999 is the development ID"), ("sourcing", Status.PASS, "EOF is final")],
    "go/libjson.so": [("memory", Status.WARN, "two requests of json.value in one call share storage")],
    "go/libdummy.so": [("resilience", Status.FAIL, "SIGABRT in extract_fields")],
    "go/libk8saudit.so": [("registry", Status.PASS, "ID 1 is registered to k8saudit")],
    "official/libdummy_c.so": [("registry", Status.PASS, "ID 4 is registered to dummy_c"), ("replay", Status.PASS, "every field equal"),
                               ("resilience", Status.FAIL, "SIGFPE in extract_fields")],
}


def check(location: str, calls: int = 200, **kw: object) -> Report:
    options = CheckOptions(seed=11, budget=Budget(seconds=20, calls=calls), limits=LIMITS, replay_events=30, **kw)  # type: ignore[arg-type]
    return check_plugin(location, options)


@pytest.mark.skipif(not PEER_PLUGINS, reason=f"../shared/peers not found ({PEERS}): real plugins not checked")
@pytest.mark.parametrize("relative", PEER_PLUGINS or ["-"])
def test_every_peer_plugin_is_checked(relative: str, tmp_path: Path) -> None:
    report = check(str(PEERS / "plugins" / relative), save_dir=tmp_path)
    assert report.could_not_run is None, report.could_not_run
    assert report.status_of("loading") is not Status.SKIP
    assert report.of("isolation"), "the isolation summary is always there"
    for check_name, status, words in EXPECTED.get(relative, []):
        said = [f.title + " " + f.detail for f in report.of(check_name) if f.status is status]
        assert any(words in text for text in said), (check_name, status, words, report.of(check_name))
    if relative.endswith("dummy.so") or relative.endswith("dummy_c.so"):  # both divide by the argument
        crash = next(f for f in report.failures("resilience") if "SIG" in f.title)
        assert "dummy.divisible[0]" in crash.detail
        assert "integer divide by zero" in crash.detail or "SIGFPE" in crash.title
    if relative not in EXPECTED or all(s is not Status.FAIL for _, s, _ in EXPECTED[relative]):
        assert report.exit_code == 0, report.failures()


BUNDLED = REPO / "src" / "falcoplug" / "plugins" / "data" / "k8s_audit" / "create_configmap.json"


@pytest.mark.parametrize(
    ("location", "params"),
    [
        ("k8saudit", str(BUNDLED)),
        ("json", None),
        ("cloudtrail", str(SHARED_DATA / "cloudtrail")),
        ("examples/dummy.py", None),
        ("examples/dummymax.py", None),
        ("examples/dummystats.py", None),
        ("examples/jsonl.py", str(REPO / "examples" / "data" / "events.jsonl")),
        ("examples/threadstats.py", None),
    ],
)
def test_bundled_and_example_plugins_pass_every_check(location: str, params: str | None, tmp_path: Path) -> None:
    if location == "cloudtrail" and not (SHARED_DATA / "cloudtrail").exists():
        pytest.skip("../shared/data/cloudtrail not found: cloudtrail's sourcing and replay not checked")
    target = str(REPO / location) if location.startswith("examples/") else location
    report = check(target, calls=300, open_params=params, save_dir=tmp_path)
    assert report.exit_code == 0, report.failures()
    assert not report.failures()
    if params is not None:
        assert report.status_of("replay") is Status.PASS, report.of("replay")
        assert report.status_of("sourcing") is Status.PASS, report.of("sourcing")
