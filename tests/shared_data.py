"""Where the project's shared sample data is: ``../shared/data`` beside the repository (as CI lays
it out), or ``FALCOPLUG_SHARED_DATA`` when set."""

from __future__ import annotations

import os
from pathlib import Path

SHARED_DATA = Path(
    os.environ.get("FALCOPLUG_SHARED_DATA") or Path(__file__).resolve().parent.parent.parent / "shared" / "data"
)
RULES_DIR = SHARED_DATA / "rules"
K8S_AUDIT_DIR = SHARED_DATA / "k8s_audit"
CLOUDTRAIL_DIR = SHARED_DATA / "cloudtrail"
