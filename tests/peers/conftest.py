"""The differential tests need the real peers (``../shared/peers``): without them, they skip."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:  # so that the test modules can `import peerhosts` in any import mode
    sys.path.insert(0, _HERE)

import peerhosts  # noqa: E402


@pytest.fixture(autouse=True)
def _need_peers() -> None:
    reason = peerhosts.missing_reason()
    if reason is not None:
        pytest.skip(reason)
