"""Metrics a plugin reports (``plugin_get_metrics``); the host names them ``<plugin>.<metric>``.

A plugin overrides :meth:`~falcoplug.sdk.Plugin.metrics` and yields :class:`Metric` values; an
``int`` is reported as an unsigned (or, when negative, signed) 64-bit value, a ``float`` as a
double.
"""

from __future__ import annotations

from ..backend import Metric

__all__ = ["Metric", "counter", "gauge"]


def counter(name: str, value: int | float) -> Metric:
    """A value that only grows (``SS_PLUGIN_METRIC_TYPE_MONOTONIC``)."""
    return Metric(name, value, monotonic=True)


def gauge(name: str, value: int | float) -> Metric:
    """A value that goes up and down (``SS_PLUGIN_METRIC_TYPE_NON_MONOTONIC``)."""
    return Metric(name, value, monotonic=False)
