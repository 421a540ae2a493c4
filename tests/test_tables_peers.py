"""libsinsp's own table test plugins, run by falcoplug and by the real libsinsp side by side.

Several of them ``exit(1)`` when a table behaves unlike libsinsp's (a sub-table, an entry, a
field or an error that is not what libsinsp gives), so a run that ends with the same output and
exit code on both sides is a precise check of the host's tables. The peers live in
``../shared/peers`` (see its README); without them every test here is skipped, saying why.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PEERS = Path(os.environ.get("FALCOPLUG_SHARED_PEERS") or REPO.parent / "shared" / "peers")
SINSP_CAPTURE = PEERS / "bin" / "sinsp-capture"
LIBS_TEST = PEERS / "plugins" / "libs-test"
SOURCE = LIBS_TEST / "libtest_syscall_source.so"

pytestmark = pytest.mark.skipif(
    not os.access(SINSP_CAPTURE, os.X_OK), reason=f"../shared/peers not found ({SINSP_CAPTURE}): libsinsp side not run"
)


def both(plugins: list[str], output: str) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    """The same plugins and format through sinsp-capture (``*``: <NA> for missing values, as
    falcoplug prints them) and ``falcoplug run``."""
    args = [arg for spec in plugins for arg in ("-p", spec)]
    sinsp = subprocess.run([str(SINSP_CAPTURE), *args, "-o", "*" + output], capture_output=True, text=True, timeout=60)
    ours = subprocess.run([sys.executable, "-m", "falcoplug", "run", *args, "-o", output],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    return sinsp, ours


@pytest.mark.parametrize(
    "plugin",
    ["libtest_syscall_subtables.so", "libtest_syscall_subtables_array.so", "libtest_syscall_subtables_array_pair.so",
     "libtest_routines.so", "libtest_metrics.so"],
)  # fmt: skip
def test_table_plugins_behave_as_in_libsinsp(plugin):
    sinsp, ours = both([f"{SOURCE}||40", str(LIBS_TEST / plugin)], "%evt.num %evt.type %evt.source")
    assert sinsp.returncode == 0, sinsp.stderr
    assert (ours.returncode, ours.stdout.splitlines()) == (0, sinsp.stdout.splitlines()), ours.stderr


def test_async_plugin_with_tables_behaves_as_in_libsinsp():
    """syscall_async injects ticker events from a thread: how many land in the run is timing, so
    only the source's events are compared."""
    sinsp, ours = both([f"{SOURCE}||40", str(LIBS_TEST / "libtest_syscall_async.so")], "%evt.type %evt.source")
    assert sinsp.returncode == 0 and ours.returncode == 0, ours.stderr

    def opens(text: str) -> list[str]:
        return [line for line in text.splitlines() if line.startswith("open ")]

    assert opens(ours.stdout) == opens(sinsp.stdout) and len(opens(sinsp.stdout)) == 40


def test_parse_and_extract_share_tables_as_in_libsinsp():
    """syscall_parse adds a field to ``threads`` and owns ``event_counters``; syscall_extract reads
    both, and ``comm`` of the thread entry the host made for an unknown thread: the string "<NA>"
    (libsinsp's placeholder), a value, not a missing one, on both sides."""
    plugins = [f"{SOURCE}||6", str(LIBS_TEST / "libtest_syscall_parse.so"), str(LIBS_TEST / "libtest_syscall_extract.so")]
    fields = "%evt.num %evt.source %sample.is_open %sample.open_count %sample.evt_count %sample.proc_name %sample.tick"
    sinsp, ours = both(plugins, fields)
    assert sinsp.returncode == 0, sinsp.stderr
    assert (ours.returncode, ours.stdout.splitlines()) == (0, sinsp.stdout.splitlines()), ours.stderr
    # without the leading "*", libsinsp drops events with a missing value: "<NA>" is a value
    args = [arg for spec in plugins for arg in ("-p", spec)]
    strict = subprocess.run([str(SINSP_CAPTURE), *args, "-o", "%evt.num %sample.proc_name"],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert [line for line in strict.stdout.splitlines() if not line.startswith("OK(")] == [f"{i} <NA>" for i in range(1, 7)]
