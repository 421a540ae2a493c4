"""Extraction failures made visible: logged once per kind, counted, fatal with ``--strict``.

A field whose extraction fails (the plugin raised, returned a wrong type, a negative uint64, a
scalar for a list field, or its ``extract_fields`` returned FAILURE) has no value for that event:
a condition does not match it and an output prints ``<NA>``, as libsinsp does. Without this module
the reason would be lost. Every extraction path reports each failure here::

    from falcoplug.framework import extraction_errors

    extraction_errors.report("dummy", "dummy.value", "FieldValueError", "expected an int, got str 'abc'")

``report(plugin, field, kind, message)`` is the whole API for an extraction path: ``plugin`` the
plugin's name, ``field`` the field as the request names it (``ka.user.name``, ``dummy.div[3]``),
``kind`` a short stable name for the kind of failure (an exception's class name, or a name of the
path's own such as ``"FAILURE"`` for a C plugin's return code, ``"values"`` for a bad value count)
and ``message`` the text, e.g. the plugin's last error. The first failure of each kind per field
is logged at warning level, the others at debug level; all are counted.

The active reporter belongs to the run: ``falcoplug run`` calls :func:`start` (``--strict`` makes
:meth:`ExtractionErrors.report` raise :class:`~falcoplug.errors.ExtractionError`, so the run ends
with that error), the summary prints :meth:`ExtractionErrors.summary_lines`, and ``--metrics``
adds :meth:`ExtractionErrors.metrics`. Outside a run a default, non-strict reporter counts.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Final

from ..backend import Metric
from ..errors import ExtractionError

log = logging.getLogger("falcoplug.extraction")

METRIC_NAME: Final = "falcoplug.extraction_failures"


class ExtractionErrors:
    """The extraction failures of one run, by (plugin, field, kind)."""

    def __init__(self, *, strict: bool = False) -> None:
        self.strict = strict
        self.counts: Counter[tuple[str, str, str]] = Counter()

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def report(self, plugin: str, field: str, kind: str, message: str) -> None:
        """One failed extraction. Raises :class:`ExtractionError` when strict."""
        key = (plugin, field, kind)
        first = key not in self.counts
        self.counts[key] += 1
        text = f"plugin {plugin}: extraction of field {field} failed: {message}"
        if self.strict:
            raise ExtractionError(text, plugin=plugin)
        if first:
            log.warning("%s (further %s failures of this field are logged at debug level)", text, kind)
        else:
            log.debug("%s", text)

    def summary_lines(self) -> list[str]:
        """The summary's lines: nothing when no extraction failed."""
        if not self.counts:
            return []
        lines = [f"Extraction failures: {self.total}"]
        lines += [f"   {plugin} {field} ({kind}): {n}" for (plugin, field, kind), n in self.counts.most_common()]
        return lines

    def metrics(self) -> list[Metric]:
        """One counter, the total (the per-field breakdown is in the summary)."""
        return [Metric(METRIC_NAME, self.total, monotonic=True)]


_active = ExtractionErrors()


def current() -> ExtractionErrors:
    """The reporter of the current run."""
    return _active


def start(*, strict: bool = False) -> ExtractionErrors:
    """A new run: a fresh reporter becomes the active one (and is returned)."""
    global _active  # noqa: PLW0603 - one run at a time, like the logging configuration
    _active = ExtractionErrors(strict=strict)
    return _active


def report(plugin: str, field: str, kind: str, message: str) -> None:
    """Report one failed extraction to the current run's reporter (see the module docstring)."""
    _active.report(plugin, field, kind, message)
