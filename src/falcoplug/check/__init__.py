"""``falcoplug check``: the plugin author's conformance and release checker.

::

    from falcoplug.check import CheckOptions, check_plugin

    report = check_plugin("libmyplugin.so", CheckOptions(seed=1))
    print(report.exit_code, [f.title for f in report.failures()])

The plugin runs in a child process (:mod:`.sandbox`); the checks are: loading and metadata,
isolation, resilience, the API's memory rules, replay determinism, release compatibility, the
registry, and sourcing. ``docs/check.md`` explains every finding.
"""

from __future__ import annotations

from .release import manifest
from .report import CHECKS, Finding, Report, Status
from .resilience import Budget
from .runner import CheckOptions, WithPlugin, check_plugin
from .sandbox import Limits

__all__ = ["CHECKS", "Budget", "CheckOptions", "Finding", "Limits", "Report", "Status", "WithPlugin", "check_plugin", "manifest"]
