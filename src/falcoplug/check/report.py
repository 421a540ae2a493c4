"""What ``falcoplug check`` found: findings grouped by check, with a verdict and an exit code.

Each finding says what was seen (``title``, ``detail``) and what the author should change
(``fix``). A check's status is its worst finding's; the report's exit code is 0 when nothing
failed, 1 when something did, 2 when the plugin could not be checked at all.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any


class Status(str, Enum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


_RANK = {Status.SKIP: 0, Status.PASS: 1, Status.WARN: 2, Status.FAIL: 3}

# The checks, in the order the report shows them (the numbers of docs/check.md).
CHECKS: dict[str, str] = {
    "loading": "1. Loading and metadata",
    "isolation": "2. Isolation (crashes, hangs, memory)",
    "resilience": "3. Resilience of extraction and parsing",
    "memory": "4. Memory rules of the API",
    "replay": "5. Replay determinism",
    "release": "6. Release compatibility",
    "registry": "7. Registry",
    "sourcing": "8. Event sourcing",
}


@dataclass
class Finding:
    """One thing a reviewer would say: pass, warn, fail or skip, and what to change."""

    check: str
    status: Status
    title: str
    detail: str = ""
    fix: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["status"] = self.status.value
        return {k: v for k, v in doc.items() if v or k in ("status", "title")}


@dataclass
class Report:
    """Every finding about one plugin."""

    plugin: str
    location: str
    findings: list[Finding] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    could_not_run: str | None = None

    def add(self, check: str, status: Status, title: str, detail: str = "", fix: str = "", **data: Any) -> Finding:
        finding = Finding(check, status, title, detail, fix, data)
        self.findings.append(finding)
        return finding

    def of(self, check: str) -> list[Finding]:
        return [f for f in self.findings if f.check == check]

    def status_of(self, check: str) -> Status:
        found = self.of(check)
        return max((f.status for f in found), key=_RANK.__getitem__) if found else Status.SKIP

    @property
    def failed(self) -> bool:
        return any(f.status is Status.FAIL for f in self.findings)

    @property
    def exit_code(self) -> int:
        if self.could_not_run is not None:
            return 2
        return 1 if self.failed else 0

    def failures(self, check: str | None = None) -> list[Finding]:
        return [f for f in self.findings if f.status is Status.FAIL and (check is None or f.check == check)]

    def warnings(self, check: str | None = None) -> list[Finding]:
        return [f for f in self.findings if f.status is Status.WARN and (check is None or f.check == check)]

    def to_json(self) -> dict[str, Any]:
        return {
            "plugin": self.plugin,
            "location": self.location,
            "result": "error" if self.could_not_run else ("fail" if self.failed else "pass"),
            "exit_code": self.exit_code,
            "error": self.could_not_run,
            "info": self.info,
            "checks": {
                key: {"status": self.status_of(key).value, "findings": [f.to_json() for f in self.of(key)]}
                for key in CHECKS
            },
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, default=str)
