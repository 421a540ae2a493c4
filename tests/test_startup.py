"""What ``falcoplug run`` imports at start: over shared libraries without rules, a falco.yaml or
table output, nothing of the rules engine, YAML, the SDK, Arrow or Dask (their imports cost more
than a sub-second run's event loop)."""

from __future__ import annotations

import json
import subprocess
import sys

from cbuild import build_plugin

PROBE = """
import json, sys
from falcoplug.cli.main import main
try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    loaded = [m for m in ("falcoplug.rules", "yaml", "falcoplug.sdk", "falcoplug.data", "pyarrow", "distributed")
              if m in sys.modules]
    print(json.dumps(loaded), file=sys.stderr)
"""


def _loaded(*args: str) -> list[str]:
    run = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stderr.strip().splitlines()[-1])


def test_a_run_over_shared_libraries_imports_only_what_it_uses(tmp_path):
    source = f"{build_plugin('source_plugin')}|{{}}|count=5,batch=2"
    assert _loaded("run", "-p", source, "-p", str(build_plugin("extractor_plugin")), "-q") == []
    rules = tmp_path / "r.yaml"
    rules.write_text("- rule: r\n  desc: d\n  condition: evt.num > 0\n  output: n=%evt.num\n  priority: INFO\n  source: ext\n")
    loaded = _loaded("run", "-p", source, "-p", str(build_plugin("extractor_plugin")), "-r", str(rules))
    assert "falcoplug.rules" in loaded and "yaml" in loaded
